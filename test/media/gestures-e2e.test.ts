/**
 * SPEC's gesture table end to end on the sim board: `bodycam press` (the real CLI) drives the
 * virtual buttons of a real agent recording with real ffmpeg.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, shiftJournal, cleanup, runCli, type AgentProc } from '../helpers/agent.js';

const agents: AgentProc[] = [];
after(async () => {
  for (const a of agents) {
    await a.stop();
    cleanup(a.dataDir);
  }
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('every gesture through `bodycam press`: start, both pauses, resume, an unconfirmed end, the confirmed end', { timeout: 120_000 }, async () => {
  const a = await startAgent();
  agents.push(a);
  const press = async (...args: string[]) => {
    const r = await runCli(['press', ...args, '--data-dir', a.dataDir]);
    assert.equal(r.code, 0, r.stderr);
  };
  // A short hold off duty does nothing.
  await press('shift', '--hold', '1');
  assert.equal((await a.status()).state, 'OFF_DUTY');
  await press('shift', '--hold', '2.2');
  let s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 1, 30_000, 'recording');
  const shiftId = s.shiftId!;
  assert.equal(s.outputs.led_rec, true, 'red LED on while recording');

  await press('privacy');
  // The LED goes off with the pause's feedback effect, which runs after the encoder has finalized
  // its segment: a status between the two (the encoder gone, the effect not yet run) is not the end state.
  s = await a.waitFor((x) => x.state === 'PAUSED' && !x.encoderRunning && x.outputs.led_rec === false, 10_000, 'pause, encoder stopped, red LED off');
  assert.equal(s.pauseReason, 'PERSONAL_NEEDS');
  assert.ok(s.pauseLeftS! > 890 && s.pauseLeftS! <= 900);
  assert.equal(s.encoderRunning, false, 'nothing is recorded during a pause');
  assert.equal(s.outputs.led_rec, false);
  await press('privacy');
  await a.waitFor((x) => x.state === 'RECORDING' && x.encoderRunning, 10_000, 'resume');

  await press('privacy', '--count', '2');
  s = await a.waitFor((x) => x.state === 'PAUSED', 10_000, 'sensitive pause');
  assert.equal(s.pauseReason, 'SENSITIVE_SITE');
  assert.ok(s.pauseLeftS! > 1790);
  await press('privacy');
  await a.waitFor((x) => x.state === 'RECORDING', 10_000, 'resume 2');

  // End armed but not confirmed: after the 5 s window the shift goes on.
  await press('shift', '--hold', '3.2');
  await sleep(5500);
  await press('shift');
  s = await a.status();
  assert.equal(s.state, 'RECORDING', 'a late confirm press does not end the shift');

  await press('shift', '--hold', '3.2');
  await press('shift');
  s = await a.waitFor((x) => x.state === 'OFF_DUTY', 20_000, 'end');
  assert.equal(s.outputs.led_rec, false);

  const j = shiftJournal(a.dataDir, shiftId);
  const types = j.map((r) => (r.type === 'gesture' ? `gesture:${r.outcome}` : r.type)).filter((t) => t !== 'segment' && t !== 'gap');
  assert.deepEqual(types, [
    'shift_start',
    'gesture:shift_started',
    'duty', // the battery forecast at shift start (agent/duty/battery-forecast.ts)
    'gesture:pause_personal_needs',
    'pause',
    'gesture:resume',
    'resume',
    'gesture:pause_sensitive_site',
    'pause',
    'gesture:resume',
    'resume',
    'gesture:end_armed_awaiting_confirm',
    'gesture:not_confirmed_shift_continues',
    'gesture:ignored_no_end_armed',
    'gesture:end_armed_awaiting_confirm',
    'gesture:shift_end_confirmed',
    'shift_end',
  ]);
  assert.deepEqual(j.filter((r) => r.type === 'pause').map((r) => r.reason), ['PERSONAL_NEEDS', 'SENSITIVE_SITE']);
  assert.ok(j.filter((r) => r.type === 'gesture').every((r) => typeof r.feedback === 'string'), 'every gesture journals its feedback');
});

test('a pause ends by itself at its maximum, with a warning first', { timeout: 90_000 }, async () => {
  const a = await startAgent({ config: { policy: { personalNeedsMaxS: 6, autoResumeWarningS: 3 } } });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  await a.waitFor((x) => x.state === 'RECORDING', 20_000, 'recording');
  await a.press('privacy');
  const p = await a.waitFor((x) => x.state === 'PAUSED', 10_000, 'pause');
  await a.waitFor((x) => x.state === 'RECORDING' && x.segments > 0, 20_000, 'auto resume');
  const j = shiftJournal(a.dataDir, p.shiftId!);
  const warn = j.find((x) => x.type === 'note' && x.what === 'pause_ending_soon');
  const resume = j.find((x) => x.type === 'resume');
  assert.ok(warn, 'warning journaled');
  assert.equal(resume?.cause, 'auto');
  const pause = j.find((x) => x.type === 'pause')!;
  const pausedMs = Date.parse(String(resume!.at)) - Date.parse(String(pause.at));
  assert.ok(pausedMs >= 5900 && pausedMs < 9000, `paused for ${pausedMs} ms`);
  assert.ok(Date.parse(String(warn.at)) - Date.parse(String(pause.at)) >= 2900);
});
