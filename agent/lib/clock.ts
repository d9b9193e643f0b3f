/**
 * Time as a dependency: policy code asks a Clock, so tests drive it with FakeClock and never
 * sleep. `now()` is wall-clock ms (for the journal); `mono()` is monotonic ms (for durations:
 * an NTP step must not shorten a pause or fire a timer early).
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  mono(): number;
  setTimer(ms: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  mono: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Deterministic clock for tests: time moves only through `advance`. */
export class FakeClock implements Clock {
  private t: number;
  private m = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  constructor(startWallMs = Date.UTC(2026, 0, 1)) {
    this.t = startWallMs;
  }
  now(): number {
    return this.t;
  }
  mono(): number {
    return this.m;
  }
  setTimer(ms: number, fn: () => void): Timer {
    const id = ++this.seq;
    this.timers.set(id, { at: this.m + Math.max(0, ms), fn });
    return { cancel: () => this.timers.delete(id) };
  }
  /** Moves time forward, firing due timers in order (timers set by callbacks fire too). */
  advance(ms: number): void {
    const end = this.m + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, tm] of this.timers) if (tm.at <= end && tm.at < nextAt) { nextAt = tm.at; nextId = id; }
      if (nextId < 0) break;
      const tm = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.t += tm.at - this.m;
      this.m = tm.at;
      tm.fn();
    }
    this.t += end - this.m;
    this.m = end;
  }
  /** The wall clock steps (an NTP correction, an RTC set): monotonic time and timers do not move. */
  step(ms: number): void {
    this.t += ms;
  }
  get pendingTimers(): number {
    return this.timers.size;
  }
}
