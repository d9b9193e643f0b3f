/**
 * A transition's effect fails for real, and the agent must say so instead of pretending: a
 * fault, paced retries through the shared backoff, recovery by itself once the cause is gone —
 * and never RECORDING while no encoder runs (the state is FAULT until recording really runs).
 *
 * 1. Encryption's stage dir stops being RAM-backed (its tmpfs is unmounted under the running
 *    agent): opening the shift is refused (plaintext would reach the disk), so the start of
 *    shift is owed and retried until the tmpfs is back.
 * 2. The encoder binary vanishes and ffmpeg is killed: the restart cannot run; one
 *    `encoder_start` fault, paced attempts, recording again once the binary is back.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, runCli, shiftJournal, cleanup, type AgentProc } from '../helpers/agent.js';
import { findExecutable } from '../../hal/encoder/binary.js';
import type { StatusSnapshot } from '../../agent/status.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const agents: AgentProc[] = [];
const dirs: string[] = [];
const mounts: string[] = [];
after(async () => {
  for (const a of agents) await a.kill('SIGKILL').catch(() => undefined);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch {
      /* not mounted */
    }
  }
  for (const d of dirs) cleanup(d);
});

/** Polls status every 100 ms and records every sample where RECORDING was claimed without an encoder. */
function watchTruth(a: AgentProc): { stop(): Promise<{ samples: number; lies: StatusSnapshot[]; states: Set<string> }> } {
  let on = true;
  let samples = 0;
  const lies: StatusSnapshot[] = [];
  const states = new Set<string>();
  const loop = (async () => {
    while (on) {
      try {
        const s = await a.status();
        samples++;
        states.add(s.state);
        if (s.state === 'RECORDING' && !s.encoderRunning) lies.push(s);
      } catch {
        /* socket busy */
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return { samples, lies, states };
    },
  };
}

void test('encryption stage dir no longer tmpfs at shift start: FAULT with a transition fault, paced retries, recording once the tmpfs is back, never RECORDING without an encoder', { timeout: 240_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bodycam-effect-'));
  dirs.push(dataDir);
  const keys = join(dataDir, '..', `${dataDir.split('/').pop()}-central`);
  dirs.push(keys);
  const kg = await runCli(['keygen-central', '--out', keys]);
  assert.equal(kg.code, 0, kg.stderr);
  const stage = mkdtempSync(join(tmpdir(), 'bodycam-stage-'));
  dirs.push(stage);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', stage]);
  mounts.push(stage);
  const a = await startAgent({ dataDir, config: { encryption: { centralPublicKey: join(keys, 'central-x25519.pub.pem'), stageDir: stage } } });
  agents.push(a);
  // The stage stops being RAM-backed under the running agent (pre-flight saw it as tmpfs).
  execFileSync('umount', [stage]);
  const truth = watchTruth(a);
  await a.press('shift', { holdS: 2.1 });
  const failing = await a.waitFor((s) => 'transition' in s.faults, 20_000, 'transition fault');
  assert.equal(failing.state, 'FAULT', 'the shift that could not open is reported as FAULT, not RECORDING');
  assert.match(failing.faults.transition!, /open_shift failed: [\s\S]*not on tmpfs/);
  assert.equal(failing.encoderRunning, false);
  const attempts0 = failing.ext.transition!.attempts as number;
  await sleep(8000);
  const later = await a.status();
  const attempts = (later.ext.transition!.attempts as number) - attempts0;
  console.log(`# open_shift attempts in 8 s while failing: ${attempts}`);
  assert.ok(attempts >= 2, `retried (${attempts} attempts in 8 s)`);
  assert.ok(attempts <= 6, `paced by the backoff, not a loop (${attempts} attempts in 8 s)`);
  assert.equal(later.state, 'FAULT');
  // The cause goes away: the stage is RAM-backed again.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', stage]);
  const ok = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 2 && !('transition' in s.faults), 60_000, 'recording after the stage came back');
  const seen = await truth.stop();
  assert.ok(seen.samples > 50, `status sampled throughout (${seen.samples})`);
  assert.deepEqual(seen.lies.map((s) => s.state), [], 'never RECORDING without an encoder');
  assert.ok(seen.states.has('FAULT'));
  const files = readdirSync(join(dataDir, 'shifts', ok.shiftId!));
  assert.ok(files.some((f) => f.endsWith('.ts.enc')), 'segments are stored encrypted');
  assert.ok(!files.some((f) => f.endsWith('.ts')), 'no plaintext segment in the shift dir');
  const j = shiftJournal(dataDir, ok.shiftId!);
  assert.equal(j[0]!.type, 'shift_start');
  assert.ok(j.some((r) => r.type === 'gesture' && r.outcome === 'shift_started'), 'the owed gesture record was written once the shift opened');
  await a.stop();
});

void test('encoder binary gone at an encoder restart: one encoder_start fault, paced attempts, FAULT meanwhile, recording once it is back, one encoder_crash gap', { timeout: 240_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bodycam-effect-'));
  dirs.push(dataDir);
  const bin = join(dataDir, '..', `${dataDir.split('/').pop()}-bin`);
  dirs.push(bin);
  mkdirSync(bin);
  const ffmpeg = findExecutable('ffmpeg');
  assert.ok(ffmpeg, 'ffmpeg installed');
  const link = join(bin, 'ffmpeg');
  symlinkSync(ffmpeg, link);
  const a = await startAgent({ dataDir, env: { BODYCAM_FFMPEG: link } });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  const before = await a.waitFor((s) => s.segments >= 2 && s.encoderRunning, 40_000, 'recording');
  const truth = watchTruth(a);
  unlinkSync(link);
  process.kill(before.ext.encoder!.pid as number, 'SIGKILL');
  const failing = await a.waitFor((s) => 'encoder_start' in s.faults, 20_000, 'encoder_start fault');
  assert.equal(failing.state, 'FAULT');
  const f0 = failing.ext.encoder!.failedStarts as number;
  await sleep(8000);
  const later = await a.status();
  const tries = (later.ext.encoder!.failedStarts as number) - f0;
  console.log(`# encoder start attempts in 8 s without a binary: ${tries}`);
  assert.ok(tries >= 2 && tries <= 8, `paced attempts (${tries} in 8 s)`);
  assert.equal(later.state, 'FAULT');
  symlinkSync(ffmpeg, link);
  await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= later.segments + 2 && !('encoder_start' in s.faults), 60_000, 'recording again');
  const seen = await truth.stop();
  assert.deepEqual(seen.lies.map((s) => s.state), [], 'never RECORDING without an encoder');
  const j = shiftJournal(dataDir, before.shiftId!);
  const faults = j.filter((r) => r.type === 'fault' && r.fault === 'encoder_start');
  assert.equal(faults.length, 1, 'one encoder_start fault record for the episode');
  assert.equal(j.filter((r) => r.type === 'gap' && r.cause === 'encoder_crash').length, 1, 'one encoder_crash gap covers the whole episode');
  await a.stop();
  rmSync(link, { force: true });
});
