/**
 * Losing `<data-dir>/state.json` is harmless. Without a readable state file the journals alone say
 * which shift is open (a journal with no `shift_end` at all): a closed, signed shift is never
 * reopened or appended to, and no encoder starts for it; an open shift whose agent was SIGKILLed
 * resumes under its own id, with the interruption journaled, and still verifies.
 * Real agent (sim board, real ffmpeg) on a provisioned data dir; the state file is deleted or
 * overwritten for real between a stop and a restart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, lstatSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, runCli, readJournal, shiftJournal, tempDataDir, cleanup, alive, type AgentProc } from '../helpers/agent.js';
import { chainProblem, sha256File } from '../helpers/media.js';
import { childrenOf } from '../helpers/proc.js';
import type { StatusSnapshot } from '../../agent/status.js';
import { PARK_DIR_PREFIX } from '../../hal/encoder/parking.js';

const agents: AgentProc[] = [];
const dirs: string[] = [];
after(async () => {
  for (const a of agents) await a.kill('SIGKILL');
  for (const d of dirs) cleanup(d);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const encoderPid = (s: StatusSnapshot): number | null => (s.ext.encoder?.pid as number | null | undefined) ?? null;
const statePath = (dataDir: string): string => join(dataDir, 'state.json');
const shiftDirs = (dataDir: string): string[] => (existsSync(join(dataDir, 'shifts')) ? readdirSync(join(dataDir, 'shifts')).sort() : []);

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

/**
 * Live children of `ppid` whose command line runs ffmpeg (directly or through setpriv), except a
 * run parked for the next start (hal/encoder/parking.ts) that holds nothing under `dataDir`: it
 * waits on its progress FIFO before opening any input or output.
 */
function ffmpegChildren(ppid: number, dataDir: string): string[] {
  const found: string[] = [];
  for (const { pid, cmd } of childrenOf(ppid)) {
    if (!cmd.includes('ffmpeg')) continue;
    try {
      const open = readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; } });
      const parked = cmd.includes(`/${PARK_DIR_PREFIX}`) && !open.some((f) => f.startsWith(dataDir));
      if (!parked) found.push(`${pid}: ${cmd} (open: ${open.join(', ')})`);
    } catch {
      /* the process ended while we looked */
    }
  }
  return found;
}

/** Starts a shift and waits for `n` sealed segments with an encoder running. */
async function recordShift(a: AgentProc, n: number): Promise<StatusSnapshot> {
  await a.press('shift', { holdS: 2.1 });
  return a.waitFor((s) => s.state === 'RECORDING' && s.segments >= n && encoderPid(s) !== null, 60_000, `${n} segments`);
}

async function endShift(a: AgentProc): Promise<void> {
  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'shift end');
}

// ------------------------------------------------------------------ a closed shift stays closed

/** A data dir holding one closed, signed shift, with the agent stopped; each case works on a copy. */
let closedTemplate: string;
let closedId: string;

before(async () => {
  closedTemplate = await provisioned('bodycam-state-loss-closed-');
  const a = await start(closedTemplate);
  const s = await recordShift(a, 2);
  closedId = s.shiftId!;
  await endShift(a);
  assert.equal(await a.stop(), 0, a.logs().slice(-3000));
  const j = shiftJournal(closedTemplate, closedId);
  const iEnd = j.findIndex((r) => r.type === 'shift_end');
  assert.ok(iEnd >= 0, 'the fixture shift is closed');
  assert.equal(j.at(-1)!.type, 'signature', 'a provisioned device signs the closed journal last');
  assert.ok(j.slice(iEnd + 1).every((r) => r.type === 'signature'), 'nothing but signatures after shift_end');
});

function copyOfClosed(): string {
  const dataDir = tempDataDir('bodycam-state-loss-case-');
  dirs.push(dataDir);
  // The sim scene's zmq sockets (left by a run the agent ended, or by one parked ahead) are no
  // part of the data dir's state, and a socket cannot be copied.
  cpSync(closedTemplate, dataDir, { recursive: true, filter: (src) => !lstatSync(src).isSocket() });
  return dataDir;
}

/**
 * Restarts an agent on `dataDir` and checks, now and for a few seconds, that it is off duty with no
 * encoder; then stops it and checks the closed shift's journal bytes and the shift dirs.
 */
async function assertClosedShiftStaysClosed(dataDir: string): Promise<AgentProc> {
  const journalPath = join(dataDir, 'shifts', closedId, 'journal.jsonl');
  const shaBefore = sha256File(journalPath);
  const dirsBefore = shiftDirs(dataDir);
  assert.deepEqual(dirsBefore, [closedId]);

  const a = await start(dataDir);
  // Poll a while: a reopened shift would show up as a state change or an encoder within seconds.
  const until = Date.now() + 4000;
  let polls = 0;
  while (Date.now() < until || polls < 5) {
    const s = await a.status();
    const ctx = `poll ${polls}: ${JSON.stringify({ state: s.state, shiftId: s.shiftId, enc: s.ext.encoder, faults: s.faults })}\n${a.logs().slice(-3000)}`;
    assert.equal(s.state, 'OFF_DUTY', ctx);
    assert.equal(s.shiftId, null, ctx);
    assert.equal(s.encoderRunning, false, ctx);
    assert.equal(encoderPid(s), null, ctx);
    assert.deepEqual(ffmpegChildren(a.pid, dataDir), [], ctx);
    assert.deepEqual(shiftDirs(dataDir), dirsBefore, ctx);
    assert.equal(sha256File(journalPath), shaBefore, ctx);
    polls++;
    await sleep(250);
  }
  assert.equal(await a.stop(), 0, a.logs().slice(-3000));
  assert.equal(sha256File(journalPath), shaBefore, 'the closed journal is byte-identical after the agent ran and stopped');
  assert.deepEqual(shiftDirs(dataDir), dirsBefore, 'no new shift dir');
  return a;
}

const staleRecoveries = (dataDir: string) =>
  readJournal(join(dataDir, 'device-journal.jsonl')).filter((r) => r.type === 'recovery' && r.what === 'stale_state_closed_shift');

void test('closed shift, state.json deleted: restart stays OFF_DUTY over 4 s of polling with no encoder (status encoderRunning, ext.encoder.pid, no ffmpeg child in /proc), the closed journal is byte-identical, no new shift dir', { timeout: 120_000 }, async () => {
  const dataDir = copyOfClosed();
  rmSync(statePath(dataDir));
  await assertClosedShiftStaysClosed(dataDir);
});

void test('closed shift, state.json garbage bytes: restart stays OFF_DUTY over 4 s of polling with no encoder (status encoderRunning, ext.encoder.pid, no ffmpeg child in /proc), the closed journal is byte-identical, no new shift dir', { timeout: 120_000 }, async () => {
  const dataDir = copyOfClosed();
  writeFileSync(statePath(dataDir), Buffer.from([0x7b, 0x22, 0x76, 0x22, 0x3a, 0x00, 0xff, 0xfe, 0x13, 0x37, 0x0a, 0x80]));
  await assertClosedShiftStaysClosed(dataDir);
});

void test('closed shift, stale state.json naming it RECORDING: restart stays OFF_DUTY over 4 s of polling with no encoder (status, /proc), the closed journal is byte-identical, no new shift dir, device journal has recovery stale_state_closed_shift', { timeout: 120_000 }, async () => {
  const dataDir = copyOfClosed();
  // What the file said while the shift was recording: a valid state, as if the closing write was lost.
  const stale = { v: 1, shift: { name: 'RECORDING', shiftId: closedId, endArmedUntil: null }, bootId: 'stale-boot', lastRun: 1, clean: false, owed: [], at: new Date().toISOString() };
  writeFileSync(statePath(dataDir), JSON.stringify(stale));
  assert.equal(staleRecoveries(dataDir).length, 0);
  await assertClosedShiftStaysClosed(dataDir);
  const rec = staleRecoveries(dataDir);
  assert.equal(rec.length, 1, 'one stale_state_closed_shift recovery in the device journal');
  assert.equal(rec[0]!.shift_id, closedId);
});

// ------------------------------------------------------------------ an open shift resumes

/**
 * Records a shift on a provisioned dir, SIGKILLs the agent's own node process, damages state.json
 * with `damage`, restarts, and checks the same shift resumes, is journaled, ends and verifies.
 */
async function openShiftSurvivesStateLoss(damage: (path: string) => void): Promise<void> {
  const dataDir = await provisioned('bodycam-state-loss-open-');
  const a = await start(dataDir);
  const s1 = await recordShift(a, 3);
  const shiftId = s1.shiftId!;
  const ffmpeg = encoderPid(s1)!;
  await a.kill('SIGKILL');
  const until = Date.now() + 5000;
  while (alive(ffmpeg) && Date.now() < until) await sleep(50);
  assert.equal(alive(ffmpeg), false, 'the encoder did not outlive the agent');
  const before = shiftJournal(dataDir, shiftId);
  assert.ok(!before.some((r) => r.type === 'shift_end'), 'the shift is open');
  damage(statePath(dataDir));

  const b = await start(dataDir);
  const s2 = await b.waitFor((s) => s.state === 'RECORDING' && encoderPid(s) !== null, 30_000, 'recording after restart');
  assert.equal(s2.shiftId, shiftId, 'the same shift resumes');
  // New segments sealed into the same shift dir, beyond what was there before the kill.
  const sealedBefore = before.filter((r) => r.type === 'segment').length;
  await b.waitFor(() => shiftJournal(dataDir, shiftId).filter((r) => r.type === 'segment').length >= sealedBefore + 3, 60_000, 'new segments after restart');
  await endShift(b);
  assert.deepEqual(shiftDirs(dataDir), [shiftId], 'no other shift dir');

  const dir = join(dataDir, 'shifts', shiftId);
  const journalPath = join(dir, 'journal.jsonl');
  assert.equal(chainProblem(journalPath), undefined, 'the chain continues across the restart');
  const j = shiftJournal(dataDir, shiftId);
  assert.deepEqual(j.slice(0, before.length), before, 'records before the kill are kept as they were');
  const added = j.slice(before.length);
  const recovery = added.find((r) => r.type === 'recovery');
  assert.ok(recovery, `a recovery record after the restart; added: ${JSON.stringify(added.map((r) => r.type))}`);
  const gap = added.find((r) => r.type === 'gap');
  assert.ok(gap, 'a gap record after the restart');
  assert.equal(gap.cause, recovery.what, 'the gap carries the recovery cause');
  assert.ok(Date.parse(String(gap.end)) > Date.parse(String(gap.start)), 'the gap has a positive length');
  const resumed = added.filter((r) => r.type === 'segment' && Date.parse(String(r.start)) >= Date.parse(String(gap.end)));
  assert.ok(resumed.length >= 3, 'segments recorded after the gap');
  assert.equal(resumed[0]!.start, gap.end, 'the gap ends where the resumed media starts');
  for (const r of resumed) assert.ok(existsSync(join(dir, String(r.file))), `${String(r.file)} is in the same shift dir`);
  const segs = j.filter((r) => r.type === 'segment');
  const nums = segs.map((r) => Number(/(\d+)/.exec(String(r.file))![1]));
  assert.deepEqual(nums, nums.map((_, k) => k + 1), 'segment numbers continue without holes or reuse');
  assert.equal(j.filter((r) => r.type === 'shift_end').length, 1);
  assert.equal(j.at(-1)!.type, 'signature');

  const v = await runCli(['verify', dir, '--pubkey', join(dataDir, 'identity', 'device.pub.pem')]);
  assert.equal(v.code, 0, `verify: ${v.stdout}\n${v.stderr}\njournal: ${j.map((r) => `${r.seq} ${r.type} ${r.at} ${r.type === "segment" || r.type === "gap" ? `${String(r.start)}..${String(r.end)} ${String(r.cause ?? r.file)}` : ""}`).join("\n")}`);
}

void test('open shift, agent SIGKILLed, state.json deleted: restart resumes the same shift id with new segments in its dir, journals recovery and a gap, and the ended shift verifies (exit 0)', { timeout: 240_000 }, async () => {
  await openShiftSurvivesStateLoss((p) => rmSync(p));
});

void test('open shift, agent SIGKILLed, state.json garbage bytes: restart resumes the same shift id with new segments in its dir, journals recovery and a gap, and the ended shift verifies (exit 0)', { timeout: 240_000 }, async () => {
  await openShiftSurvivesStateLoss((p) => writeFileSync(p, Buffer.from('\x00\x00{"v":1,"shift":{"na\xff')));
});
