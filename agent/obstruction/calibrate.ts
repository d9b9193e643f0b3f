/**
 * Calibration from measurements (pure): the sensor's noise floor is the frame difference of
 * consecutive analysis frames while the lens is uncovered and the scene still — the median, so
 * a passer-by in a few frames does not raise it. `bodycam selftest --calibrate` feeds it a few
 * seconds of the real camera through the recording ffmpeg's analysis graph.
 */
import { BodycamError } from '../lib/errors.js';
import type { FrameStats } from './analysis-stream.js';
import type { Calibration } from './detectors.js';

/** The measurement cannot give a noise floor (too short, or the camera repeats frames). */
export class CalibrationError extends BodycamError {
  constructor(message: string) {
    super('DEVICE', message);
    this.name = 'CalibrationError';
  }
}
export const isCalibrationError = (e: unknown): e is CalibrationError => e instanceof CalibrationError;

export function calibrateFromFrames(frames: readonly FrameStats[]): Pick<Calibration, 'noiseFloorFrameDiff'> {
  const diffs = frames.flatMap((f) => (f.diff === undefined ? [] : [f.diff])).sort((a, b) => a - b);
  if (diffs.length < 4) throw new CalibrationError(`only ${diffs.length} frame differences: need a few seconds of picture`);
  if (frames.some((f) => f.changed === 0)) throw new CalibrationError('the camera repeats frames (bit-identical): no sensor noise to measure, or the pipeline is frozen');
  const median = diffs[Math.floor(diffs.length / 2)]!;
  return { noiseFloorFrameDiff: Math.round(median * 1000) / 1000 };
}
