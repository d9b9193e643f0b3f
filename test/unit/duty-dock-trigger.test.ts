/** Dock debounce (agent/duty/dock-trigger.ts) on a fake clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../agent/lib/clock.js';
import { DockTrigger } from '../../agent/duty/dock-trigger.js';

function setup(debounceMs = 500, docked = true) {
  const clock = new FakeClock();
  const out: string[] = [];
  const d = new DockTrigger(clock, () => debounceMs, { undocked: () => out.push('undocked'), docked: () => out.push('docked') });
  d.initial(docked);
  return { clock, out, d };
}

void test('dock trigger: leaving the dock acts after the debounce, not before', () => {
  const t = setup();
  t.d.change(false);
  t.clock.advance(499);
  assert.deepEqual(t.out, []);
  t.clock.advance(1);
  assert.deepEqual(t.out, ['undocked']);
});

void test('dock trigger: a bounce shorter than the debounce (out and back in) does nothing', () => {
  const t = setup();
  t.d.change(false);
  t.clock.advance(200);
  t.d.change(true);
  t.clock.advance(2000);
  assert.deepEqual(t.out, []);
});

void test('dock trigger: the start-up level is never acted on; a repeated level is no edge', () => {
  const t = setup(500, false);
  t.d.change(false);
  t.clock.advance(2000);
  assert.deepEqual(t.out, []);
  t.d.change(true);
  t.clock.advance(500);
  assert.deepEqual(t.out, ['docked']);
});

void test('dock trigger: stop cancels a pending action', () => {
  const t = setup();
  t.d.change(false);
  t.d.stop();
  t.clock.advance(2000);
  assert.deepEqual(t.out, []);
});
