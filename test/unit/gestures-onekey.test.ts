/**
 * The one-key gesture table (README "Gestures") and the immediate haptic ack, on a fake clock. On a
 * one-key board the HAL reports every edge of the key under both button names: the tests send
 * both, as the hardware does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../agent/lib/clock.js';
import { GestureRecogniser, type Gesture, type GestureContext } from '../../agent/shift/gestures.js';
import { validateBoard } from '../../agent/config/board.js';
import { ConfigError } from '../../agent/lib/errors.js';
import { readFileSync } from 'node:fs';
import { Feedback } from '../../agent/feedback.js';
import { SimOutputs } from '../../hal/sim/sim-outputs.js';

function setup(ctx: Partial<GestureContext> = {}, oneKey = true) {
  const clock = new FakeClock();
  const out: Gesture[] = [];
  const acks: number[] = [];
  const c: GestureContext = { onDuty: false, paused: false, endArmed: false, shiftStartHoldS: 2, shiftEndHoldS: 3, doublePressS: 1, ...ctx };
  const r = new GestureRecogniser(clock, () => c, (g) => out.push(g), 20, { oneKey, ack: () => acks.push(clock.now()) });
  const key = (pressed: boolean) => {
    r.edge({ button: 'shift', pressed });
    r.edge({ button: 'privacy', pressed }); // the mirrored edge of the same key
  };
  const press = (ms: number) => {
    key(true);
    clock.advance(ms);
    key(false);
  };
  return { clock, out, c, key, press, acks, kinds: () => out.map((g) => g.kind) };
}

test('one key, off duty: a 2 s hold starts the shift (shift_hold at the threshold); a short press is only a shift_press', () => {
  const t = setup();
  t.key(true);
  t.clock.advance(1999);
  assert.deepEqual(t.kinds(), []);
  t.clock.advance(1);
  assert.deepEqual(t.kinds(), ['shift_hold']);
  t.clock.advance(300);
  t.key(false);
  t.clock.advance(2000);
  assert.deepEqual(t.kinds(), ['shift_hold'], 'the release of a hold is nothing');
  t.press(200);
  assert.deepEqual(t.kinds(), ['shift_hold', 'shift_press']);
});

test('one key, recording: a short press is privacy_single after the double-press window, with the press time', () => {
  const t = setup({ onDuty: true });
  const pressedAt = t.clock.now();
  t.press(150);
  t.clock.advance(999);
  assert.deepEqual(t.kinds(), [], 'recording goes on while the window is open');
  t.clock.advance(1);
  assert.deepEqual(t.kinds(), ['privacy_single']);
  assert.equal(t.out[0]!.pressedAt, pressedAt);
});

test('one key, recording: a second press inside the window is privacy_double at once, and its release adds nothing', () => {
  const t = setup({ onDuty: true });
  t.press(120);
  t.clock.advance(300);
  t.key(true);
  assert.deepEqual(t.kinds(), ['privacy_double']);
  t.clock.advance(120);
  t.key(false);
  t.clock.advance(3000);
  assert.deepEqual(t.kinds(), ['privacy_double']);
});

test('one key, paused: a short press resumes at its release (no window)', () => {
  const t = setup({ onDuty: true, paused: true });
  t.press(150);
  assert.deepEqual(t.kinds(), ['privacy_single']);
});

test('one key, on duty: a 3 s hold arms the end (2 s is a short press), and a short press while armed confirms it at once', () => {
  const t = setup({ onDuty: true });
  t.key(true);
  t.clock.advance(2999);
  assert.deepEqual(t.kinds(), []);
  t.clock.advance(1);
  assert.deepEqual(t.kinds(), ['shift_hold']);
  t.key(false);
  t.c.endArmed = true;
  t.clock.advance(500);
  t.press(150);
  assert.deepEqual(t.kinds(), ['shift_hold', 'shift_press'], 'confirm at release, no double-press wait');
  // Armed while paused: the short press confirms too (it does not resume).
  const p = setup({ onDuty: true, paused: true, endArmed: true });
  p.press(150);
  assert.deepEqual(p.kinds(), ['shift_press']);
});

test('the haptic ack comes at the press, before the privacy gesture resolves (one key and two keys)', () => {
  const one = setup({ onDuty: true });
  const t0 = one.clock.now();
  one.key(true);
  assert.deepEqual(one.acks, [t0], 'acknowledged on the press edge, once for the mirrored pair');
  one.clock.advance(100);
  one.key(false);
  assert.deepEqual(one.kinds(), []);
  one.clock.advance(1000);
  assert.deepEqual(one.kinds(), ['privacy_single']);
  const two = setup({ onDuty: true }, false);
  two.key(true); // two-key board: the privacy edge is the privacy button
  assert.equal(two.acks.length, 1);
  assert.deepEqual(two.kinds(), []);
  two.clock.advance(1000);
  assert.deepEqual(two.kinds(), ['privacy_single']);
  const off = setup({ onDuty: false });
  off.press(100);
  assert.deepEqual(off.acks, [], 'no ack off duty (the refusal buzz says enough)');
});

const hilBoard = () => JSON.parse(readFileSync('board-configs/qemu-hil.json', 'utf8')) as Record<string, unknown> & { buttons: Record<string, unknown> };
const issues = (b: unknown): string[] => {
  try {
    validateBoard(b, 'b.json');
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => i.where);
  }
};

test('board check: qemu-hil-onekey is valid; one-key needs one line, two keys on one line need layout one-key', () => {
  assert.deepEqual(issues(JSON.parse(readFileSync('board-configs/qemu-hil-onekey.json', 'utf8'))), []);
  const oneKeyTwoLines = hilBoard();
  oneKeyTwoLines.buttons.layout = 'one-key';
  assert.deepEqual(issues(oneKeyTwoLines), ['/buttons/privacy']);
  const twoKeysOneLine = hilBoard();
  twoKeysOneLine.buttons.privacy = twoKeysOneLine.buttons.shift;
  assert.deepEqual(issues(twoKeysOneLine), ['/buttons/layout']);
  const bad = hilBoard();
  bad.buttons.layout = 'three-key';
  assert.deepEqual(issues(bad), ['/buttons/layout']);
});

test('Feedback.ack drives the haptic output synchronously (no timer in between) and releases it after the tick', async () => {
  const out = new SimOutputs();
  const fb = new Feedback(out);
  try {
    fb.ack();
    assert.equal(out.get('haptic'), true, 'on at the call itself');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(out.get('haptic'), false, 'a tick, not a buzz that stays on');
  } finally {
    fb.stop();
  }
});
