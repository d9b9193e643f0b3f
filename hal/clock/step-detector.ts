/**
 * Detects steps of the wall clock: between two checks the wall clock (Date.now) and the monotonic
 * clock (performance.now) must advance alike; when they differ by more than the threshold,
 * someone set the clock (`date -s`, chrony's makestep, timesyncd's first sync, an RTC read). A
 * slewing daemon changes the rate by at most 0.05 % — far below the threshold at a 1 s period.
 * Pure apart from the two clocks it is given, so the unit tests drive both.
 */

export interface ClockStep {
  /** Wall-clock change beyond the monotonic elapsed time, ms (positive = clock set forward). */
  readonly stepMs: number;
  /** What the wall clock would have read now without the step, ms. */
  readonly beforeMs: number;
  /** What it reads now, ms. */
  readonly afterMs: number;
}

/** Below this (ms) a difference is timer latency or slew, not a step. */
export const DEFAULT_STEP_THRESHOLD_MS = 1000;

export class ClockStepDetector {
  private lastWall: number;
  private lastMono: number;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly mono: () => number = () => performance.now(),
    private readonly thresholdMs = DEFAULT_STEP_THRESHOLD_MS,
  ) {
    this.lastWall = now();
    this.lastMono = mono();
  }

  /** Compares both clocks with the last check; returns the step when the wall clock jumped. */
  check(): ClockStep | undefined {
    const wall = this.now();
    const m = this.mono();
    const expected = this.lastWall + (m - this.lastMono);
    this.lastWall = wall;
    this.lastMono = m;
    const stepMs = Math.round(wall - expected);
    if (Math.abs(stepMs) < this.thresholdMs) return undefined;
    return { stepMs, beforeMs: Math.round(expected), afterMs: wall };
  }
}
