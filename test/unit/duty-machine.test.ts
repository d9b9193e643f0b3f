/** The shift machine's duty events (agent/shift/machine.ts): duty_start, duty_end. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition, type ShiftState } from '../../agent/shift/machine.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';

const P = DEFAULT_POLICY;
const ID = () => 'shift-1';
const REC: ShiftState = { name: 'RECORDING', shiftId: 'shift-1', endArmedUntil: null };
const PAUSED: ShiftState = { name: 'PAUSED', shiftId: 'shift-1', reason: 'PERSONAL_NEEDS', since: 0, until: 900_000, endArmedUntil: null };

void test('duty_start off duty opens a shift with its trigger and starts the encoder', () => {
  for (const trigger of ['dock', 'central', 'schedule'] as const) {
    const t = transition({ name: 'OFF_DUTY' }, { type: 'duty_start', trigger }, P, 1000, ID);
    assert.equal(t.state.name, 'RECORDING');
    assert.deepEqual(t.effects.slice(0, 2), [{ t: 'open_shift', shiftId: 'shift-1', trigger }, { t: 'encoder', action: 'start', reason: 'start' }]);
    assert.ok(t.effects.some((e) => e.t === 'feedback' && e.pattern === 'shift_started'));
  }
});

void test('duty_start on duty is ignored and journaled; the shift goes on', () => {
  for (const s of [REC, PAUSED]) {
    const t = transition(s, { type: 'duty_start', trigger: 'dock' }, P, 1000, ID);
    assert.equal(t.state, s);
    assert.deepEqual(t.effects, [{ t: 'journal', type: 'duty', fields: { what: 'trigger_ignored', trigger: 'dock', state: s.name } }]);
  }
});

void test('duty_end while recording or paused closes the shift with the trigger as shift_end reason', () => {
  for (const s of [REC, PAUSED]) {
    for (const reason of ['dock', 'central'] as const) {
      const t = transition(s, { type: 'duty_end', reason }, P, 1000, ID);
      assert.deepEqual(t.state, { name: 'CLOSING', shiftId: 'shift-1', reason });
      assert.ok(t.effects.some((e) => e.t === 'close_shift' && e.reason === reason));
      assert.ok(t.effects.some((e) => e.t === 'encoder' && e.action === 'stop'));
    }
  }
});

void test('duty_end off duty or closing is ignored and journaled, never a silent change', () => {
  const off = transition({ name: 'OFF_DUTY' }, { type: 'duty_end', reason: 'central' }, P, 1000, ID);
  assert.deepEqual(off.state, { name: 'OFF_DUTY' });
  assert.deepEqual(off.effects, [{ t: 'journal', type: 'duty', fields: { what: 'trigger_ignored', trigger: 'central', state: 'OFF_DUTY' } }]);
  const closing: ShiftState = { name: 'CLOSING', shiftId: 'shift-1', reason: 'wearer' };
  assert.equal(transition(closing, { type: 'duty_end', reason: 'dock' }, P, 1000, ID).state, closing);
});

void test('the button still starts a shift with every duty trigger policy on (button is the fallback)', () => {
  const p = { ...P, dutyDockStart: 1, dutyDockEnd: 1, dutyCentral: 1 };
  const t = transition({ name: 'OFF_DUTY' }, { type: 'gesture', gesture: 'shift_hold' }, p, 1000, ID);
  assert.equal(t.state.name, 'RECORDING');
  assert.deepEqual(t.effects[0], { t: 'open_shift', shiftId: 'shift-1' });
});
