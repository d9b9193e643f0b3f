/** The duty window's pure step function (agent/duty/schedule.ts) on plain numbers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scheduleStep } from '../../agent/duty/schedule.js';
import type { DutyWindow } from '../../agent/duty/types.js';

const W: DutyWindow = { startMs: 10_000, endMs: 20_000, commandId: 'c1', started: false };

void test('schedule: before its start nothing happens and the next look is at the start', () => {
  assert.deepEqual(scheduleStep(W, 9_999, false), { window: W, actions: [], wakeAt: 10_000 });
});

void test('schedule: at its start, off duty, the shift starts once and the next look is at the end', () => {
  const s = scheduleStep(W, 10_000, false);
  assert.deepEqual(s.actions, ['start']);
  assert.equal(s.window?.started, true);
  assert.equal(s.wakeAt, 20_000);
  assert.deepEqual(scheduleStep(s.window, 12_000, false).actions, [], 'a started window does not start again (the wearer ended the shift early)');
});

void test('schedule: at its start while already on duty, no second start; the window is marked started', () => {
  const s = scheduleStep(W, 10_500, true);
  assert.deepEqual(s.actions, []);
  assert.equal(s.window?.started, true);
});

void test('schedule: the end passing while on duty is an overrun warning, once; the window is done', () => {
  const started = { ...W, started: true };
  assert.deepEqual(scheduleStep(started, 20_000, true), { window: null, actions: ['overrun'], wakeAt: null });
});

void test('schedule: the end passing off duty ends the window silently, and never ends a shift', () => {
  assert.deepEqual(scheduleStep({ ...W, started: true }, 20_001, false), { window: null, actions: [], wakeAt: null });
  assert.deepEqual(scheduleStep(W, 25_000, false).actions, [], 'a window missed entirely (agent down) starts nothing');
  assert.deepEqual(scheduleStep(null, 0, true), { window: null, actions: [], wakeAt: null });
});
