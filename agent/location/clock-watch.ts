/**
 * The clock the evidence is stamped with, watched: every `at` in a journal depends on it, so a
 * change of source or sync state (every 30 s from hal/clock) and a step of the wall clock (checked
 * every second against the monotonic clock) are journaled as `time_sync` records the moment they
 * are seen. A step's record carries the time before and after: later records are on the new
 * clock while segments stay on the timeline their encoder run was anchored to (sealer.ts), and the
 * verifier aligns the two by this record.
 */
import type { ClockSource as Clock, ClockReport } from '../../hal/clock/index.js';
import { sameClockState } from '../../hal/clock/index.js';
import { evidenceClock, type EvidenceClock } from '../lib/evidence-clock.js';
import type { Fields } from '../evidence/journal.js';
import type { Logger } from '../lib/log.js';

export interface ClockWatchOptions {
  readonly clock: Clock;
  /** Journals to the open shift, or the device journal off duty. */
  readonly journal: (type: string, fields: Fields) => void;
  /** Runs in the shift machine's queue, so a record never lands inside a transition. */
  readonly serialize: (fn: () => Promise<void>) => Promise<void>;
  readonly changed: () => void;
  /**
   * After a step is journaled and evidence time moved by `stepMs`: whatever holds a wall time
   * moves with it (journals' floors, the sealer's anchors, the machine's deadlines) and timers
   * armed for a wall-clock instant re-arm (the duty window).
   */
  readonly stepped?: (stepMs: number) => void;
  /** Evidence time (tests: their own); default the agent's one. */
  readonly evidence?: EvidenceClock;
  readonly log: Logger;
  readonly refreshMs?: number;
  readonly stepCheckMs?: number;
}

export class ClockWatch {
  private current: ClockReport | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private stepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ClockWatchOptions) {}

  /** The last report: source, sync state, offset (undefined before start). */
  get report(): ClockReport | undefined {
    return this.current;
  }

  start(): void {
    this.current = this.o.clock.report();
    this.refreshTimer = setInterval(() => void this.o.serialize(() => this.refresh()), this.o.refreshMs ?? 30_000);
    this.refreshTimer.unref();
    const ev = this.o.evidence ?? evidenceClock;
    let stepping = false;
    this.stepTimer = setInterval(() => {
      if (stepping || !ev.check()) return;
      stepping = true;
      void this.o.serialize(async () => {
        try {
          const next = await this.o.clock.refresh();
          this.current = next;
          // As of now (the wall clock may have moved on while queued), and nothing if it came back.
          const step = ev.check();
          if (!step) return;
          this.o.log.warn('wall clock stepped', { stepMs: step.stepMs });
          // One synchronous block: the record on the old evidence time, then evidence time moves,
          // then everything holding a wall time moves with it — nothing is written in between.
          this.o.journal('time_sync', { what: 'step', step_ms: step.stepMs, before: new Date(step.beforeMs).toISOString(), after: new Date(step.afterMs).toISOString(), ...next });
          ev.apply(step);
          this.o.stepped?.(step.stepMs);
          this.o.changed();
        } finally {
          stepping = false;
        }
      });
    }, this.o.stepCheckMs ?? 1000);
    this.stepTimer.unref();
  }

  stop(): void {
    clearInterval(this.refreshTimer);
    clearInterval(this.stepTimer);
  }

  /** Source or sync state changed since the last look: journaled. */
  private async refresh(): Promise<void> {
    const prev = this.current;
    const next = await this.o.clock.refresh();
    this.current = next;
    if (prev && !sameClockState(prev, next)) {
      this.o.log.info('clock changed', { from: prev.source, synced: next.synced, to: next.source });
      this.o.journal('time_sync', { from: { source: prev.source, synced: prev.synced }, ...next });
      this.o.changed();
    }
  }
}
