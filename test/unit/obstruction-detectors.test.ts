/**
 * The obstruction detectors on synthetic measurement sequences with a fake clock (ms stamps):
 * debounced onset and clear with the interval's true bounds, hysteresis at the threshold, a
 * short dark moment is no finding, covered is not also frozen, silence, and stop() closing an
 * open interval. Plus the analysis-stream parsers on hand-made bytes split at odd places.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObstructionDetector, type DetectorPolicy, type Finding, type VideoMeasure } from '../../agent/obstruction/detectors.js';
import { GrayFrameParser, LevelParser, SILENCE_DBFS } from '../../agent/obstruction/analysis-stream.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';
import { detectorPolicy } from '../../agent/obstruction/room.js';

const P: DetectorPolicy = detectorPolicy({ ...DEFAULT_POLICY, obstructionOnsetS: 5, obstructionClearS: 5 });
const LIVE = { mean: 120, spread: 60, diff: 6 };
const DARK = { mean: 2, spread: 1, diff: 0 };
const STILL = { mean: 95, spread: 70, diff: 0 };

/** Feeds `frames` video samples at 2 fps from `fromMs`; returns the findings and the next stamp. */
function feedVideo(d: ObstructionDetector, fromMs: number, seconds: number, m: Omit<VideoMeasure, 'atMs'>, out: Finding[]): number {
  let t = fromMs;
  for (let i = 0; i < seconds * 2; i++, t += 500) out.push(...d.video({ atMs: t, ...m }));
  return t;
}

test('covered 20 s mid-stream: one onset after the 5 s debounce, one clear, bounds = the real change', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  let t = feedVideo(d, 0, 30, LIVE, out);
  const coveredAt = t;
  t = feedVideo(d, t, 20, DARK, out);
  const clearedAt = t;
  feedVideo(d, t, 30, LIVE, out);
  assert.equal(out.length, 2, JSON.stringify(out));
  const [on, off] = out;
  assert.ok(on?.t === 'onset' && on.kind === 'covered');
  assert.equal(on.startMs, coveredAt, 'starts at the first dark sample');
  assert.equal(on.atMs, coveredAt + 5000, 'decided after the onset debounce');
  assert.ok(off?.t === 'clear' && off.kind === 'covered');
  assert.equal(off.endMs, clearedAt, 'ends at the first bright sample');
  assert.equal(off.atMs, clearedAt + 5000, 'decided after the clear debounce');
  assert.equal(off.reason, 'cleared');
  assert.equal(off.measures.luma_mean, 2);
});

test('a dark stairwell shorter than the debounce is no finding', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  let t = feedVideo(d, 0, 10, LIVE, out);
  t = feedVideo(d, t, 4.5, DARK, out);
  t = feedVideo(d, t, 10, LIVE, out);
  feedVideo(d, t, 4, DARK, out);
  assert.deepEqual(out, []);
});

test('hysteresis: luma hovering just above the threshold neither clears nor restarts the interval', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  let t = feedVideo(d, 0, 8, DARK, out);
  // Above coveredLumaMax (24) but inside the clear margin (+8): still covered.
  t = feedVideo(d, t, 30, { mean: P.coveredLumaMax + 3, spread: 2, diff: 0.5 }, out);
  assert.equal(out.length, 1, 'only the onset');
  assert.ok(d.kinds.covered.active);
  // Beyond the margin: the clear debounce starts.
  feedVideo(d, t, 6, LIVE, out);
  assert.equal(out.length, 2);
  assert.equal(out[1]?.t, 'clear');
});

test('a good sample inside the clear debounce restarts it: flicker does not end the interval early', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  let t = feedVideo(d, 0, 8, DARK, out);
  for (let i = 0; i < 5; i++) {
    t = feedVideo(d, t, 3, LIVE, out);
    t = feedVideo(d, t, 0.5, DARK, out);
  }
  assert.equal(out.length, 1, 'still one open interval');
  const lastDark = t - 500;
  t = feedVideo(d, t, 6, LIVE, out);
  assert.equal(out.length, 2);
  assert.ok(out[1]?.t === 'clear' && out[1].endMs === lastDark + 500);
});

test('frozen picture: frames arrive unchanged → frozen, and a covered (black) picture is not also frozen', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  let t = feedVideo(d, 0, 5, LIVE, out);
  t = feedVideo(d, t, 12, DARK, out);
  assert.deepEqual(out.map((f) => `${f.t}:${f.kind}`), ['onset:covered']);
  t = feedVideo(d, t, 6, LIVE, out);
  const frozenAt = t;
  t = feedVideo(d, t, 10, STILL, out);
  feedVideo(d, t, 6, LIVE, out);
  assert.deepEqual(out.map((f) => `${f.t}:${f.kind}`), ['onset:covered', 'clear:covered', 'onset:frozen', 'clear:frozen']);
  assert.equal(out[2]?.startMs, frozenAt);
});

test('the first frame of a run (no previous frame to compare) says nothing about freezing', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  for (let i = 0; i < 40; i++) out.push(...d.video({ atMs: i * 500, mean: 95, spread: 70, diff: undefined }));
  assert.deepEqual(out, []);
});

test('silent microphone: level below the floor for the debounce, cleared by sound; quiet speech is no finding', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  let t = 0;
  const feed = (s: number, rms: number): void => {
    for (let i = 0; i < s * 2; i++, t += 500) out.push(...d.audio({ atMs: t, rmsDbfs: rms, peakDbfs: rms + 3 }));
  };
  feed(10, -45);
  feed(20, P.silentDbfsMax + 2); // quiet room: above the floor
  assert.equal(out.length, 0);
  const mutedAt = t;
  feed(10, SILENCE_DBFS);
  feed(6, -30);
  assert.deepEqual(out.map((f) => `${f.t}:${f.kind}`), ['onset:silent', 'clear:silent']);
  assert.equal(out[0]?.startMs, mutedAt);
  assert.equal(out[1]?.t === 'clear' && out[1].measures.level_dbfs, SILENCE_DBFS);
});

test('stop() ends an open interval at its last sample (reason stopped); a pending onset is dropped', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  const t = feedVideo(d, 0, 10, DARK, out);
  const closed = d.stop(t + 3000);
  assert.equal(closed.length, 1);
  assert.ok(closed[0]?.t === 'clear' && closed[0].reason === 'stopped' && closed[0].endMs === t - 500);
  assert.deepEqual(d.active(), []);
  const d2 = new ObstructionDetector(() => P);
  feedVideo(d2, 0, 3, DARK, out);
  assert.deepEqual(d2.stop(9999), []);
});

test('thresholds and hold times come from the policy as it is now', () => {
  let p = P;
  const d = new ObstructionDetector(() => p);
  const out: Finding[] = [];
  let t = feedVideo(d, 0, 3, DARK, out);
  assert.equal(out.length, 0);
  p = { ...P, onsetS: 2 };
  t = feedVideo(d, t, 0.5, DARK, out);
  assert.equal(out.length, 1, 'a shorter onset hold applies at once');
  p = { ...P, coveredLumaMax: 0 };
  feedVideo(d, t, 6, { mean: 20, spread: 1, diff: 3 }, out);
  assert.equal(out.length, 2);
  assert.equal(out.at(-1)?.t, 'clear', 'a stricter threshold makes the same picture good');
});

test('gray frame parser: frames split across chunks, mean / spread / difference to the previous frame', () => {
  const p = new GrayFrameParser(4, 2);
  const a = Buffer.from([0, 0, 0, 0, 100, 100, 100, 100]);
  const b = Buffer.from([10, 10, 10, 10, 110, 110, 110, 110]);
  const all = Buffer.concat([a, b, a.subarray(0, 3)]);
  const first = p.feed(all.subarray(0, 5));
  assert.deepEqual(first, []);
  const rest = p.feed(all.subarray(5));
  assert.equal(rest.length, 2);
  assert.deepEqual(rest[0], { index: 0, mean: 50, spread: 50, diff: undefined });
  assert.deepEqual(rest[1], { index: 1, mean: 60, spread: 50, diff: 10 });
  const more = p.feed(a.subarray(3));
  assert.equal(more[0]?.diff, 10);
});

test('level parser: half-second windows of s16le, RMS and peak in dBFS, digital silence at the floor value', () => {
  const rate = 100; // 50 samples per window
  const p = new LevelParser(rate);
  const tone = Buffer.alloc(100);
  for (let i = 0; i < 50; i++) tone.writeInt16LE(i % 2 ? 16384 : -16384, i * 2);
  const silence = Buffer.alloc(100);
  const out = [...p.feed(Buffer.concat([tone, silence]).subarray(0, 150)), ...p.feed(Buffer.concat([tone, silence]).subarray(150))];
  assert.equal(out.length, 2);
  assert.ok(Math.abs(out[0]!.rmsDbfs - -6.02) < 0.01 && Math.abs(out[0]!.peakDbfs - -6.02) < 0.01);
  assert.equal(out[1]!.rmsDbfs, SILENCE_DBFS);
});
