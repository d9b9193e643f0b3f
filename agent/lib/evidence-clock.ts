/**
 * Evidence time: the monotonic clock of this boot plus a journaled mapping to wall time. Every
 * time the agent writes into evidence (a record's `at`, a segment's bounds, a gap, a pause's
 * deadline) is read here, never from Date.now() directly, so the wall clock can only move evidence
 * time where a `time_sync` step record says so:
 *
 *   evidence now = wall at the last sync + (monotonic now − monotonic at the last sync)
 *
 * `check()` compares it with the wall clock. A small difference (a slewing NTP daemon, timer
 * latency) is absorbed at once; a larger one is a step, returned for the caller to journal
 * (`time_sync` with before = evidence time, after = wall time) and only then applied with
 * `apply()`. So no record written between the step and its record is on the new clock, and the
 * verifier maps every time written after the step record back by its `step_ms` — one rule for
 * records, segments and gaps, forward and backward steps alike.
 */
import { DEFAULT_STEP_THRESHOLD_MS, type ClockStep } from '../../hal/clock/step-detector.js';

export class EvidenceClock {
  private wallAtSync: number;
  private monoAtSync: number;

  constructor(
    private readonly wall: () => number = Date.now,
    private readonly mono: () => number = () => performance.now(),
    private readonly thresholdMs = DEFAULT_STEP_THRESHOLD_MS,
  ) {
    this.wallAtSync = wall();
    this.monoAtSync = mono();
  }

  /** Evidence time, ms since the epoch (integer). */
  now(): number {
    return Math.round(this.wallAtSync + (this.mono() - this.monoAtSync));
  }

  /**
   * The wall clock against evidence time: below the threshold the difference is absorbed (evidence
   * time follows the wall clock's slew); at or above it the step is returned, not applied.
   */
  check(): ClockStep | undefined {
    const wall = this.wall();
    const ev = this.now();
    const stepMs = wall - ev;
    if (Math.abs(stepMs) < this.thresholdMs) {
      this.sync(wall);
      return undefined;
    }
    return { stepMs, beforeMs: ev, afterMs: wall };
  }

  /** A step journaled: evidence time is the wall clock again from here on. */
  apply(_step: ClockStep): void {
    this.sync(this.wall());
  }

  private sync(wall: number): void {
    this.wallAtSync = wall;
    this.monoAtSync = this.mono();
  }
}

/** The agent's one evidence clock (a process has one boot and one wall clock). */
export const evidenceClock = new EvidenceClock();
