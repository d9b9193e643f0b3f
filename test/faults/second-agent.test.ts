/**
 * One agent per data dir. A second agent started on a recording agent's data dir is refused by the
 * `<data-dir>/agent.lock` flock before it touches anything: the first agent's encoder, pidfile,
 * state file and journal are exactly as they were, and its control socket still answers. The lock
 * is the kernel's: after a SIGKILL of the holder, the next agent starts without cleanup.
 * Real agents (sim board, real ffmpeg), each the agent's own node process.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, readJournal, shiftJournal, tempDataDir, cleanup, alive, type AgentProc } from '../helpers/agent.js';
import { chainProblem } from '../helpers/media.js';
import type { StatusSnapshot } from '../../agent/status.js';

const agents: AgentProc[] = [];
const dirs: string[] = [];
after(async () => {
  for (const a of agents) await a.kill('SIGKILL');
  for (const d of dirs) cleanup(d);
});

const encoderPid = (s: StatusSnapshot): number | null => (s.ext.encoder?.pid as number | null | undefined) ?? null;

/** Bytes and inode: an atomic rewrite (temp + rename) changes the inode even with equal bytes. */
function fileFingerprint(path: string): { bytes: string; ino: number; mtimeMs: number } {
  const st = statSync(path);
  return { bytes: readFileSync(path).toString('base64'), ino: st.ino, mtimeMs: st.mtimeMs };
}

async function recordingAgent(dataDir: string): Promise<{ a: AgentProc; s: StatusSnapshot }> {
  const a = await startAgent({ dataDir });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 2 && encoderPid(x) !== null, 60_000, 'recording, 2 segments');
  return { a, s };
}

void test('second agent on a recording data dir: exits 1 naming the lock and the first pid; the first agent\'s encoder pid, encoder.pid, state.json and journal are untouched (no gap, no recovery) and it keeps sealing and answering status', { timeout: 180_000 }, async () => {
  const dataDir = tempDataDir('bodycam-second-agent-');
  dirs.push(dataDir);
  const { a, s: s0 } = await recordingAgent(dataDir);
  const shiftId = s0.shiftId!;
  const pidfile = join(dataDir, 'encoder.pid');
  const statePath = join(dataDir, 'state.json');
  const lockPath = join(dataDir, 'agent.lock');
  const devJournal = join(dataDir, 'device-journal.jsonl');

  const before = await a.status();
  const encBefore = encoderPid(before)!;
  const pidfileBefore = readFileSync(pidfile, 'utf8');
  assert.equal((JSON.parse(pidfileBefore) as { pid: number }).pid, encBefore, 'the pidfile names the running encoder');
  const stateBefore = fileFingerprint(statePath);
  const journalBefore = shiftJournal(dataDir, shiftId);
  const devBefore = readJournal(devJournal);

  const b = await startAgent({ dataDir, waitReady: false });
  agents.push(b);
  const code = await b.exited;
  assert.equal(code, 1, `B's exit code; output:\n${b.logs()}`);
  assert.ok(b.logs().includes(lockPath), `B names the lock ${lockPath}:\n${b.logs()}`);
  assert.match(b.logs(), new RegExp(`\\bpid ${a.pid}\\b`), `B names A's pid ${a.pid}`);
  assert.match(b.logs(), /another bodycam agent already runs on this data dir/);

  // A carries on: same encoder, more sealed segments, status still answers on the socket.
  const after1 = await a.waitFor((x) => x.segments >= before.segments + 2, 60_000, 'A seals 2 more segments');
  assert.equal(after1.state, 'RECORDING');
  assert.equal(after1.shiftId, shiftId);
  assert.equal(encoderPid(after1), encBefore, 'A\'s encoder is the same process');
  assert.equal(after1.encoderRestarts, before.encoderRestarts, 'A\'s encoder was not restarted');
  assert.ok(alive(encBefore));
  assert.equal(readFileSync(pidfile, 'utf8'), pidfileBefore, 'encoder.pid unchanged');
  // A rewrites state.json only on a transition or a new encoder run; with neither (asserted
  // above), a changed file or inode can only be B's doing.
  assert.deepEqual(fileFingerprint(statePath), stateBefore, 'state.json unchanged (bytes, inode, mtime)');
  assert.equal(readFileSync(lockPath, 'utf8').trim(), String(a.pid), 'the lock file still names A');

  const journalAfter = shiftJournal(dataDir, shiftId);
  assert.equal(chainProblem(join(dataDir, 'shifts', shiftId, 'journal.jsonl')), undefined);
  assert.deepEqual(journalAfter.slice(0, journalBefore.length), journalBefore, 'earlier records unchanged');
  const added = journalAfter.slice(journalBefore.length);
  assert.ok(added.filter((r) => r.type === 'segment').length >= 2, 'A sealed segments while and after B ran');
  assert.deepEqual(added.filter((r) => r.type !== 'segment' && r.type !== 'signature').map((r) => r.type), [], 'no gap, recovery, fault or other record');
  const devAfter = readJournal(devJournal);
  assert.deepEqual(devAfter.slice(0, devBefore.length), devBefore);
  assert.deepEqual(devAfter.slice(devBefore.length).filter((r) => r.what === 'agent_started' || r.type === 'recovery'), [], 'B never got as far as the device journal');
});

void test('after the lock holder is SIGKILLed, a new agent on the same data dir starts (kernel released the flock), takes the lock and resumes the shift', { timeout: 180_000 }, async () => {
  const dataDir = tempDataDir('bodycam-second-agent-kill-');
  dirs.push(dataDir);
  const { a, s } = await recordingAgent(dataDir);
  const lockPath = join(dataDir, 'agent.lock');
  assert.equal(readFileSync(lockPath, 'utf8').trim(), String(a.pid));
  await a.kill('SIGKILL');
  // The lock file stays behind with A's pid: only the flock, not the file, decides.
  assert.equal(readFileSync(lockPath, 'utf8').trim(), String(a.pid));

  const c = await startAgent({ dataDir });
  agents.push(c);
  const sc = await c.waitFor((x) => x.state === 'RECORDING' && encoderPid(x) !== null, 30_000, 'C recording');
  assert.equal(sc.shiftId, s.shiftId, 'C resumes A\'s shift');
  assert.equal(readFileSync(lockPath, 'utf8').trim(), String(c.pid), 'the lock file names C');
  assert.equal(await c.stop(), 0, c.logs().slice(-3000));
});
