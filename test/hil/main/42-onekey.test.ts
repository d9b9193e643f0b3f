/**
 * A one-key board (board-configs/qemu-hil-onekey.json: shift and privacy on the single gpio-sim
 * line `key`) driven like a wearer would, through the line's pull attribute: a long hold starts
 * the shift, a short press pauses (PERSONAL_NEEDS) and resumes, a double press pauses for a
 * SENSITIVE_SITE, a long hold arms the end and a short press confirms it. led_rec is
 * read back from gpio-sim; the journal records the one-key gestures and the haptic ack.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { shiftJournal, tempDataDir, type AgentProc } from '../../helpers/agent.js';
import type { StatusSnapshot } from '../../../agent/status.js';
import { LINE, startAgentVm, pressLine, setPull, simValue, sleep, vmOnly, waitFor } from '../lib.js';

/** The one-key board's key: line 8 (`key`) of the gpio-sim bank test/hil/guest.sh creates. */
const KEY = 8;
const agents: AgentProc[] = [];
after(async () => {
  for (const a of agents) await a.stop().catch(() => undefined);
});

const state = (want: StatusSnapshot['state'], extra: (s: StatusSnapshot) => boolean = () => true) => (s: StatusSnapshot) => s.state === want && extra(s);

void test('one-key board (qemu-hil-onekey): hold starts, press pauses and resumes, double press pauses SENSITIVE_SITE, hold + press ends', { skip: vmOnly, timeout: 300_000 }, async () => {
  for (const l of [KEY, LINE.shift, LINE.privacy, LINE.dock]) setPull(l, false);
  const dataDir = tempDataDir('hil-onekey-');

  try {
    // Under TCG ffmpeg can need more than the default 6 s to its first segment. A 2 s
    // double-press window makes "recording ran until the gesture resolved" plain in the journal.
    const a = await startAgentVm({ board: 'qemu-hil-onekey', dataDir, config: { policy: { encoderStallS: 20, doublePressS: 2 } }, env: { BODYCAM_LOG: 'info' } });
    agents.push(a);
    // A short press off duty starts nothing.
    await pressLine(KEY, 150);
    await sleep(600);
    assert.equal((await a.status()).state, 'OFF_DUTY');

    await pressLine(KEY, 2600);
    const { shiftId } = await a.waitFor(state('RECORDING'), 30_000, 'shift started by a long hold of the one key');
    await waitFor(() => simValue(LINE.led_rec), 10_000, 'led_rec on while recording');
    await a.waitFor((s) => s.segments >= 1, 60_000, 'vivid frames reach segments');

    // The haptic ack is requested at the press (journaled as `ack`, unit-tested for its moment):
    // on the pin it is not asserted here, since under TCG with x264 running a gpioset respawn
    // puts a level on a gpio-sim line only seconds later.
    await pressLine(KEY, 150);
    await a.waitFor(state('PAUSED', (s) => s.pauseReason === 'PERSONAL_NEEDS'), 20_000, 'short press: PERSONAL_NEEDS pause');
    await waitFor(() => !simValue(LINE.led_rec), 10_000, 'led_rec off while paused');
    // As in 30-agent: let the pause's own work (segment sealed and probed) finish first; under
    // TCG a process spawn can stall the event loop longer than a 150 ms press.
    await sleep(600);
    await pressLine(KEY, 150);
    await a.waitFor(state('RECORDING'), 20_000, 'short press while paused: resume');

    // Let the resumed encoder settle first (see above); presses a little firmer than elsewhere,
    // well inside the 3 s window.
    await a.waitFor((s) => s.encoderRunning && s.fps > 0, 30_000, 'encoder running after resume');
    await sleep(600);
    await pressLine(KEY, 300);
    await sleep(400);
    await pressLine(KEY, 300);
    await a.waitFor(state('PAUSED', (s) => s.pauseReason === 'SENSITIVE_SITE'), 20_000, 'double press: SENSITIVE_SITE pause');
    await waitFor(() => !simValue(LINE.led_rec), 10_000, 'led_rec off while paused');
    await sleep(600);
    await pressLine(KEY, 150);
    await a.waitFor(state('RECORDING'), 20_000, 'resume after the sensitive site');
    await waitFor(() => simValue(LINE.led_rec), 10_000, 'led_rec on again');

    await sleep(600);
    await pressLine(KEY, 3500);
    await a.waitFor((s) => s.state === 'RECORDING' || s.state === 'FAULT', 5000, 'still on duty after the arming hold');
    await sleep(300);
    await pressLine(KEY, 150);
    await a.waitFor(state('OFF_DUTY'), 60_000, 'shift ended by hold + confirm press on the one key');
    await waitFor(() => !simValue(LINE.led_rec), 10_000, 'led_rec off after the shift');

    const j = shiftJournal(dataDir, shiftId!);
    assert.deepEqual(j.filter((r) => r.type === 'pause').map((r) => r.reason), ['PERSONAL_NEEDS', 'SENSITIVE_SITE']);
    assert.equal(j.filter((r) => r.type === 'resume').length, 2);
    const gestures = j.filter((r) => r.type === 'gesture').map((r) => `${String(r.gesture)}:${String(r.outcome)}`);
    assert.deepEqual(gestures, [
      'shift_hold:shift_started',
      'privacy_single:pause_personal_needs',
      'privacy_single:resume',
      'privacy_double:pause_sensitive_site',
      'privacy_single:resume',
      'shift_hold:end_armed_awaiting_confirm',
      'shift_press:shift_end_confirmed',
    ]);
    const single = j.find((r) => r.type === 'gesture' && r.outcome === 'pause_personal_needs')!;
    assert.equal(single.ack, 'haptic');
    assert.ok(Date.parse(single.at) - Date.parse(String(single.pressed_at)) >= 1900, 'the pause came after the double-press window; recording ran until then');
    assert.equal(j.find((r) => r.type === 'shift_end')?.reason, 'wearer');
    // Verifying shifts on the VM is 30-agent's job (the verifier does not care how many keys):
    // no provisioning or verify here, to keep this boot's time.
    await a.stop();
  } finally {
    await Promise.all(agents.map((x) => x.stop()));
  }
});
