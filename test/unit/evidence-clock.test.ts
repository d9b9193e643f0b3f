/**
 * Evidence time (agent/lib/evidence-clock.ts) on two hand-driven clocks: it follows the monotonic
 * clock, absorbs slew below the threshold, and moves to a stepped wall clock only when the step is
 * applied (after the caller journaled it) — forward and backward alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvidenceClock } from '../../agent/lib/evidence-clock.js';

function clocks(startWall = Date.UTC(2026, 11, 4, 12, 0, 0)) {
  const c = { wall: startWall, mono: 1000 };
  return { c, ev: new EvidenceClock(() => c.wall, () => c.mono), advance: (ms: number) => { c.wall += ms; c.mono += ms; } };
}

void test('evidence time runs on the monotonic clock from the last sync', () => {
  const { c, ev, advance } = clocks();
  advance(5000);
  assert.equal(ev.now(), c.wall);
  c.mono += 100; // the wall clock lags (timer latency) but the monotonic clock moved
  assert.equal(ev.now(), c.wall + 100);
});

void test('a difference below the threshold is absorbed at the check (slew), none is returned', () => {
  const { c, ev, advance } = clocks();
  advance(1000);
  c.wall += 300;
  assert.equal(ev.check(), undefined);
  assert.equal(ev.now(), c.wall, 'evidence time follows the slewed wall clock');
});

void test('a forward step is returned, not applied: records written before it is journaled stay on the old clock', () => {
  const { c, ev, advance } = clocks();
  advance(1000);
  const before = c.wall;
  c.wall += 90_000;
  assert.equal(ev.now(), before, 'still the old clock');
  const step = ev.check();
  assert.deepEqual(step, { stepMs: 90_000, beforeMs: before, afterMs: before + 90_000 });
  assert.equal(ev.now(), before, 'not applied by check()');
  ev.apply(step!);
  assert.equal(ev.now(), before + 90_000);
  advance(2000);
  assert.equal(ev.now(), before + 92_000);
});

void test('a backward step the same way: evidence time goes back only when applied', () => {
  const { c, ev, advance } = clocks();
  advance(1000);
  const before = c.wall;
  c.wall -= 60_000;
  const step = ev.check();
  assert.equal(step?.stepMs, -60_000);
  assert.equal(ev.now(), before);
  ev.apply(step!);
  assert.equal(ev.now(), before - 60_000);
});
