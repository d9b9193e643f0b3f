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
async function fakedAgent(prefix: string): Promise<{ a: AgentProc; dataDir: string; step: (offsetS: number) => Promise<void> }> {
  assert.ok(existsSync(LIB), `${LIB} (Debian package faketime) is installed by scripts/deps.sh faults`);
  const dataDir = tempDataDir(prefix);
  dirs.push(dataDir);
  const p = await runCli(['provision', '--data-dir', dataDir]);
  assert.equal(p.code, 0, p.stderr);
  const stamp = join(dataDir, '..', `${prefix}faketime`);
  writeFileSync(stamp, '+0\n');
  dirs.push(stamp);
  const a = await startAgent({
    dataDir,
    env: {
      LD_PRELOAD: LIB,
      FAKETIME_TIMESTAMP_FILE: stamp,
      // Re-read the file at most once a second: a step lands within a second, and ffmpeg's many
      // clock reads do not each open a file.
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
  });
  agents.push(a);
  return {
    a,
    dataDir,
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
