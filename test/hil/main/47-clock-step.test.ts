/**
 * A wall-clock step of +90 s in the middle of a shift, made for real with `date -s` in the VM
 * (as chrony's makestep or a wearer's menu would): the agent journals exactly one `time_sync`
 * step record with the time before and after, the segments' wall-clock bounds stay continuous
 * (the encoder run's anchor is frozen: sealer.ts), and the verifier aligns the later records by
 * the step and reports the shift fully covered — and the media holds no more time than really
 * passed: with `-ts abs` ffmpeg converted vivid's monotonic timestamps to wall clock frame by frame,
 * so the step moved the PTS and ffmpeg filled the 90 s with repeated frames (~45 extra segments).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli, shiftJournal, tempDataDir, type AgentProc } from '../../helpers/agent.js';
import { writeFileSync } from 'node:fs';
import { LINE, RESULTS, pressLine, setPull, sleep, startAgentVm, vmOnly, waitFor } from '../lib.js';

const STEP_S = 90;
let agent: AgentProc | undefined;
let stepped = false;
after(async () => {
  await agent?.stop();
  // Later boots' checks compare the guest clock with the host's: give the 90 s back.
  if (stepped) execFileSync('date', ['-s', `@${(Date.now() / 1000 - STEP_S).toFixed(3)}`]);
});

void test('clock stepped +90 s by date -s mid-shift: one time_sync step record, continuous segment bounds, verifier reports full coverage', { skip: vmOnly, timeout: 300_000 }, async () => {
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
  await a.waitFor((s) => s.segments >= 2, 60_000, 'two segments before the step');

  const wallBefore = Date.now();
  execFileSync('date', ['-s', `@${(Date.now() / 1000 + STEP_S).toFixed(3)}`]);
  stepped = true;
  const journal = () => shiftJournal(dataDir, shiftId!);
  await waitFor(() => journal().find((r) => r.type === 'time_sync' && r.what === 'step'), 10_000, 'time_sync step record');
  const segsAtStep = journal().filter((r) => r.type === 'segment').length;
  await waitFor(() => journal().filter((r) => r.type === 'segment').length >= segsAtStep + 2, 60_000, 'two segments after the step');

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
  assert.equal(steps.length, 1, `one time_sync record: ${JSON.stringify(steps)}`);
  const st = steps[0]!;
  assert.equal(st.what, 'step');
  assert.ok(Math.abs(Number(st.step_ms) - STEP_S * 1000) < 1500, `step_ms ${String(st.step_ms)}`);
  const before = Date.parse(String(st.before));
  assert.ok(before >= wallBefore - 1500 && Date.parse(String(st.after)) - before === Number(st.step_ms), `before ${String(st.before)} after ${String(st.after)}`);

  // One encoder run, segments end to end on the run's timeline: the step is in no segment bound.
  const segs = recs.filter((r) => r.type === 'segment');
  assert.deepEqual([...new Set(segs.map((s) => s.run))], [1]);
  for (let i = 1; i < segs.length; i++) assert.equal(segs[i]!.start, segs[i - 1]!.end, `segment ${i + 1} starts where ${i} ended`);
  // No invented footage: the media spans no more than the shift really lasted (monotonic).
  const mediaS = (Date.parse(String(segs.at(-1)!.end)) - Date.parse(String(segs[0]!.start))) / 1000;
  assert.ok(mediaS <= monoElapsedS + 2, `media spans ${mediaS.toFixed(1)} s in a shift of ${monoElapsedS.toFixed(1)} s (monotonic): frames were repeated over the step`);
  // The journal's own times jumped with the clock, at most as late as the time_sync record (the
  // records written between the step and the agent's next check already carry it).
  const jump = recs.findIndex((r, i) => i > 0 && Date.parse(r.at) - Date.parse(recs[i - 1]!.at) > (STEP_S - 10) * 1000);
  assert.ok(jump > 0 && jump <= recs.indexOf(st), `the records' at jumps (line ${jump + 1}) no later than the time_sync record (line ${recs.indexOf(st) + 1})`);

  const v = await runCli(['verify', join(dataDir, 'shifts', shiftId!), '--pubkey', join(dataDir, 'identity', 'device.pub.pem'), '--json'], { timeoutMs: 120_000 });
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = JSON.parse(v.stdout) as { verdict: string; totals: { uncoveredS: number }; clockSteps: unknown[] };
  assert.equal(report.verdict, 'intact');
  assert.equal(report.totals.uncoveredS, 0);
  assert.equal(report.clockSteps.length, 1);
});
