/**
 * Check-out and check-in at the dock: a dock level change acts only after it held for the
 * policy's debounce (a camera jostled in its cradle must not start a shift). Decisions — whether
 * the policy has the rule on and whether the camera is on duty — are the controller's; this only
 * debounces, on an injected clock, so the tests drive it without sleeping.
 */
import type { Clock, Timer } from '../lib/clock.js';

export interface DockTriggerSink {
  /** The camera has left the dock (held for the debounce). */
  undocked(at: number): void;
  /** The camera is back on the dock (held for the debounce). */
  docked(at: number): void;
}

export class DockTrigger {
  private pending: Timer | undefined;
  /** The level last acted on (or found at start-up): a bounce back to it is no change. */
  private settled: boolean | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly debounceMs: () => number,
    private readonly sink: DockTriggerSink,
  ) {}

  /** A dock edge. `at` is when it happened (wall ms), journaled by the sink. */
  change(docked: boolean, at = this.clock.now()): void {
    this.pending?.cancel();
    this.pending = undefined;
    if (this.settled === docked) return;
    this.pending = this.clock.setTimer(this.debounceMs(), () => {
      this.pending = undefined;
      this.settled = docked;
      if (docked) this.sink.docked(at);
      else this.sink.undocked(at);
    });
  }

  /** The level at start-up: known, so the first edge is judged against it, but never acted on. */
  initial(docked: boolean): void {
    this.settled = docked;
  }

  stop(): void {
    this.pending?.cancel();
    this.pending = undefined;
  }
}
