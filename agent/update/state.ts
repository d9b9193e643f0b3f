/**
 * The update room's persisted state (`<data-dir>/update/state.json`, written atomically): the
 * update under way survives the reboot it causes, which is the whole point — the next boot must
 * know it is a trial boot of the new slot, or that the bootloader fell back.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { readJsonIfExists, writeJsonAtomic } from '../lib/atomic.js';

export type Phase = 'waiting' | 'installing' | 'rebooting' | 'trial' | 'rolling_back';
export type Result = 'good' | 'rolled_back' | 'failed' | 'refused';

export interface Pending {
  readonly version: string;
  readonly sha256: string;
  readonly bundlePath: string;
  /** `bench` or `command:<id>`. */
  readonly source: string;
  readonly allowDowngrade: boolean;
  readonly requestedAt: string;
  phase: Phase;
  fromSlot?: string;
  toSlot?: string;
  /** The boot that wrote the slot (or marked it bad): a restart within it is no reboot. */
  bootId?: string;
  /** Why a trial failed (set before the rollback reboot). */
  failure?: string;
}

export interface Last {
  readonly version: string;
  readonly result: Result;
  readonly at: string;
  readonly reason?: string;
}

export interface UpdateState {
  pending?: Pending;
  last?: Last;
}

export class UpdateStateStore {
  readonly dir: string;
  private readonly file: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'update');
    this.file = join(this.dir, 'state.json');
  }

  load(): UpdateState {
    const v = readJsonIfExists(this.file);
    return typeof v === 'object' && v !== null ? (v as UpdateState) : {};
  }

  save(s: UpdateState): void {
    mkdirSync(this.dir, { recursive: true });
    writeJsonAtomic(this.file, s);
  }
}
