/**
 * The storage guard: watches the evidence filesystem's free space continuously (statfs every
 * second, and after every sealed segment), not only when a segment is sealed, so a disk filled by
 * something else is noticed before ffmpeg crashes against it.
 *
 *   free < board minFreeMb          → `storage_low` fault, degrade one step (lower bitrate)
 *   free < minFreeMb / 2            → degrade two steps (lower bitrate and frame rate)
 *   free < policy storageFloorMb    → `storage_full` fault; the encoder is stopped (not
 *                                     restarted in a loop against a full disk) and the interval
 *                                     becomes one `storage_full` gap with exact bounds
 *   free ≥ 2 × storageFloorMb       → recording resumes by itself; the gap is closed by the
 *                                     first new segment
 * Below the floor there is still room for the journal: its reserve file (released to the
 * journal when a write finds the disk full) keeps the fault, the gap and shift_end writable.
 * The agent never deletes or overwrites evidence to make room.
 */
import { statfsSync } from 'node:fs';
import type { Logger } from '../lib/log.js';
import type { Policy } from '../config/policy.js';
import type { FaultRegistry } from '../faults/registry.js';
import type { JournalReserve } from '../evidence/journal-reserve.js';

const MiB = 1024 * 1024;

export interface StorageInfo {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

/** What the guard acts on (the recording pipeline). */
export interface Recorder {
  readonly wanted: boolean;
  readonly haltedFor: string | undefined;
  setDegrade(source: string, level: number): void;
  halt(cause: 'storage_full'): Promise<void>;
  proceed(): Promise<void>;
}

export interface StorageGuardOptions {
  readonly dataDir: string;
  readonly minFreeMb: number;
  readonly policy: () => Policy;
  readonly faults: FaultRegistry;
  readonly recorder: Recorder;
  readonly reserve: JournalReserve | undefined;
  /** Runs `fn` in the machine's queue (halts never interleave with transitions). */
  readonly serialize: (fn: () => Promise<void>) => Promise<void>;
  readonly log: Logger;
  readonly pollMs?: number;
}

export class StorageGuard {
  private timer: NodeJS.Timeout | undefined;
  private last: StorageInfo | null = null;
  private busy = false;
  /** Episodes of recording held at the floor (status, tests). */
  episodes = 0;

  constructor(private readonly o: StorageGuardOptions) {}

  start(): void {
    this.o.reserve?.ensure();
    this.check();
    this.timer = setInterval(() => this.check(), this.o.pollMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Last statfs of the data dir (null when it cannot be read). */
  info(): StorageInfo | null {
    return this.last ?? this.read();
  }

  private get floorBytes(): number {
    return this.o.policy().storageFloorMb * MiB;
  }

  /** Fresh: is free space below the floor where recording is held? */
  belowFloor(): { below: boolean; freeBytes: number } {
    const s = this.read();
    return { below: s !== null && s.freeBytes < this.floorBytes, freeBytes: s?.freeBytes ?? 0 };
  }

  /** The journal found the disk full: give it the reserve. True when space was freed. */
  releaseReserve(): boolean {
    const freed = this.o.reserve?.release() ?? 0;
    if (freed > 0) this.o.log.warn('journal reserve released to the journal', { bytes: freed });
    return freed > 0;
  }

  /**
   * At shift start: can the expected shift fit? A warning (fault `storage_forecast`, journaled,
   * so central sees it too) when it cannot; the wearer is told by the caller.
   */
  forecast(bytesPerS: number): { fits: boolean; hours: number; needBytes: number; freeBytes: number } {
    const s = this.read();
    const p = this.o.policy();
    const needBytes = Math.round(bytesPerS * p.expectedShiftH * 3600);
    const usable = Math.max(0, (s?.freeBytes ?? 0) - this.floorBytes);
    const hours = bytesPerS > 0 ? usable / bytesPerS / 3600 : Infinity;
    const fits = usable >= needBytes;
    if (!fits) {
      this.o.faults.set('storage_forecast', `${Math.round(usable / MiB)} MiB usable, a ${p.expectedShiftH} h shift needs ~${Math.round(needBytes / MiB)} MiB at full quality: about ${hours.toFixed(1)} h of recording`);
    } else this.o.faults.clear('storage_forecast');
    return { fits, hours, needBytes, freeBytes: s?.freeBytes ?? 0 };
  }

  shiftClosed(): void {
    this.o.faults.clear('storage_forecast');
  }

  /**
   * One look at free space; acts on thresholds. Also called after every sealed segment. Returns
   * whether free space is below the floor.
   */
  check(): boolean {
    const s = this.read();
    if (!s) return false;
    const low = this.o.minFreeMb * MiB;
    const floor = this.floorBytes;
    const f = s.freeBytes;

    if (f < low) {
      this.o.faults.set('storage_low', `${Math.round(f / MiB)} MiB free (board minimum ${this.o.minFreeMb} MiB)`);
      this.o.recorder.setDegrade('storage', f < low / 2 ? 2 : 1);
    } else if (f > low * 1.1 && this.o.faults.has('storage_low')) {
      this.o.faults.clear('storage_low');
      this.o.recorder.setDegrade('storage', 0);
    }

    if (f >= floor && this.o.reserve && this.o.reserve.heldBytes === 0) this.o.reserve.ensure();

    const below = f < floor;
    if (this.busy) return below;
    const r = this.o.recorder;
    if (f < floor && r.wanted && !r.haltedFor) {
      this.busy = true;
      this.episodes++;
      this.o.faults.set('storage_full', `${Math.round(f / MiB)} MiB free, below the floor of ${this.o.policy().storageFloorMb} MiB: recording held until space returns`);
      this.o.log.error('storage below its floor: encoder stopped until space returns', { freeBytes: f, floorBytes: floor });
      void this.o.serialize(() => r.halt('storage_full')).finally(() => (this.busy = false));
    } else if (f >= 2 * floor && r.haltedFor === 'storage_full') {
      this.busy = true;
      this.o.log.info('storage space returned: recording resumes', { freeBytes: f });
      void this.o.serialize(() => r.proceed()).finally(() => (this.busy = false));
    }
    return below;
  }

  private read(): StorageInfo | null {
    try {
      const st = statfsSync(this.o.dataDir);
      this.last = { freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize };
      return this.last;
    } catch {
      return null;
    }
  }
}
