/**
 * The location room's pure parts: when a position is journaled (decide.ts), the sim track
 * (track.ts), the clock's provenance per segment (time-provenance.ts) and wall-clock step
 * detection (hal/clock/step-detector.ts), all driven without timers or devices.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideLocation, FIX_FLIP_HOLD_MS, type JournaledFix } from '../../agent/location/decide.js';
import { distanceM, trackPosition, type SimTrack } from '../../hal/gnss/track.js';
import { timeProvenance } from '../../agent/location/time-provenance.js';
import { ClockStepDetector } from '../../hal/clock/step-detector.js';
import type { FixMode, GnssFix } from '../../hal/gnss/types.js';
import type { ClockReport } from '../../hal/clock/types.js';

const P = { locationIntervalS: 10, locationMinMoveM: 10 };
/** 1e-4 degrees of latitude ≈ 11.1 m. */
const fix = (mode: FixMode, lat: number | null, mono: number, extra: Partial<GnssFix> = {}): GnssFix => ({
  mode,
  lat,
  lon: lat === null ? null : 13.405,
  altM: null,
  accuracyM: 3,
  speedMps: null,
  fixTime: lat === null ? null : new Date(1_700_000_000_000 + mono).toISOString(),
  receivedAt: 1_700_000_000_000 + mono,
  receivedMono: mono,
  ...extra,
});
const last = (mode: FixMode, lat: number | null, atMono: number): JournaledFix => ({ mode, lat, lon: lat === null ? null : 13.405, atMono });

describe('when a location is journaled', () => {
  test('the first report of a shift is journaled, fix or not', () => {
    assert.equal(decideLocation(undefined, fix('3d', 52.52, 0), P), 'first');
    assert.equal(decideLocation(undefined, fix('none', null, 0), P), 'first');
  });

  test('a loss or return of the fix is journaled at once, however soon', () => {
    assert.equal(decideLocation(last('3d', 52.52, 0), fix('none', null, 100), P), 'fix_change');
    assert.equal(decideLocation(last('none', null, 0), fix('3d', 52.52, 100), P), 'fix_change');
    assert.equal(decideLocation(last('2d', 52.52, 0), fix('none', null, 100), P, 100), 'fix_change');
  });

  test('a 2d/3d flip is journaled only once the new mode has held for FIX_FLIP_HOLD_MS', () => {
    // Flipped at 100 ms: not yet at 100 ms nor just before the hold, journaled at the hold.
    assert.equal(decideLocation(last('3d', 52.52, 0), fix('2d', 52.52, 100), P, 100), undefined);
    assert.equal(decideLocation(last('3d', 52.52, 0), fix('2d', 52.52, 100 + FIX_FLIP_HOLD_MS - 1), P, 100), undefined);
    assert.equal(decideLocation(last('3d', 52.52, 0), fix('2d', 52.52, 100 + FIX_FLIP_HOLD_MS), P, 100), 'fix_change');
    assert.equal(decideLocation(last('2d', 52.52, 0), fix('3d', 52.52, 9_000), P, 3_000), 'fix_change');
  });

  test('while moving: not before the interval, however far', () => {
    assert.equal(decideLocation(last('3d', 52.52, 0), fix('3d', 52.53, 9_999), P), undefined);
    assert.equal(decideLocation(last('3d', 52.52, 0), fix('3d', 52.53, 10_000), P), 'moved');
  });

  test('standing still (less than the minimum movement) journals nothing, however long', () => {
    assert.equal(decideLocation(last('3d', 52.52, 0), fix('3d', 52.52005, 3_600_000), P), undefined);
    assert.equal(decideLocation(last('3d', 52.52, 0), fix('3d', 52.5201, 3_600_000), P), 'moved');
  });

  test('no fix after no fix journals nothing more', () => {
    assert.equal(decideLocation(last('none', null, 0), fix('none', null, 60_000), P), undefined);
  });
});

describe('sim track', () => {
  const track: SimTrack = {
    waypoints: [
      { t: 0, lat: 52.52, lon: 13.405 },
      { t: 10, lat: 52.5201, lon: 13.405 },
      { t: 20, lat: 52.5201, lon: 13.4052 },
    ],
    lossWindows: [[12, 14]],
    accuracyM: 4,
  };
  test('interpolates between waypoints with the leg’s speed', () => {
    const p = trackPosition(track, 5)!;
    assert.ok(Math.abs(p.lat - 52.52005) < 1e-9 && p.lon === 13.405);
    assert.ok(Math.abs(p.speedMps - distanceM(track.waypoints[0]!, track.waypoints[1]!) / 10) < 1e-9);
  });
  test('has no position inside a loss window, and loops after the last waypoint', () => {
    assert.equal(trackPosition(track, 13), undefined);
    assert.ok(trackPosition(track, 14));
    assert.deepEqual(trackPosition(track, 25), trackPosition(track, 5));
  });
  test('distance: 1e-4 degrees of latitude is about 11.1 m', () => {
    assert.ok(Math.abs(distanceM({ lat: 52.52, lon: 13.405 }, { lat: 52.5201, lon: 13.405 }) - 11.12) < 0.05);
  });
});

describe('clock provenance per segment', () => {
  const clock = (o: Partial<ClockReport>): ClockReport => ({ source: 'system', synced: false, rtc: { present: false, device: null, driftS: null }, offsetS: null, stratum: null, checkedAt: '', ...o });
  test('a fresh GNSS fix measures the offset of the system clock against the receiver’s time', () => {
    const f = fix('3d', 52.52, 1000, { fixTime: '2026-01-01T00:00:00.000Z', receivedAt: Date.parse('2026-01-01T00:01:30.250Z') });
    assert.deepEqual(timeProvenance(clock({}), f, 2000), { source: 'gnss', synced: false, offset_s: 90.25 });
    const g = fix('3d', 52.52, 1000, { fixTime: '2026-01-01T00:00:00.000Z', receivedAt: Date.parse('2026-01-01T00:00:00.300Z') });
    assert.deepEqual(timeProvenance(clock({}), g, 2000), { source: 'gnss', synced: true, offset_s: 0.3 });
  });
  test('a stale fix or no fix falls back to the time daemon, then the RTC, then none', () => {
    const stale = fix('3d', 52.52, 0);
    assert.deepEqual(timeProvenance(clock({ source: 'chrony', synced: true, offsetS: 0.002 }), stale, 6000), { source: 'ntp', synced: true, offset_s: 0.002 });
    assert.deepEqual(timeProvenance(clock({ rtc: { present: true, device: '/dev/rtc0', driftS: -3 } }), fix('none', null, 0), 0), { source: 'rtc', synced: false, offset_s: 3 });
    assert.deepEqual(timeProvenance(clock({}), undefined, 0), { source: 'none', synced: false, offset_s: null });
    assert.deepEqual(timeProvenance(undefined, undefined, 0), { source: 'none', synced: false, offset_s: null });
  });
});

describe('wall-clock step detection', () => {
  test('a jump of the wall clock against the monotonic clock is a step, with the time before and after', () => {
    let wall = 1_000_000;
    let mono = 0;
    const d = new ClockStepDetector(() => wall, () => mono, 1000);
    wall += 1000;
    mono += 1000;
    assert.equal(d.check(), undefined);
    wall += 1000 + 90_000;
    mono += 1000;
    assert.deepEqual(d.check(), { stepMs: 90_000, beforeMs: 1_002_000, afterMs: 1_092_000 });
    wall += 1000;
    mono += 1000;
    assert.equal(d.check(), undefined, 'one step is reported once');
    wall -= 5000;
    mono += 1000;
    assert.equal(d.check()?.stepMs, -6000);
  });
  test('slew and timer latency below the threshold are not steps', () => {
    let wall = 0;
    let mono = 0;
    const d = new ClockStepDetector(() => wall, () => mono, 1000);
    wall += 1300;
    mono += 1000;
    assert.equal(d.check(), undefined);
  });
});
