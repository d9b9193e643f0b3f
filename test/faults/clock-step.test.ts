/**
 * Wall-clock steps that must not make an authentic shift fail verification. The agent and its
 * ffmpeg run under libfaketime (Debian `faketime`: LD_PRELOAD, a timestamp file the test rewrites
 * at run time, the monotonic clock left alone), so the wall clock steps for them only — the host's
 * clock is never touched. Each case steps the clock, then starts a new encoder run on the new
 * clock (a pause and resume, an encoder crash), ends the shift and verifies it: intact, every
 * moment covered, the step journaled.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, runCli, shiftJournal, tempDataDir, cleanup, type AgentProc } from '../helpers/agent.js';
import type { StatusSnapshot } from '../../agent/status.js';

const LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const agents: AgentProc[] = [];
const dirs: string[] = [];
after(async () => {
  for (const a of agents) await a.kill('SIGKILL');
  if (!process.env.KEEP) for (const d of dirs) cleanup(d);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const encoderPid = (s: StatusSnapshot): number | null => (s.ext.encoder?.pid as number | null | undefined) ?? null;

/** A provisioned data dir and an agent whose wall clock is `offset` (faketime "+Ns") of the host's. */
async function fakedAgent(prefix: string): Promise<{ a: AgentProc; dataDir: string; step: (offsetS: number) => Promise<void>; restart: () => Promise<AgentProc> }> {
  assert.ok(existsSync(LIB), `${LIB} (Debian package faketime) is installed by scripts/deps.sh faults`);
  const dataDir = tempDataDir(prefix);
  dirs.push(dataDir);
  const p = await runCli(['provision', '--data-dir', dataDir]);
  assert.equal(p.code, 0, p.stderr);
  const stamp = join(dataDir, '..', `${prefix}faketime`);
  writeFileSync(stamp, '+0\n');
  dirs.push(stamp);
  const env = {
    LD_PRELOAD: LIB,
    FAKETIME_TIMESTAMP_FILE: stamp,
    // Re-read the file at most once a second: a step lands within a second, and ffmpeg's many
    // clock reads do not each open a file.
    FAKETIME_CACHE_DURATION: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
  const a = await startAgent({ dataDir, env });
  agents.push(a);
  return {
    a,
    dataDir,
    restart: async () => {
      const b = await startAgent({ dataDir, env });
      agents.push(b);
      return b;
    },
    step: async (offsetS) => {
      writeFileSync(stamp, `${offsetS >= 0 ? '+' : ''}${offsetS}\n`);
      // The agent's step detector checks every second; the cache lasts a second.
      await sleep(3000);
    },
  };
}

async function verify(dataDir: string, shiftId: string): Promise<{ code: number | null; out: string; json: Record<string, unknown> }> {
  const r = await runCli(['verify', join(dataDir, 'shifts', shiftId), '--pubkey', join(dataDir, 'identity', 'device.pub.pem'), '--json']);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  const text = await runCli(['verify', join(dataDir, 'shifts', shiftId), '--pubkey', join(dataDir, 'identity', 'device.pub.pem')]);
  return { code: r.code, out: text.stdout + text.stderr, json };
}

async function endShift(a: AgentProc): Promise<void> {
  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'shift end');
}

test('forward step of +90 s, then a pause and a resume (a new encoder run on the new clock): the shift verifies intact with full coverage', { timeout: 180_000 }, async () => {
  const { a, dataDir, step } = await fakedAgent('bodycam-step-fwd-');
  await a.press('shift', { holdS: 2.1 });
  const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 2, 60_000, 'recording');
  await step(90);
  await a.waitFor((x) => x.segments >= s.segments + 2, 30_000, 'segments after the step');
  await a.press('privacy');
  await a.waitFor((x) => x.state === 'PAUSED', 10_000, 'paused');
  await sleep(1500);
  await a.press('privacy');
  const r = await a.waitFor((x) => x.state === 'RECORDING' && encoderPid(x) !== null, 10_000, 'resumed');
  await a.waitFor((x) => x.segments >= r.segments + 2, 30_000, 'segments of the new run');
  await endShift(a);
  const j = shiftJournal(dataDir, s.shiftId!);
  assert.ok(j.some((x) => x.type === 'time_sync' && x.what === 'step' && Number(x.step_ms) > 80_000), 'the step is journaled');
  const v = await verify(dataDir, s.shiftId!);
  assert.equal(v.code, 0, v.out);
});

test('backward step of -60 s, then the encoder is SIGKILLed (its restart runs on the new clock): the shift verifies intact with full coverage', { timeout: 180_000 }, async () => {
  const { a, dataDir, step } = await fakedAgent('bodycam-step-back-');
  await a.press('shift', { holdS: 2.1 });
  const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 2 && encoderPid(x) !== null, 60_000, 'recording');
  await step(-60);
  const before = await a.waitFor((x) => x.segments >= s.segments + 2, 30_000, 'segments after the step');
  process.kill(encoderPid(before)!, 'SIGKILL');
  const back = await a.waitFor((x) => x.state === 'RECORDING' && encoderPid(x) !== null && encoderPid(x) !== encoderPid(before), 30_000, 'encoder restarted');
  await a.waitFor((x) => x.segments >= back.segments + 2, 30_000, 'segments of the new run');
  await endShift(a);
  const j = shiftJournal(dataDir, s.shiftId!);
  assert.ok(j.some((x) => x.type === 'time_sync' && x.what === 'step' && Number(x.step_ms) < -50_000), 'the step is journaled');
  const v = await verify(dataDir, s.shiftId!);
  assert.equal(v.code, 0, v.out);
});

test('restart into a pause with the clock 10 min behind the journal: the step is journaled, the pause keeps its deadline (not 10 min longer), paused time after the restart is charged, and the shift verifies intact', { timeout: 180_000 }, async () => {
  const { a, dataDir, step, restart } = await fakedAgent('bodycam-step-pause-');
  await a.press('shift', { holdS: 2.1 });
  const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 2, 60_000, 'recording');
  await a.press('privacy');
  const paused = await a.waitFor((x) => x.state === 'PAUSED', 10_000, 'paused');
  const leftBefore = paused.pauseLeftS!;
  await sleep(2000);
  await a.kill('SIGKILL');
  // The board comes back with its clock 10 minutes behind (an RTC that lost power).
  await step(-600);
  const b = await restart();
  const back = await b.waitFor((x) => x.state === 'PAUSED', 30_000, 'paused after the restart');
  assert.ok(back.pauseLeftS! <= leftBefore, `the pause has ${back.pauseLeftS} s left, it had ${leftBefore} s before the restart: never longer`);
  assert.ok(back.pauseLeftS! > leftBefore - 60, `and not cut short either (${back.pauseLeftS} s)`);
  await b.press('privacy');
  await b.waitFor((x) => x.state === 'RECORDING' && encoderPid(x) !== null, 20_000, 'resumed');
  await b.waitFor((x) => x.segments >= 2, 30_000, 'segments after the resume');
  await endShift(b);
  const j = shiftJournal(dataDir, s.shiftId!);
  const behind = j.find((x) => x.type === 'time_sync' && x.what === 'behind_journal');
  assert.ok(behind, 'the clock behind the journal is journaled');
  assert.ok(Number(behind.step_ms) < -500_000, `step_ms ${behind.step_ms}`);
  const resume = j.find((x) => x.type === 'resume');
  // The time between the last journaled moment and the restart is unknown on a clock that went back
  // (it counts as none); what follows is charged — before, now − since was negative and folded to 0.
  assert.ok(Number(resume?.paused_s) > 0, `paused time is charged (paused_s ${resume?.paused_s}), not folded to 0 by a clock that went back`);
  const v = await verify(dataDir, s.shiftId!);
  assert.equal(v.code, 0, v.out);
});
