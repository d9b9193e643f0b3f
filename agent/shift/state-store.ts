/**
 * The persisted shift state (`<data-dir>/state.json`), written atomically on every transition so
 * that after a crash, reboot or power cut the agent knows at once that a shift was running and
 * resumes it. `clean` tells a clean stop from a crash; `bootId` tells an agent crash from a reboot.
 */
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../lib/atomic.js';
import type { Effect, ShiftState } from './machine.js';
import type { PendingGap } from '../evidence/sealer.js';
import type { Logger } from '../lib/log.js';

export interface PersistedState {
  readonly v: 1;
  readonly shift: ShiftState;
  readonly bootId: string;
  /** Last encoder run number of the open shift. */
  readonly lastRun: number;
  /** True only when the agent stopped cleanly. */
  readonly clean: boolean;
  /** Effects of the last transition not yet carried out (a failed effect is retried). */
  readonly owed?: readonly Effect[];
  /** The open shift's interval without media that had begun and not yet ended. */
  readonly pendingGap?: PendingGap | null;
  readonly at: string;
}

const STATES = new Set(['OFF_DUTY', 'RECORDING', 'PAUSED', 'CLOSING']);

export class StateStore {
  readonly path: string;
  constructor(dataDir: string, private readonly log: Logger) {
    this.path = join(dataDir, 'state.json');
  }

  /** Reads the state; a corrupt file is reported and treated as absent (the journal still tells). */
  load(): PersistedState | undefined {
    try {
      const v = readJsonIfExists(this.path) as PersistedState | undefined;
      if (v === undefined) return undefined;
      if (v.v !== 1 || typeof v.shift !== 'object' || !STATES.has(v.shift?.name)) throw new Error('unexpected content');
      if (v.shift.name !== 'OFF_DUTY' && typeof (v.shift as { shiftId?: unknown }).shiftId !== 'string') throw new Error('shift without id');
      return v;
    } catch (e) {
      this.log.error('state file unreadable; looking for an open shift in the journals', { path: this.path, err: e });
      return undefined;
    }
  }

  save(s: Omit<PersistedState, 'v' | 'at'>): void {
    writeJsonAtomic(this.path, { v: 1, ...s, at: new Date().toISOString() });
  }
}
