/**
 * The offload queue: the closed shifts on disk that are not yet deleted after central's
 * confirmation, each with its state (pending → uploading → uploaded → confirmed, or failed), and
 * the order they upload in: explicit requests first, then oldest first.
 *
 * The queue is rebuilt from disk at start (`scan`): a shift's state is what its offload
 * bookkeeping (state.ts) says, so nothing here needs persisting.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BodycamError, describe } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { isShiftClosed } from './manifest.js';
import { loadManifest, loadReceipt, loadUploadState, type Receipt, type UploadState } from './state.js';
import type { QueueEntry, ShiftOffloadState } from './types.js';

export { SHIFT_ID } from '../evidence/shift-id.js';
import { SHIFT_ID } from '../evidence/shift-id.js';

/** Where the queue finds shifts: the data dir and the shift directory of an id. */
export interface QueueHost {
  readonly dataDir: string;
  shiftDir(shiftId: string): string;
}

export class OffloadQueue {
  private readonly entries = new Map<string, QueueEntry>();

  constructor(private readonly host: QueueHost, private readonly log: Logger) {}

  get(shiftId: string): QueueEntry | undefined {
    return this.entries.get(shiftId);
  }

  /** Forgets a shift (deleted locally after central's confirmation). */
  delete(shiftId: string): void {
    this.entries.delete(shiftId);
  }

  values(): IterableIterator<QueueEntry> {
    return this.entries.values();
  }

  /** Finds closed shifts on disk that are not yet deleted after a confirmation. */
  scan(): void {
    const root = join(this.host.dataDir, 'shifts');
    if (!existsSync(root)) return;
    for (const id of readdirSync(root).sort()) this.add(id);
  }

  add(shiftId: string): void {
    if (!SHIFT_ID.test(shiftId)) return;
    const dir = this.host.shiftDir(shiftId);
    const existing = this.entries.get(shiftId);
    if (existing && existing.state !== 'failed') return;
    try {
      const receipt = loadReceipt(this.host.dataDir, shiftId);
      if (receipt?.deletedAt) return;
      if (!existsSync(dir) || !isShiftClosed(dir)) return;
      const up = loadUploadState(this.host.dataDir, shiftId);
      const manifest = loadManifest(this.host.dataDir, shiftId);
      const bytes = manifest ? manifest.m.files.reduce((a, f) => a + f.bytes, 0) : dirBytes(dir);
      this.entries.set(shiftId, { shiftId, state: stateOnDisk(receipt, up), bytes, manifestSha256: manifest?.sha256, forced: existing?.forced ?? false });
    } catch (e) {
      this.log.error('cannot read offload state of a shift', { shift: shiftId, err: e });
      this.entries.set(shiftId, { shiftId, state: 'failed', bytes: 0, error: describe(e), forced: false });
    }
  }

  /**
   * An explicit request: one shift (throws when it is not a closed shift awaiting offload), or every
   * shift waiting. Failed shifts asked for are read again from disk; what waits is marked forced.
   */
  request(shiftId?: string): void {
    if (shiftId !== undefined) {
      if (!SHIFT_ID.test(shiftId)) throw new BodycamError('USAGE', `invalid shift id '${shiftId}'`);
      const e = this.entries.get(shiftId);
      if (e?.state === 'failed') this.entries.delete(shiftId);
      this.add(shiftId);
      const n = this.entries.get(shiftId);
      if (!n) throw new BodycamError('STATE', `shift ${shiftId} is not a closed shift awaiting offload`);
      n.forced = true;
    } else {
      for (const [id, e] of this.entries) if (e.state === 'failed') this.entries.delete(id);
      this.scan();
      for (const e of this.entries.values()) if (e.state === 'pending') e.forced = true;
    }
  }

  /** The shift to upload next, if any waits. */
  next(): QueueEntry | undefined {
    return nextPending(this.entries.values());
  }
}

/** A shift's state from its bookkeeping: confirmed by central, uploaded completely, or still to upload. */
export function stateOnDisk(receipt: Receipt | undefined, upload: UploadState | undefined): ShiftOffloadState {
  return receipt?.confirmedAt ? 'confirmed' : upload?.completedAt ? 'uploaded' : 'pending';
}

/** The pending entry that goes next. */
export function nextPending(entries: Iterable<QueueEntry>): QueueEntry | undefined {
  const pending = [...entries].filter((e) => e.state === 'pending');
  // Explicit requests first, then oldest first (shift ids begin with their UTC start time).
  pending.sort((a, b) => Number(b.forced) - Number(a.forced) || (a.shiftId < b.shiftId ? -1 : a.shiftId > b.shiftId ? 1 : 0));
  return pending[0];
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) if (f.isFile()) n += statSync(join(dir, f.name)).size;
  return n;
}
