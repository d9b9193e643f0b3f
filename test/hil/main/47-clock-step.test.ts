/**
 * Wall-clock steps made for real with `date -s` in the VM (as chrony's makestep or a wearer's menu
 * would), forward and backward, with a pause between them so the second encoder run is anchored
 * on the stepped clock. Evidence time (agent/lib/evidence-clock.ts) moves only where a `time_sync`
 * step record stands: records before a step's record are on the old clock, every time written
 * after it (records, segment bounds) on the new one, and the verifier maps each back by the step —
 * so the shift verifies intact with full coverage. And the media holds no more time than really
 * passed: with `-ts abs` ffmpeg converted vivid's monotonic timestamps to wall clock frame by frame,
 * so a step moved the PTS and ffmpeg filled it with repeated frames (~45 extra segments for +90 s).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli, shiftJournal, tempDataDir, type AgentProc } from '../../helpers/agent.js';
import { writeFileSync } from 'node:fs';
import type { JournalRecord } from '../../../agent/evidence/journal.js';
import { LINE, RESULTS, pressLine, setPull, sleep, startAgentVm, vmOnly, waitFor } from '../lib.js';

const FORWARD_S = 90;
const BACKWARD_S = -60;
let agent: AgentProc | undefined;
let steppedS = 0;
after(async () => {
  await agent?.stop();
  // Later boots' checks compare the guest clock with the host's: give the steps back.
  if (steppedS !== 0) execFileSync('date', ['-s', `@${(Date.now() / 1000 - steppedS).toFixed(3)}`]);
});

const stepClock = (s: number): void => {
  execFileSync('date', ['-s', `@${(Date.now() / 1000 + s).toFixed(3)}`]);
  steppedS += s;
};

void test('clock stepped +90 s, a pause and a resume, then −60 s, by date -s mid-shift: one time_sync record per step, every time after a step record on the new clock, verifier intact with full coverage and no invented footage', { skip: vmOnly, timeout: 420_000 }, async () => {
  for (const l of [LINE.shift, LINE.privacy, LINE.dock]) setPull(l, false);
  const dataDir = tempDataDir('hil-step-');
  const p = await runCli(['provision', '--data-dir', dataDir]);
  assert.equal(p.code, 0, p.stderr);
  // Run alone (HIL_DEBUG) nothing has loaded ffmpeg yet: its first start over a cold 9p cache
  // under TCG can exceed the agent's 10 s pre-flight check.
  execFileSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore', timeout: 120_000 });
  // Under TCG ffmpeg can need more than the default 6 s to its first segment.
  agent = await startAgentVm({ board: 'qemu-hil', dataDir, config: { policy: { encoderStallS: 20 } } });
  const a = agent;
  await pressLine(LINE.shift, 2600);
  const { shiftId } = await a.waitFor((s) => s.state === 'RECORDING', 30_000, 'RECORDING');
  const monoStart = performance.now();
  const journal = (): JournalRecord[] => shiftJournal(dataDir, shiftId!);
  const stepRecords = (): JournalRecord[] => journal().filter((r) => r.type === 'time_sync' && r.what === 'step');
  const segments = (): number => journal().filter((r) => r.type === 'segment').length;
  await a.waitFor((s) => s.segments >= 2, 60_000, 'two segments before the first step');

  stepClock(FORWARD_S);
  await waitFor(() => stepRecords().length === 1, 10_000, 'time_sync record of the forward step');
  let n = segments();
  await waitFor(() => segments() >= n + 2, 60_000, 'two segments after the forward step');

  // A pause and a resume: the next encoder run is anchored on the stepped clock.
  await pressLine(LINE.privacy, 150);
  await a.waitFor((s) => s.state === 'PAUSED', 30_000, 'paused');
  await sleep(1500);
  await pressLine(LINE.privacy, 150);
  await a.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning, 60_000, 'resumed');
  n = segments();
  await waitFor(() => segments() >= n + 2, 60_000, 'two segments of the second run');

  stepClock(BACKWARD_S);
  await waitFor(() => stepRecords().length === 2, 10_000, 'time_sync record of the backward step');
  n = segments();
  await waitFor(() => segments() >= n + 2, 60_000, 'two segments after the backward step');

  await pressLine(LINE.shift, 3500);
  await sleep(300);
  await pressLine(LINE.shift, 150);
  await a.waitFor((s) => s.state === 'OFF_DUTY', 60_000, 'shift ended');
  const monoElapsedS = (performance.now() - monoStart) / 1000;
  await a.stop();

  const recs = journal();
  // The journal goes back to the host with the results (read it when this test fails).
  writeFileSync(join(RESULTS, 'clock-step-journal.json'), JSON.stringify(recs, null, 1));
  const steps = recs.filter((r) => r.type === 'time_sync');
  assert.equal(steps.length, 2, `one time_sync record per step: ${JSON.stringify(steps)}`);
  for (const [st, s] of [[steps[0]!, FORWARD_S], [steps[1]!, BACKWARD_S]] as const) {
    assert.equal(st.what, 'step');
    assert.ok(Math.abs(Number(st.step_ms) - s * 1000) < 1500, `step_ms ${String(st.step_ms)} for a step of ${s} s`);
    assert.equal(Date.parse(String(st.after)) - Date.parse(String(st.before)), Number(st.step_ms));
  }

  // One rule: a time written at a line is on the clock after every step record before that line.
  const idx = steps.map((st) => recs.indexOf(st));
  const offsetAt = (i: number): number => steps.reduce((off, st, k) => (idx[k]! < i ? off + Number(st.step_ms) : off), 0);
  const aligned = (i: number, iso: unknown): number => Date.parse(String(iso)) - offsetAt(i);
  // Record times: never on the new clock before its step record, never back on the old one after.
  for (let i = 1; i < recs.length; i++) {
    const prev = aligned(i - 1, recs[i - 1]!.at);
    const cur = aligned(i, recs[i]!.at);
    assert.ok(cur >= prev - 1500 && cur - prev < 30_000, `line ${i + 1}: aligned at ${new Date(cur).toISOString()} after ${new Date(prev).toISOString()}`);
  }
  // Segments end to end within each encoder run, on the aligned timeline: a step is in no bound.
  const segs = recs.map((r, i) => ({ r, i })).filter(({ r }) => r.type === 'segment');
  assert.deepEqual([...new Set(segs.map(({ r }) => r.run))], [1, 2], 'two encoder runs (the pause)');
  for (let k = 1; k < segs.length; k++) {
    const a0 = segs[k - 1]!;
    const b0 = segs[k]!;
    if (a0.r.run !== b0.r.run) continue;
    assert.ok(Math.abs(aligned(b0.i, b0.r.start) - aligned(a0.i, a0.r.end)) <= 1, `segment ${k + 1} starts where ${k} ended (aligned)`);
  }
  // No invented footage: the media spans no more than the shift really lasted (monotonic).
  const first = segs[0]!;
  const last = segs.at(-1)!;
  const spanS = (aligned(last.i, last.r.end) - aligned(first.i, first.r.start)) / 1000;
  assert.ok(spanS <= monoElapsedS + 2, `media spans ${spanS.toFixed(1)} s in a shift of ${monoElapsedS.toFixed(1)} s (monotonic): frames were repeated over a step`);

  const v = await runCli(['verify', join(dataDir, 'shifts', shiftId!), '--pubkey', join(dataDir, 'identity', 'device.pub.pem'), '--json'], { timeoutMs: 120_000 });
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = JSON.parse(v.stdout) as { verdict: string; totals: { uncoveredS: number }; clockSteps: unknown[] };
  assert.equal(report.verdict, 'intact');
  assert.equal(report.totals.uncoveredS, 0);
  assert.equal(report.clockSteps.length, 2);
});
