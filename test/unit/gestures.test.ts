import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../agent/lib/clock.js';
import { GestureRecogniser, type Gesture, type GestureContext } from '../../agent/shift/gestures.js';

function setup(ctx: Partial<GestureContext> = {}) {
  const clock = new FakeClock();
  const out: Gesture[] = [];
  const c: GestureContext = { onDuty: false, paused: false, shiftStartHoldS: 2, shiftEndHoldS: 3, doublePressS: 1, ...ctx };
  const r = new GestureRecogniser(clock, () => c, (g) => out.push(g), 20);
  const down = (b: 'shift' | 'privacy') => r.edge({ button: b, pressed: true });
  const up = (b: 'shift' | 'privacy') => r.edge({ button: b, pressed: false });
  return { clock, out, c, down, up, kinds: () => out.map((g) => g.kind) };
}

test('off duty: holding shift 2 s fires shift_hold at the threshold, before release', () => {
  const t = setup();
  t.down('shift');
  t.clock.advance(1999);
  assert.deepEqual(t.kinds(), []);
  t.clock.advance(1);
  assert.deepEqual(t.kinds(), ['shift_hold']);
  t.clock.advance(500);
  t.up('shift');
  assert.deepEqual(t.kinds(), ['shift_hold'], 'release after a hold adds nothing');
});

test('off duty: a shift hold released at 1.9 s is only a press', () => {
  const t = setup();
  t.down('shift');
  t.clock.advance(1900);
  t.up('shift');
  assert.deepEqual(t.kinds(), ['shift_press']);
  assert.equal(t.out[0]!.heldS, 1.9);
});

test('on duty: the end hold needs 3 s (2 s is not enough)', () => {
  const t = setup({ onDuty: true });
  t.down('shift');
  t.clock.advance(2500);
  t.up('shift');
  assert.deepEqual(t.kinds(), ['shift_press']);
  t.clock.advance(100);
  t.down('shift');
  t.clock.advance(3000);
  assert.deepEqual(t.kinds(), ['shift_press', 'shift_hold']);
});

test('recording: one privacy press becomes privacy_single after the double-press window', () => {
  const t = setup({ onDuty: true });
  t.down('privacy');
  t.clock.advance(50);
  t.up('privacy');
  t.clock.advance(900);
  assert.deepEqual(t.kinds(), []);
  t.clock.advance(100);
  assert.deepEqual(t.kinds(), ['privacy_single']);
});

test('recording: two privacy presses within 1 s are privacy_double, at once', () => {
  const t = setup({ onDuty: true });
  t.down('privacy');
  t.clock.advance(50);
  t.up('privacy');
  t.clock.advance(400);
  t.down('privacy');
  assert.deepEqual(t.kinds(), ['privacy_double']);
  t.clock.advance(2000);
  assert.deepEqual(t.kinds(), ['privacy_double'], 'no trailing single');
});

test('recording: two presses 1.2 s apart are two singles', () => {
  const t = setup({ onDuty: true });
  t.down('privacy');
  t.clock.advance(30);
  t.up('privacy');
  t.clock.advance(1200);
  t.down('privacy');
  t.clock.advance(30);
  t.up('privacy');
  t.clock.advance(1000);
  assert.deepEqual(t.kinds(), ['privacy_single', 'privacy_single']);
});

test('paused: a privacy press resumes at once (no window)', () => {
  const t = setup({ onDuty: true, paused: true });
  t.down('privacy');
  assert.deepEqual(t.kinds(), ['privacy_single']);
});

test('bounces shorter than the debounce are dropped', () => {
  const t = setup({ onDuty: true, paused: true });
  t.down('privacy');
  t.clock.advance(5);
  t.up('privacy');
  t.clock.advance(5);
  t.down('privacy');
  t.clock.advance(100);
  t.up('privacy');
  assert.deepEqual(t.kinds(), ['privacy_single']);
});
