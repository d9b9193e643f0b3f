import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition, type ShiftState, type ShiftEvent, type Effect } from '../../agent/shift/machine.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';

const P = DEFAULT_POLICY;
const ID = () => 'shift-1';
const g = (gesture: 'shift_hold' | 'shift_press' | 'privacy_single' | 'privacy_double'): ShiftEvent => ({ type: 'gesture', gesture });

/** Runs events through the pure table, advancing a fake wall clock by dt ms before each. */
function run(events: Array<[number, ShiftEvent]>, start: ShiftState = { name: 'OFF_DUTY' }) {
  let s = start;
  let now = 1_000_000;
  const effects: Effect[] = [];
  for (const [dt, e] of events) {
    now += dt;
    const t = transition(s, e, P, now, ID);
    s = t.state;
    effects.push(...t.effects);
  }
  return { s, effects, journal: effects.filter((e): e is Extract<Effect, { t: 'journal' }> => e.t === 'journal') };
}

test('shift_hold off duty opens a shift and starts the encoder', () => {
  const r = run([[0, g('shift_hold')]]);
  assert.equal(r.s.name, 'RECORDING');
  assert.deepEqual(r.effects.filter((e) => e.t === 'open_shift' || e.t === 'encoder'), [
    { t: 'open_shift', shiftId: 'shift-1' },
    { t: 'encoder', action: 'start', reason: 'start' },
  ]);
});

test('single privacy press pauses with PERSONAL_NEEDS and 15 min maximum; double with SENSITIVE_SITE and 30 min', () => {
  const a = run([[0, g('shift_hold')], [1000, g('privacy_single')]]);
  assert.equal(a.s.name, 'PAUSED');
  assert.equal(a.s.name === 'PAUSED' && a.s.reason, 'PERSONAL_NEEDS');
  assert.ok(a.effects.some((e) => e.t === 'timer' && e.name === 'pause_expired' && e.ms === 900_000));
  assert.ok(a.effects.some((e) => e.t === 'timer' && e.name === 'pause_warning' && e.ms === 840_000), 'warning 60 s before');
  const b = run([[0, g('shift_hold')], [1000, g('privacy_double')]]);
  assert.equal(b.s.name === 'PAUSED' && b.s.reason, 'SENSITIVE_SITE');
  assert.ok(b.effects.some((e) => e.t === 'timer' && e.name === 'pause_expired' && e.ms === 1_800_000));
  assert.deepEqual(b.journal.find((j) => j.type === 'pause')?.fields, { reason: 'SENSITIVE_SITE', max_s: 1800, via: 'gesture' });
});

test('a pause auto-resumes at its maximum with cause auto', () => {
  const r = run([[0, g('shift_hold')], [1000, g('privacy_single')], [840_000, { type: 'pause_warning' }], [60_000, { type: 'pause_expired' }]]);
  assert.equal(r.s.name, 'RECORDING');
  const resume = r.journal.find((j) => j.type === 'resume');
  assert.equal(resume?.fields.cause, 'auto');
  assert.equal(resume?.fields.reason, 'PERSONAL_NEEDS');
  assert.ok(r.effects.some((e) => e.t === 'feedback' && e.pattern === 'pause_warning'));
  assert.ok(r.effects.some((e) => e.t === 'encoder' && e.action === 'start' && e.reason === 'resume'));
});

test('privacy while paused resumes manually', () => {
  const r = run([[0, g('shift_hold')], [1000, g('privacy_double')], [5000, g('privacy_single')]]);
  assert.equal(r.s.name, 'RECORDING');
  assert.equal(r.journal.find((j) => j.type === 'resume')?.fields.cause, 'manual');
});

test('ending needs the hold and then the confirm press within 5 s', () => {
  const ok = run([[0, g('shift_hold')], [60_000, g('shift_hold')], [4000, g('shift_press')]]);
  assert.equal(ok.s.name, 'CLOSING');
  assert.ok(ok.effects.some((e) => e.t === 'close_shift' && e.reason === 'wearer'));
  assert.equal(run([[0, g('shift_hold')], [60_000, g('shift_hold')], [4000, g('shift_press')], [0, { type: 'closed' }]]).s.name, 'OFF_DUTY');
});

test('without the confirm press the shift goes on', () => {
  const r = run([[0, g('shift_hold')], [60_000, g('shift_hold')], [5001, { type: 'end_confirm_expired' }], [100, g('shift_press')]]);
  assert.equal(r.s.name, 'RECORDING');
  assert.ok(!r.effects.some((e) => e.t === 'close_shift'));
  assert.ok(r.journal.some((j) => j.fields.outcome === 'not_confirmed_shift_continues'));
  assert.ok(r.journal.some((j) => j.fields.outcome === 'ignored_no_end_armed'));
});

test('a confirm press after the window has passed does not end the shift', () => {
  const r = run([[0, g('shift_hold')], [60_000, g('shift_hold')], [5500, g('shift_press')]]);
  assert.equal(r.s.name, 'RECORDING');
});

test('a press alone never ends the shift, and nothing off duty starts recording but the hold', () => {
  assert.equal(run([[0, g('shift_hold')], [1000, g('shift_press')]]).s.name, 'RECORDING');
  for (const x of ['shift_press', 'privacy_single', 'privacy_double'] as const) {
    const r = run([[0, g(x)]]);
    assert.equal(r.s.name, 'OFF_DUTY');
    assert.equal(r.journal[0]?.fields.outcome, 'ignored_off_duty', 'ignored gestures are journaled');
  }
});

test('the shift can be ended while paused; force_end closes with its reason', () => {
  const p = run([[0, g('shift_hold')], [1000, g('privacy_single')], [1000, g('shift_hold')], [1000, g('shift_press')]]);
  assert.equal(p.s.name, 'CLOSING');
  const f = run([[0, g('shift_hold')], [1000, { type: 'force_end', reason: 'battery_critical' }]]);
  assert.ok(f.effects.some((e) => e.t === 'close_shift' && e.reason === 'battery_critical'));
});

test('timers that fire late for a state that has moved on change nothing', () => {
  const r = run([[0, g('shift_hold')], [1000, g('privacy_single')], [1000, g('privacy_single')], [900_000, { type: 'pause_expired' }]]);
  assert.equal(r.s.name, 'RECORDING');
  assert.equal(r.journal.filter((j) => j.type === 'resume').length, 1);
});

test('custody: end hold, confirm press, pause presses and central end_duty are refused and journaled; a forced end opens the next duty at once', () => {
  const C = { ...P, custody: 1 };
  let s: ShiftState = { name: 'OFF_DUTY' };
  const now = (): ShiftState => s; // read through a call: the assertions below must not narrow it
  const step = (e: ShiftEvent, at: number) => {
    const t = transition(s, e, C, at, () => `shift-${at}`);
    s = t.state;
    return t;
  };
  const start = step({ type: 'duty_start', trigger: 'custody' }, 1000);
  assert.equal(s.name, 'RECORDING');
  assert.deepEqual(start.effects.find((e) => e.t === 'open_shift'), { t: 'open_shift', shiftId: 'shift-1000', trigger: 'custody' });
  for (const [gesture, outcome] of [['shift_hold', 'refused_custody_duty_never_ends'], ['privacy_single', 'refused_custody_no_pauses'], ['privacy_double', 'refused_custody_no_pauses']] as const) {
    const t = step(g(gesture), 2000);
    assert.equal(now().name, 'RECORDING', gesture);
    const cur = now();
    assert.equal(cur.name === 'RECORDING' && cur.endArmedUntil, null, 'nothing armed');
    assert.ok(t.effects.some((e) => e.t === 'journal' && e.type === 'gesture' && e.fields.outcome === outcome), gesture);
    assert.ok(t.effects.some((e) => e.t === 'feedback' && e.pattern === 'refused'));
    assert.ok(!t.effects.some((e) => e.t === 'encoder'), 'the encoder is never touched');
  }
  assert.equal(step(g('shift_press'), 2500).effects.some((e) => e.t === 'close_shift'), false);
  const central = step({ type: 'duty_end', reason: 'central' }, 3000);
  assert.equal(now().name, 'RECORDING');
  assert.ok(central.effects.some((e) => e.t === 'journal' && e.type === 'duty' && e.fields.what === 'trigger_refused'));
  step({ type: 'force_end', reason: 'battery_critical' }, 4000);
  assert.equal(now().name, 'CLOSING');
  const next = step({ type: 'closed' }, 5000);
  const after = now();
  assert.equal(after.name === 'RECORDING' && after.shiftId, 'shift-5000', 'the next duty opens at once');
  assert.ok(next.effects.some((e) => e.t === 'encoder' && e.action === 'start'));
  // The same presses without custody pause and arm the end, as before.
  assert.equal(transition({ name: 'RECORDING', shiftId: 'x', endArmedUntil: null }, g('privacy_single'), P, 1, ID).state.name, 'PAUSED');
});
