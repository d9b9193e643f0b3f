/**
 * One damaged line in an open shift's journal (an SD-card bit flip) must never silence the camera.
 * Real agent (sim board, real ffmpeg) on a provisioned data dir: the agent's own node process is
 * SIGKILLed mid-shift, a garbage line is appended to (or replaces a line of) the open shift's
 * journal on disk, and the agent is started again. It must be RECORDING again within 5 s in a new
 * shift that names the damaged one; the damaged journal is kept byte for byte beside it and closed
 * on top of the damage; the device journal, a fault and the verifier say what happened, with the
 * 1-based line number people read.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { startAgent, runCli, readJournal, tempDataDir, cleanup, type AgentProc } from '../helpers/agent.js';
import type { StatusSnapshot } from '../../agent/status.js';

const agents: AgentProc[] = [];
const dirs: string[] = [];
after(async () => {
  for (const a of agents) await a.kill('SIGKILL');
  for (const d of dirs) cleanup(d);
});

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const shiftIds = (dataDir: string): string[] => readdirSync(join(dataDir, 'shifts')).sort();
const journalPath = (dataDir: string, id: string): string => join(dataDir, 'shifts', id, 'journal.jsonl');
const encoderPid = (s: StatusSnapshot): number | null => (s.ext.encoder?.pid as number | null | undefined) ?? null;

async function provisioned(prefix: string): Promise<string> {
  const dataDir = tempDataDir(prefix);
  dirs.push(dataDir);
  const r = await runCli(['provision', '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
  return dataDir;
}

async function start(dataDir: string): Promise<AgentProc> {
  const a = await startAgent({ dataDir });
  agents.push(a);
  return a;
}

/** Records `n` segments, then SIGKILLs the agent's node process: the shift stays open on disk. */
async function killedMidShift(dataDir: string, n: number): Promise<string> {
  const a = await start(dataDir);
  await a.press('shift', { holdS: 2.1 });
  const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= n && encoderPid(x) !== null, 60_000, `${n} segments`);
  await a.kill('SIGKILL');
  return s.shiftId!;
}

async function restartedIntoNewShift(dataDir: string, damagedId: string): Promise<{ a: AgentProc; s: StatusSnapshot; ms: number }> {
  const t0 = Date.now();
  const a = await start(dataDir);
  const s = await a.waitFor((x) => x.state === 'RECORDING' && x.shiftId !== null && x.shiftId !== damagedId && encoderPid(x) !== null, 30_000, 'recording in a new shift');
  return { a, s, ms: Date.now() - t0 };
}

test('a garbage line appended to an open shift journal: RECORDING again within 5 s in a new shift that continues it; the damaged journal is kept byte for byte and closed as damaged', async () => {
  const dataDir = await provisioned('bodycam-jdamage-');
  const damagedId = await killedMidShift(dataDir, 2);
  const path = journalPath(dataDir, damagedId);
  const linesBefore = readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  appendFileSync(path, 'garbage line {{{\n');
  const asFound = readFileSync(path);
  const damagedLine = linesBefore + 1; // 1-based

  const { a, s, ms } = await restartedIntoNewShift(dataDir, damagedId);
  assert.ok(ms <= 5000, `RECORDING again after ${ms} ms (at most 5000)`);

  // Set aside byte for byte: the copy is the file as found.
  const aside = join(dataDir, 'shifts', damagedId, 'journal.damaged-0');
  assert.ok(existsSync(aside), 'journal.damaged-0 kept beside the damaged journal');
  assert.equal(sha256(readFileSync(aside)), sha256(asFound));

  // The damaged journal is closed on top of the damage: its old bytes are untouched, and the
  // records after them chain onto the garbage line's exact bytes.
  const now = readFileSync(path);
  assert.ok(now.subarray(0, asFound.length).equals(asFound), 'the damaged journal keeps every byte it had');
  const added = now.subarray(asFound.length).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(added[0]!.type, 'recovery');
  assert.deepEqual(added.slice(-2).map((r) => r.type), ['shift_end', 'signature']);
  assert.ok(added.some((r) => r.type === 'gap'), 'the restart interval is a journaled gap');
  assert.equal(added[0]!.prev, sha256(Buffer.from('garbage line {{{')));
  assert.equal(added[0]!.seq, damagedLine, 'seq goes on counting lines, the damaged one included');
  assert.equal(added[0]!.what, 'journal_damaged');
  assert.equal(added[0]!.line, damagedLine);
  assert.equal(added.at(-2)!.reason, 'journal_damaged');

  // The new shift names the damaged one; the device journal and a fault say what happened.
  const fresh = readJournal(journalPath(dataDir, s.shiftId!));
  assert.equal(fresh[0]!.type, 'shift_start');
  assert.equal(fresh[0]!.trigger, 'recovery');
  assert.deepEqual(fresh[0]!.continues, { shift_id: damagedId, cause: 'journal_damaged' });
  const device = readJournal(join(dataDir, 'device-journal.jsonl'));
  const rec = device.find((r) => r.type === 'recovery' && r.what === 'journal_damaged');
  assert.ok(rec, 'device journal records the damage');
  assert.equal(rec.shift_id, damagedId);
  assert.equal(rec.sha256, sha256(asFound));
  assert.equal(rec.line, damagedLine);
  assert.match(String(s.faults.journal_damaged), new RegExp(`line ${damagedLine} is not JSON`));
  assert.ok(fresh.some((r) => r.type === 'fault' && r.fault === 'journal_damaged'), 'the fault is journaled in the new shift');

  // The verifier names the damaged line, 1-based, and the damaged shift is not intact.
  const v = await runCli(['verify', join(dataDir, 'shifts', damagedId), '--pubkey', join(dataDir, 'identity', 'device.pub.pem')]);
  assert.equal(v.code, 1, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`journal\\.jsonl:${damagedLine}: \\[line_not_json\\]`));
  // The copy set aside is evidence the verifier expects (checked against its journaled SHA-256), and
  // the killed run's last segment was sealed by the restart: no file is unaccounted for.
  assert.doesNotMatch(v.stdout, /extra_file|damaged_copy/, v.stdout);

  // The camera works as ever: pause, resume, end the shift (no CLOSING stuck, no FAULT).
  await a.press('privacy');
  await a.waitFor((x) => x.state === 'PAUSED', 10_000, 'paused');
  await a.press('privacy');
  await a.waitFor((x) => x.state === 'RECORDING' && encoderPid(x) !== null, 10_000, 'resumed');
  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  const off = await a.waitFor((x) => x.state === 'OFF_DUTY', 30_000, 'shift end');
  assert.equal(off.faults.journal_damaged, undefined, 'the fault clears with the shift that continued the damaged one');
  await a.stop();
  const ok = await runCli(['verify', join(dataDir, 'shifts', s.shiftId!), '--pubkey', join(dataDir, 'identity', 'device.pub.pem')]);
  assert.equal(ok.code, 0, `the continuing shift verifies intact:\n${ok.stdout}${ok.stderr}`);
  assert.deepEqual(shiftIds(dataDir), [damagedId, s.shiftId!].sort());
});

test('a line replaced in the middle of an open shift journal: the restart closes it as damaged naming that line and records again', async () => {
  const dataDir = await provisioned('bodycam-jdamage-mid-');
  const damagedId = await killedMidShift(dataDir, 2);
  const path = journalPath(dataDir, damagedId);
  const lines = readFileSync(path, 'utf8').split('\n');
  const victim = 3; // 1-based: a record after shift_start
  lines[victim - 1] = lines[victim - 1]!.replace(/^\{/, '{"flipped');
  writeFileSync(path, lines.join('\n'));

  const { s, ms } = await restartedIntoNewShift(dataDir, damagedId);
  assert.ok(ms <= 5000, `RECORDING again after ${ms} ms (at most 5000)`);
  const tail = readFileSync(path, 'utf8').trimEnd().split('\n').slice(-2).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(tail.map((r) => r.type), ['shift_end', 'signature']);
  assert.equal(tail[0]!.reason, 'journal_damaged');
  const rec = readJournal(join(dataDir, 'device-journal.jsonl')).find((r) => r.type === 'recovery' && r.what === 'journal_damaged');
  assert.deepEqual(rec?.damaged_lines, [victim]);
  assert.ok(s.faults.journal_damaged, 'journal_damaged fault raised');
});
