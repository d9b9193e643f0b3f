/**
 * Retention: what stays on the camera after an upload. A shift is deleted locally only after
 * central confirmed the exact manifest it received (`confirmReceipt`), never while a legal hold
 * is on it, and only the files that are what central holds (named in the manifest, still their
 * uploaded size). A deletion a crash interrupted, or one a legal hold blocked, happens on a later
 * pass (`deletePending`, run before every scheduling decision).
 *
 * Journal: `confirmed`, `confirm_rejected`, `delete_blocked` (once per shift and run of the agent)
 * and `deleted`, each before the act it records.
 */
import { readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir } from '../lib/atomic.js';
import type { Logger } from '../lib/log.js';
import { getLegalHold } from '../evidence/legal-hold.js';
import type { Manifest, ManifestFile } from './manifest.js';
import { SHIFT_ID, type OffloadQueue } from './queue.js';
import { loadManifest, loadReceipt, loadUploadState, saveReceipt, type Receipt, type UploadState } from './state.js';
import type { ConfirmResult, OffloadJournal } from './types.js';

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** Where retention finds a shift's files. */
export interface RetentionHost {
  readonly dataDir: string;
  shiftDir(shiftId: string): string;
}

export class Retention {
  /** Shifts whose blocked deletion is journaled already (once per run, not once per poll). */
  private readonly holdJournaled = new Set<string>();

  constructor(private readonly host: RetentionHost, private readonly queue: OffloadQueue, private readonly journal: OffloadJournal, private readonly log: Logger) {}

  confirmReceipt(shiftId: string, manifestSha256: string, via: string): ConfirmResult {
    const reject = (reason: string): ConfirmResult => {
      this.journal({ event: 'confirm_rejected', shift: shiftId, manifest_sha256: manifestSha256, reason, via });
      this.log.warn('offload confirmation rejected', { shift: shiftId, reason });
      return { accepted: false, reason };
    };
    const malformed = malformedConfirmation(shiftId, manifestSha256);
    if (malformed) return reject(malformed);
    const given = manifestSha256.toLowerCase();
    const dataDir = this.host.dataDir;
    const manifest = loadManifest(dataDir, shiftId);
    const up = loadUploadState(dataDir, shiftId);
    const mismatch = confirmationMismatch(shiftId, given, manifest?.sha256, up);
    if (mismatch || !manifest) return reject(mismatch ?? `shift ${shiftId} has not been offloaded`);
    const receipt = loadReceipt(dataDir, shiftId) ?? { version: 1 as const, shiftId, manifestSha256: manifest.sha256 };
    if (receipt.deletedAt) return { accepted: true, reason: `already confirmed; local copy deleted at ${receipt.deletedAt}` };
    if (!receipt.confirmedAt) {
      receipt.confirmedAt = new Date().toISOString();
      receipt.confirmedVia = via;
      this.journal({ event: 'confirmed', shift: shiftId, manifest_sha256: manifest.sha256, via });
      saveReceipt(dataDir, receipt);
    }
    const e = this.queue.get(shiftId);
    if (e) e.state = 'confirmed';
    const del = this.deleteLocal(shiftId, receipt, manifest.m);
    return { accepted: true, reason: `receipt confirmed; ${del}` };
  }

  /** Deletes confirmed shifts whose deletion is still due (after a crash, or a legal hold lifted). */
  deletePending(): void {
    for (const e of this.queue.values()) {
      if (e.state !== 'confirmed') continue;
      const receipt = loadReceipt(this.host.dataDir, e.shiftId);
      const manifest = loadManifest(this.host.dataDir, e.shiftId);
      if (!receipt || !manifest || !deletionDue(receipt, manifest.sha256)) continue;
      if (getLegalHold(this.host.dataDir, e.shiftId)) continue;
      this.deleteLocal(e.shiftId, receipt, manifest.m);
    }
  }

  private deleteLocal(shiftId: string, receipt: Receipt, manifest: Manifest): string {
    const hold = getLegalHold(this.host.dataDir, shiftId);
    if (hold) {
      if (!this.holdJournaled.has(shiftId)) {
        this.holdJournaled.add(shiftId);
        this.journal({ event: 'delete_blocked', shift: shiftId, reason: 'legal_hold', hold_since: hold.since, hold_reference: hold.reference });
      }
      return `local copy kept: legal hold since ${hold.since}${hold.reference ? ` (${hold.reference})` : ''}`;
    }
    const dir = this.host.shiftDir(shiftId);
    const victims = filesToDelete(manifest.files, (name) => statSync(join(dir, name)).size);
    const bytes = victims.reduce((a, f) => a + f.bytes, 0);
    // Journal first (a record the agent acts on is on disk before the act).
    this.journal({ event: 'deleted', shift: shiftId, manifest_sha256: receipt.manifestSha256, files: victims.length, bytes });
    for (const f of victims) {
      try {
        unlinkSync(join(dir, f.name));
      } catch (e) {
        this.log.warn('cannot delete an offloaded file', { shift: shiftId, file: f.name, err: e });
      }
    }
    let kept: string[] = [];
    try {
      kept = readdirSync(dir);
      if (kept.length === 0) rmdirSync(dir);
      fsyncDir(join(this.host.dataDir, 'shifts'));
    } catch (e) {
      this.log.warn('cannot tidy the shift directory', { shift: shiftId, err: e });
    }
    receipt.deletedAt = new Date().toISOString();
    receipt.deletedFiles = victims.length;
    receipt.deletedBytes = bytes;
    saveReceipt(this.host.dataDir, receipt);
    this.queue.delete(shiftId);
    this.log.info('offloaded shift deleted locally', { shift: shiftId, files: victims.length, bytes, kept: kept.length });
    return `local copy deleted (${victims.length} files, ${bytes} bytes${kept.length ? `; ${kept.length} file(s) not in the manifest kept` : ''})`;
  }
}

/** Why a confirmation is not even worth looking up (a bad shift id or hash), or undefined. */
export function malformedConfirmation(shiftId: unknown, manifestSha256: unknown): string | undefined {
  if (typeof shiftId !== 'string' || !SHIFT_ID.test(shiftId)) return `invalid shift id '${String(shiftId)}'`;
  if (typeof manifestSha256 !== 'string' || !HEX64.test(manifestSha256)) return 'manifest hash must be 64 hex characters';
  return undefined;
}

/**
 * Why central's confirmation (manifest hash `given`, lower case) does not confirm this shift's
 * upload, or undefined: the upload must be complete and of the manifest on disk, and central must
 * name that manifest's hash.
 */
export function confirmationMismatch(shiftId: string, given: string, manifestSha256: string | undefined, upload: UploadState | undefined): string | undefined {
  if (manifestSha256 === undefined || !upload) return `shift ${shiftId} has not been offloaded`;
  if (!upload.completedAt || upload.manifestSha256 !== manifestSha256) return `the upload of shift ${shiftId} is not complete`;
  if (given !== manifestSha256) return `manifest hash mismatch: the uploaded manifest of ${shiftId} is ${manifestSha256}`;
  return undefined;
}

/** A confirmed shift not deleted yet, whose receipt names the manifest on disk. */
export function deletionDue(receipt: Receipt, manifestSha256: string): boolean {
  return !!receipt.confirmedAt && !receipt.deletedAt && receipt.manifestSha256 === manifestSha256;
}

/**
 * Only what was uploaded is deleted, and only when it still has the uploaded size: a file that
 * is not in the manifest (or changed) is not what central holds, so it stays. `sizeOf` throws for
 * a file that is gone.
 */
export function filesToDelete(files: readonly ManifestFile[], sizeOf: (name: string) => number): ManifestFile[] {
  return files.filter((f) => {
    try {
      return sizeOf(f.name) === f.bytes;
    } catch {
      return false;
    }
  });
}
