/**
 * The sim board's clock: the host's clock, disciplined (as far as the agent can tell) by a
 * timesyncd whose sync state the sim world flips, so tests can drive `time_sync` records.
 * The sim board has no RTC.
 */
import type { ClockReport, ClockSource } from './types.js';

export class SimClock implements ClockSource {
  private last: ClockReport | undefined;

  /** `synced` is read on every refresh (e.g. `() => world.state.clockSynced`). */
  constructor(
    private readonly synced: () => boolean = () => true,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
  }
  async stop(): Promise<void> {}

  report(): ClockReport {
    return this.last ?? this.read();
  }

  async refresh(): Promise<ClockReport> {
    this.last = this.read();
    return this.last;
  }

  private read(): ClockReport {
    return {
      source: 'timesyncd',
      synced: this.synced(),
      rtc: { present: false, device: null, driftS: null },
      offsetS: null,
      stratum: null,
      checkedAt: new Date(this.nowMs()).toISOString(),
    };
  }
}
