/**
 * The obstruction detectors on synthetic measurement sequences with a fake clock (ms stamps):
 * debounced onset and clear with the interval's true bounds, hysteresis at the threshold, a
 * short dark moment is no finding, covered is not also frozen, silence, and stop() closing an
 * open interval. Plus the analysis-stream parsers on hand-made bytes split at odd places.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObstructionDetector, silentDbfsLimit, frozenDiffLimit, type DetectorPolicy, type Finding, type VideoMeasure } from '../../agent/obstruction/detectors.js';
import { GrayFrameParser, LevelParser, SILENCE_DBFS } from '../../agent/obstruction/analysis-stream.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';
import { detectorPolicy } from '../../agent/obstruction/room.js';
import { calibrateFromFrames, isCalibrationError } from '../../agent/obstruction/calibrate.js';

const P: DetectorPolicy = detectorPolicy({ ...DEFAULT_POLICY, obstructionOnsetS: 5, obstructionClearS: 5 });
const LIVE = { mean: 120, spread: 60, diff: 6, grad: 6, edgeMax: 170, changed: 500 };
const DARK = { mean: 2, spread: 1, diff: 0, grad: 0.3, edgeMax: 2, changed: 0 };
/** A still picture repeated bit for bit: the pipeline froze. */
const REPEATED = { mean: 95, spread: 70, diff: 0, grad: 5, edgeMax: 250, changed: 0 };
/** A still desk with real sensor noise (corpus still-desk: diff 0.04–0.07, 99–155 pixels change). */
const STILL_NOISY = { mean: 94, spread: 71, diff: 0.04, grad: 5.2, edgeMax: 251, changed: 99 };
/** A night street (corpus): as dark and flat as the old thresholds' "covered", but point lights. */
const NIGHT = { mean: 23.8, spread: 5.5, diff: 1.2, grad: 1.5, edgeMax: 120, changed: 1500 };
/** A covered lens at maximum gain (corpus face-down): noisy but smooth. */
const COVERED_NOISY = { mean: 19.4, spread: 1.2, diff: 0.97, grad: 1.0, edgeMax: 8, changed: 1600 };

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
  t = feedVideo(d, t, 30, { mean: P.coveredLumaMax + 3, spread: 2, diff: 0.5, grad: 0.4, edgeMax: 3, changed: 900 }, out);
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
  t = feedVideo(d, t, 10, REPEATED, out);
  feedVideo(d, t, 6, LIVE, out);
  assert.deepEqual(out.map((f) => `${f.t}:${f.kind}`), ['onset:covered', 'clear:covered', 'onset:frozen', 'clear:frozen']);
  assert.equal(out[2]?.startMs, frozenAt);
});

test('the first frame of a run (no previous frame to compare) says nothing about freezing', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  for (let i = 0; i < 40; i++) out.push(...d.video({ atMs: i * 500, mean: 95, spread: 70, diff: undefined, grad: 5, edgeMax: 250, changed: undefined }));
  assert.deepEqual(out, []);
});

test('silent microphone: level below the floor for the debounce, cleared by sound; quiet speech is no finding', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  let t = 0;
  const feed = (s: number, rms: number): void => {
    for (let i = 0; i < s * 2; i++, t += 500) out.push(...d.audio({ atMs: t, rmsDbfs: rms, peakDbfs: rms + 3, zeroFrac: rms <= SILENCE_DBFS ? 1 : 0 }));
  };
  feed(10, -45);
  feed(20, -75); // a quiet room, below the old −70 dBFS floor: uncalibrated, only digital silence counts
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
  feedVideo(d, t, 6, { mean: 20, spread: 1, diff: 3, grad: 0.4, edgeMax: 3, changed: 1000 }, out);
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
  assert.deepEqual(rest[0], { index: 0, mean: 50, spread: 50, diff: undefined, grad: 40, edgeMax: 100, changed: undefined });
  assert.deepEqual(rest[1], { index: 1, mean: 60, spread: 50, diff: 10, grad: 40, edgeMax: 100, changed: 8 });
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

test('a night street (dark, flat by luma, but point lights) is not covered; a noisy covered lens is', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  let t = feedVideo(d, 0, 60, NIGHT, out);
  assert.equal(out.length, 0, 'the old thresholds (mean ≤ 24, spread ≤ 10) called this covered');
  t = feedVideo(d, t, 8, COVERED_NOISY, out);
  assert.deepEqual(out.map((f) => `${f.t}:${f.kind}`), ['onset:covered']);
  feedVideo(d, t, 8, NIGHT, out);
  assert.deepEqual(out.map((f) => `${f.t}:${f.kind}`), ['onset:covered', 'clear:covered']);
});

test('a still desk with sensor noise is not frozen; bit-identical frames are; a calibrated floor catches near-repeats', () => {
  const d = new ObstructionDetector(() => P);
  const out: Finding[] = [];
  feedVideo(d, 0, 60, STILL_NOISY, out);
  assert.equal(out.length, 0, 'the old frozenDiffMax (0.05) alone called this frozen');
  const cal = { noiseFloorFrameDiff: 0.05 };
  assert.equal(frozenDiffLimit(P, cal), 0.0125);
  assert.equal(frozenDiffLimit(P, undefined), undefined);
  const c = new ObstructionDetector(() => P, cal);
  const out2: Finding[] = [];
  let t = feedVideo(c, 0, 30, STILL_NOISY, out2);
  assert.equal(out2.length, 0);
  // Re-encoded repeats (a few pixels differ by rounding): below a quarter of the floor.
  t = feedVideo(c, t, 8, { ...STILL_NOISY, diff: 0.005, changed: 11 }, out2);
  assert.deepEqual(out2.map((f) => `${f.t}:${f.kind}`), ['onset:frozen']);
  feedVideo(c, t, 8, STILL_NOISY, out2);
  assert.equal(out2.length, 2);
});

test('dead microphone: digital silence always; a quiet level only against a calibrated sensitivity', () => {
  assert.equal(silentDbfsLimit(P, undefined), -100);
  // −26 dBFS at 94 dB SPL, 33 dB SPL self-noise → self-noise at −87 dBFS, limit 6 dB below it.
  assert.equal(silentDbfsLimit(P, { micSensitivityDbfsAt94DbSpl: -26 }), -93);
  const c = new ObstructionDetector(() => P, { micSensitivityDbfsAt94DbSpl: -26 });
  const out: Finding[] = [];
  let t = 0;
  const feed = (s: number, rms: number, zeroFrac = 0): void => {
    for (let i = 0; i < s * 2; i++, t += 500) out.push(...c.audio({ atMs: t, rmsDbfs: rms, peakDbfs: rms + 10, zeroFrac }));
  };
  feed(30, -60); // quiet room
  feed(30, -85); // very quiet, still above the microphone's own noise
  assert.equal(out.length, 0);
  feed(8, -97); // below the self-noise: blocked or dead
  assert.deepEqual(out.map((f) => `${f.t}:${f.kind}`), ['onset:silent']);
  feed(8, -50);
  feed(8, -40, 1); // exactly zero samples (a level parser reports SILENCE_DBFS; zeroFrac decides regardless)
  assert.deepEqual(out.map((f) => `${f.t}:${f.kind}`), ['onset:silent', 'clear:silent', 'onset:silent']);
});

test('calibration: the median frame difference of a still scene; refused on repeated frames or too few', () => {
  const f = (i: number, diff: number | undefined, changed: number | undefined) => ({ index: i, mean: 90, spread: 70, grad: 5, edgeMax: 250, diff, changed });
  const frames = [f(0, undefined, undefined), f(1, 0.05, 110), f(2, 0.04, 99), f(3, 0.9, 900), f(4, 0.06, 150), f(5, 0.05, 120)];
  assert.deepEqual(calibrateFromFrames(frames), { noiseFloorFrameDiff: 0.05 }, 'a passer-by in one frame does not raise it');
  assert.throws(() => calibrateFromFrames([...frames, f(6, 0, 0)]), isCalibrationError);
  assert.throws(() => calibrateFromFrames(frames.slice(0, 3)), isCalibrationError);
});
