/**
 * Offload bookkeeping under `<data-dir>/offload/<shift-id>/` (outside the shift dir, which holds
 * evidence only):
 *   manifest.json   the manifest, written once (its bytes are what central confirms)
 *   upload.json     the upload's progress: per file the multipart upload id and the parts sent
 *                   (written atomically after every part of a multipart upload; resume reads it
 *                   and asks the server's ListParts what actually arrived)
 *   done.jsonl      one line per file stored with a single PutObject, appended when the store
 *                   answered (see DoneLog); folded into upload.json when the state is loaded
 *   receipt.json    central's confirmation and the local deletion (written by the agent)
 *   live/           live offload while the shift recorded (live-job.ts): live.json, the staged
 *                   journal chunks, and the uploader's upload.json/done.jsonl (stateId
 *                   `<shiftId>/live`), which the end-of-shift upload takes over
 */
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../lib/atomic.js';
import { EvidenceError } from '../lib/errors.js';
import { sha256Hex, type Manifest } from './manifest.js';

export const offloadRoot = (dataDir: string): string => join(dataDir, 'offload');
export const offloadDir = (dataDir: string, shiftId: string): string => join(offloadRoot(dataDir), shiftId);

export interface PartRecord {
  readonly n: number;
  readonly size: number;
  /** Hex MD5 of the part (what S3 returns as the part's ETag; sent base64 as Content-MD5). */
  readonly md5: string;
  /** Base64 SHA-256 of the part (sent as x-amz-checksum-sha256; Ceph 16 does not check it). */
  readonly sha256: string;
  readonly etag: string;
}

export interface FileUploadState {
  readonly key: string;
  /** Hex SHA-256 of the whole file (what was promised to the store); live offload's uploads are taken over by it. */
  sha256?: string;
  /** Taken over from live offload (the end-of-shift offload did not send it). */
  live?: boolean;
  uploadId?: string;
  /** Part size this upload was cut with (a config change must not re-slice an upload in progress). */
  partSize?: number;
  /** Set (and persisted) before CompleteMultipartUpload is sent: a vanished upload then means "completed". */
  completing?: boolean;
  done?: boolean;
  /** Stored with one PutObject (no multipart upload): `parts` stays empty. */
  put?: boolean;
  versionId?: string;
  parts: PartRecord[];
}

export interface UploadState {
  version: 1;
  shiftId: string;
  bucket: string;
  manifestSha256: string;
  files: Record<string, FileUploadState>;
  completedAt?: string;
  /** Counters over all runs: what was transmitted and what a resume found already on the server. */
  stats: {
    runs: number; partsSent: number; bytesSent: number; partsReused: number; uploadsRestarted: number;
    /** Files stored with one PutObject (also counted in partsSent/bytesSent). */
    objectsPut?: number;
    /** Files live offload had stored while the shift recorded (not sent again). */
    objectsLive?: number;
    /**
     * PutObjects sent again after an attempt whose outcome was unknowable (the connection died
     * after the whole body was out): a write-only device cannot ask, and Ceph 16 ignores
     * If-None-Match, so such a resend may leave a second, byte-identical version.
     */
    putsRepeatedAfterUnknownOutcome?: number;
  };
}

export interface Receipt {
  version: 1;
  shiftId: string;
  manifestSha256: string;
  confirmedAt?: string;
  /** Who/what confirmed (e.g. `central:mqtt`). */
  confirmedVia?: string;
  deletedAt?: string;
  deletedFiles?: number;
  deletedBytes?: number;
}

export const uploadStatePath = (dataDir: string, shiftId: string): string => join(offloadDir(dataDir, shiftId), 'upload.json');
export const receiptPath = (dataDir: string, shiftId: string): string => join(offloadDir(dataDir, shiftId), 'receipt.json');
export const manifestPath = (dataDir: string, shiftId: string): string => join(offloadDir(dataDir, shiftId), 'manifest.json');

/** The shift's manifest as written for its upload, and the SHA-256 of its bytes (what central confirms); undefined before the first upload. */
export function loadManifest(dataDir: string, shiftId: string): { m: Manifest; sha256: string } | undefined {
  let b: Buffer;
  try {
    b = readFileSync(manifestPath(dataDir, shiftId));
  } catch {
    return undefined;
  }
  return { m: JSON.parse(b.toString('utf8')) as Manifest, sha256: sha256Hex(b) };
}

/** readJsonIfExists with the file named in the error (a bare "Unexpected end of JSON input" helps nobody). */
function readState(path: string): unknown {
  try {
    return readJsonIfExists(path);
  } catch (e) {
    throw new EvidenceError(`${path}: unreadable offload state (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
}

function check<T>(v: unknown, path: string, ok: (o: Record<string, unknown>) => boolean): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || !ok(v as Record<string, unknown>)) throw new EvidenceError(`${path} is not a valid offload state file`);
  return v as T;
}

export const doneLogPath = (dataDir: string, shiftId: string): string => join(offloadDir(dataDir, shiftId), 'done.jsonl');

/** One line of done.jsonl: file `f` of the upload of manifest `m` is stored (version `v`, `b` bytes, SHA-256 `s`). */
interface DoneLine { m: string; f: string; k: string; b: number; v?: string; s?: string }

export function loadUploadState(dataDir: string, shiftId: string): UploadState | undefined {
  const p = uploadStatePath(dataDir, shiftId);
  const s = check<UploadState>(readState(p), p, (o) => o.version === 1 && typeof o.files === 'object' && typeof o.stats === 'object');
  if (s) foldDoneLog(dataDir, s);
  return s;
}

/**
 * Marks done what done.jsonl says was stored. Lines of another manifest (a device journal
 * snapshot reuses the id) are ignored; a torn last line (power cut mid-append) is skipped: that
 * file is sent again.
 */
function foldDoneLog(dataDir: string, s: UploadState): void {
  let text: string;
  try {
    text = readFileSync(doneLogPath(dataDir, s.shiftId), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const line of text.split('\n')) {
    let d: DoneLine;
    try {
      d = JSON.parse(line) as DoneLine;
    } catch {
      continue;
    }
    if (d.m !== s.manifestSha256 || typeof d.f !== 'string' || typeof d.k !== 'string') continue;
    const f = s.files[d.f];
    if (f?.done) continue;
    s.files[d.f] = { key: d.k, parts: [], done: true, put: true, ...(d.v ? { versionId: d.v } : {}), ...(d.s ? { sha256: d.s } : {}) };
    s.stats.objectsPut = (s.stats.objectsPut ?? 0) + 1;
    s.stats.partsSent++;
    s.stats.bytesSent += d.b;
  }
}

/** The uploader state of a shift's live uploads (live-job.ts): `<data-dir>/offload/<shiftId>/live/`. */
export const liveStateId = (shiftId: string): string => `${shiftId}/live`;

/** What live offload stored or began of a shift, by file name (the end-of-shift offload takes it over). */
export function liveUploads(dataDir: string, shiftId: string): Record<string, FileUploadState> {
  return loadUploadState(dataDir, liveStateId(shiftId))?.files ?? {};
}

export function saveUploadState(dataDir: string, s: UploadState): void {
  writeJsonAtomic(uploadStatePath(dataDir, s.shiftId), s);
}

/**
 * Drops done.jsonl once a saved upload.json holds its lines (call after saveUploadState of a state
 * loaded with them, while no DoneLog of it is open).
 */
export function clearDoneLog(dataDir: string, shiftId: string): void {
  rmSync(doneLogPath(dataDir, shiftId), { force: true });
}

/** Removes an upload's state and its done log (the device journal's next snapshot starts afresh). */
export function removeUploadState(dataDir: string, shiftId: string): void {
  rmSync(uploadStatePath(dataDir, shiftId), { force: true });
  rmSync(doneLogPath(dataDir, shiftId), { force: true });
}

/**
 * The record of files stored with one PutObject, one appended line each. Rewriting upload.json
 * (temp file, fsync, rename, directory fsync, O(files) bytes) per object cost more CPU than the
 * upload itself at 1 MiB segments; an append is one write(2). The line is in the page cache when
 * append() returns, so a SIGKILL of any process loses nothing; fdatasync runs in the background,
 * coalesced (one at a time), so a power cut forgets at most the last few marks — those files are
 * then sent again. A line is appended only after the store answered: an unfinished file is never
 * marked done.
 */
export class DoneLog {
  private fd: number | undefined;
  private syncing = false;
  private dirty = false;
  private idle: Array<() => void> = [];

  /**
   * @param syncEach fdatasync every line before append returns (live offload: a stored object
   *   counts — in status, for the end-of-shift offload — only once its mark survives a power cut).
   */
  constructor(private readonly dataDir: string, private readonly shiftId: string, private readonly manifestSha256: string, private readonly syncEach = false) {}

  append(file: string, key: string, bytes: number, versionId: string | undefined, sha256?: string): void {
    if (this.fd === undefined) {
      mkdirSync(offloadDir(this.dataDir, this.shiftId), { recursive: true });
      this.fd = openSync(doneLogPath(this.dataDir, this.shiftId), 'a', 0o640);
    }
    const line: DoneLine = { m: this.manifestSha256, f: file, k: key, b: bytes, ...(versionId ? { v: versionId } : {}), ...(sha256 ? { s: sha256 } : {}) };
    const buf = Buffer.from(JSON.stringify(line) + '\n');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    if (this.syncEach) {
      fdatasyncSync(this.fd);
      return;
    }
    this.dirty = true;
    this.sync();
  }

  private sync(): void {
    if (this.syncing || this.fd === undefined) return;
    if (!this.dirty) {
      for (const r of this.idle.splice(0)) r();
      return;
    }
    this.syncing = true;
    this.dirty = false;
    fdatasync(this.fd, () => {
      // A failed fdatasync only weakens power-cut durability: the line is written; the next sync retries.
      this.syncing = false;
      this.sync();
    });
  }

  /** Resolves when every appended line is on disk. */
  async flush(): Promise<void> {
    if (this.fd === undefined || (!this.syncing && !this.dirty)) return;
    await new Promise<void>((r) => {
      this.idle.push(r);
      this.sync();
    });
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export function loadReceipt(dataDir: string, shiftId: string): Receipt | undefined {
  const p = receiptPath(dataDir, shiftId);
  return check<Receipt>(readState(p), p, (o) => o.version === 1 && typeof o.manifestSha256 === 'string');
}

export function saveReceipt(dataDir: string, r: Receipt): void {
  writeJsonAtomic(receiptPath(dataDir, r.shiftId), r);
}
