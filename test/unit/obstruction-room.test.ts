/**
 * The room hands the board's calibration to the detectors: analysis frames that repeat with a
 * few pixels of rounding (diff 0.002, 5 pixels changed) are a frozen pipeline on a board whose
 * noise floor was calibrated (0.05), and no finding on an uncalibrated one (only bit-identical
 * frames count there). Fake pipeline events and a fake monotonic clock; real parsers, detectors
 * and fault registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { ObstructionRoom } from '../../agent/obstruction/room.js';
import { FaultRegistry } from '../../agent/faults/registry.js';
import { createLogger } from '../../agent/lib/log.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';
import type { Calibration } from '../../agent/obstruction/detectors.js';
import type { RecordingPipeline } from '../../agent/recording/pipeline.js';

function frozenFaultAfter(calibration: Calibration | undefined): { faults: string[]; records: number } {
  const pipeline = new EventEmitter();
  const faults = new FaultRegistry(createLogger('t'));
  let mono = 0;
  let records = 0;
  const room = new ObstructionRoom({
    pipeline: pipeline as unknown as Pick<RecordingPipeline, 'on' | 'off'>,
    policy: () => DEFAULT_POLICY,
    faults,
    journal: () => void records++,
    nag: () => undefined,
    log: createLogger('t'),
    mono: () => mono,
    now: () => 1_700_000_000_000,
    ...(calibration ? { calibration } : {}),
  });
  room.start();
  pipeline.emit('runStarted', 1);
  const base = Buffer.alloc(64 * 36);
  for (let i = 0; i < base.length; i++) base[i] = (i * 37) % 200;
  for (let n = 0; n < 40; n++, mono += 500) {
    const f = Buffer.from(base);
    // Five pixels round differently every other frame: a re-encoded repeat, not sensor noise.
    if (n % 2) for (let k = 0; k < 5; k++) f[k * 400] = f[k * 400]! + 1;
    pipeline.emit('analysis', 1, 'video', f);
  }
  const active = room.active().map((a) => a.kind);
  room.stop();
  return { faults: active, records };
}

test('calibrated noise floor: near-repeats are frozen; uncalibrated: only bit-identical frames are', () => {
  const cal = frozenFaultAfter({ noiseFloorFrameDiff: 0.05 });
  assert.deepEqual(cal.faults, ['frozen']);
  assert.ok(cal.records >= 1);
  const uncal = frozenFaultAfter(undefined);
  assert.deepEqual(uncal.faults, []);
  assert.equal(uncal.records, 0);
});
