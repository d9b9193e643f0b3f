/**
 * The active faults: a name (`encoder_crash`, `storage_full`, `camera`…) with a detail, shown by
 * `bodycam status` and heartbeats, journaled when raised and when cleared, and shown on the
 * status LED (fault pattern) while any is active. Components raise and clear faults here; nobody
 * else writes fault records.
 */
import type { Logger } from '../lib/log.js';
import type { Fields } from '../evidence/journal.js';

export interface FaultSinks {
  /** Journals to the open shift's journal, else the device journal. */
  journal(type: string, fields: Fields): void;
  /** The fault LED pattern on/off. */
  led(on: boolean): void;
  /** Something changed (status listeners). */
  changed(): void;
}

export class FaultRegistry {
  private readonly active = new Map<string, string>();
  private sinks: FaultSinks | undefined;

  constructor(private readonly log: Logger) {}

  /** Connects the registry to the journal and the LED once they exist (faults before that are kept). */
  attach(sinks: FaultSinks): void {
    this.sinks = sinks;
    if (this.active.size) sinks.led(true);
    for (const [fault, detail] of this.active) this.record('fault', { fault, detail });
  }

  has(name: string): boolean {
    return this.active.has(name);
  }
  get size(): number {
    return this.active.size;
  }
  snapshot(): Record<string, string> {
    return Object.fromEntries(this.active);
  }

  /** Raises (or updates) a fault; journaled once per raise. `detail: null` clears it. */
  set(name: string, detail: string | null): void {
    if (detail === null) return this.clear(name);
    if (this.active.get(name) === detail) return;
    const isNew = !this.active.has(name);
    this.active.set(name, detail);
    this.sinks?.led(true);
    if (isNew) {
      this.log.warn('fault', { fault: name, detail });
      this.record('fault', { fault: name, detail });
    }
    this.sinks?.changed();
  }

  /** Raises a fault again even if it is active: one record per occurrence (a new encoder run died). */
  raiseAgain(name: string, detail: string): void {
    this.active.delete(name);
    this.set(name, detail);
  }

  clear(name: string): void {
    if (!this.active.delete(name)) return;
    this.log.info('fault cleared', { fault: name });
    this.record('recovery', { what: 'fault_cleared', fault: name });
    if (this.active.size === 0) this.sinks?.led(false);
    this.sinks?.changed();
  }

  private record(type: string, fields: Fields): void {
    try {
      this.sinks?.journal(type, fields);
    } catch (e) {
      this.log.error('cannot journal a fault change', { err: e, ...fields });
    }
  }
}
