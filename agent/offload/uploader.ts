/**
 * Uploads one closed shift to an S3-compatible store: every evidence file of the shift dir as
 * stored, then `manifest.json` last (its presence in the store means the shift is complete).
 *
 * A file no larger than a part goes up with one PutObject carrying Content-MD5 and, as
 * `x-amz-content-sha256`, the manifest's SHA-256 of the whole file: the store checks both (Ceph 16
 * answers BadDigest / XAmzContentSHA256Mismatch; it ignores x-amz-checksum-sha256 — measured), so
 * what is stored is provably the manifest's bytes, and the SDK does not hash the body again to
 * sign it. Its completion is appended to done.jsonl (state.ts: DoneLog) — no whole-state rewrite
 * per object. A finished file is never sent again.
 *
 * A PutObject is not idempotent on a versioned (Object Lock) bucket, and a write-only device can
 * neither ask whether one landed nor make it conditional (Ceph 16 ignores If-None-Match). So a
 * PutObject whose last byte is out is never aborted: a stop or the agent's death waits for its
 * answer (the worker drains before it exits). Only when the answer is lost for good (connection
 * died after the body, worker SIGKILLed, power cut) is the file sent again: that resend may leave
 * a second, byte-identical version. It is counted in `stats.putsRepeatedAfterUnknownOutcome` when
 * the same run repeats it (a lost connection); after the worker itself died nothing on disk says
 * the first body was out, so that resend is not counted.
 *
 * Larger files go through a multipart upload: the server's ListParts then says exactly what
 * arrived, so a resume never re-sends a finished part and never creates a second version. Its
 * state is persisted after each part; on resume the server's parts are checked against the local
 * bytes (a part's ETag is its MD5) and only what is missing or different is sent.
 *
 * A small window of files (`concurrency`, default 4) is in flight at once, one part each, so
 * round trips that wait on the OSD overlap while memory stays bounded at `concurrency` parts.
 * Under a bandwidth limit bodies are streamed through one shared limiter, so the limit holds for
 * the sum.
 *
 * Each object's transfer — the PutObject, the multipart upload — is in object-transfer.ts; this
 * module runs them: which files, in what order, how many at once, retries, state and progress. */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Backoff, sleep } from '../lib/backoff.js';
import { EvidenceError, describe } from '../lib/errors.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/log.js';
import { MANIFEST_FILE, type Manifest } from './manifest.js';
import { RateLimiter } from './throttle.js';
import { httpStatus, s3ErrorName } from './s3.js';
import { DoneLog, clearDoneLog, saveUploadState, type FileUploadState, type UploadState } from './state.js';
import { putObject, uploadMultipart, type PartSent, type TransferContext, type UploadItem } from './object-transfer.js';

export interface UploadProgress {
  readonly shiftId: string;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesSent: number;
  /** Bytes per second over the recent past (sent bytes only). */
  readonly rateBps: number;
  readonly etaS: number | null;
  readonly file: string | null;
}

export interface UploaderEvents extends Record<string, unknown[]> {
  progress: [UploadProgress];
  part: [PartSent];
  /** A request failed and will be retried after `delayMs`. */
  retry: [error: string, attempt: number, delayMs: number];
  /** A file is stored (or was already: resume, live offload's). */
  stored: [name: string];
}

interface UploaderCommon {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly dataDir: string;
  /** Names the upload's logs and object metadata, and its state unless `stateId` is given. */
  readonly shiftId: string;
  /** Names the upload's state (`<data-dir>/offload/<stateId>/upload.json`, done.jsonl); default `shiftId`. */
  readonly stateId?: string;
  /** Each done.jsonl line is fdatasynced before the file counts as stored (DoneLog `syncEach`). */
  readonly durableMarks?: boolean;
  /** Identity of what is uploaded: persisted state made for another manifest is refused. */
  readonly manifestSha256: string;
  readonly partSizeBytes: number;
  /** Files in flight at once (each holds one part in memory). */
  readonly concurrency?: number;
  /** Current bandwidth limit in kbit/s (0 = unlimited); read continuously. */
  readonly bandwidthKbps: () => number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly state: UploadState | undefined;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/** A closed shift: every file of its manifest, then `manifest.json` last. */
export interface ShiftUploadOptions extends UploaderCommon {
  readonly shiftDir: string;
  readonly manifest: Manifest;
  readonly manifestPath: string;
  readonly manifestBytes: number;
  /** Object key of a file of this shift. */
  readonly keyOf: (name: string) => string;
  /**
   * What live offload (live.ts) stored or began of this shift's files while it recorded, by name:
   * a file with the same key and SHA-256 is taken over — done, or its multipart upload resumed —
   * never sent again (one version per key).
   */
  readonly adopt?: Readonly<Record<string, FileUploadState>>;
}

/** Exactly these objects, in no particular order (a device journal snapshot). */
export interface ItemsUploadOptions extends UploaderCommon {
  readonly items: readonly UploadItem[];
}

export type UploaderOptions = ShiftUploadOptions | ItemsUploadOptions;

export interface UploadResult {
  readonly shiftId: string;
  readonly manifestSha256: string;
  readonly objects: number;
  readonly bytes: number;
  readonly state: UploadState;
}

/** Errors that no retry can fix: the local evidence is not what the manifest says. */
const isFatal = (e: unknown): boolean => e instanceof EvidenceError;

export class ShiftUploader extends TypedEmitter<UploaderEvents> {
  readonly state: UploadState;
  readonly items: UploadItem[];
  private readonly limiter: RateLimiter;
  private bytesDoneFiles = 0;
  /** Bytes done of the files in flight. */
  private readonly partial = new Map<string, number>();
  private filesDone = 0;
  private sentThisRun = 0;
  private rateWindow: Array<{ t: number; sent: number }> = [];
  private lastEmit = 0;
  /** Aborts the other files in flight when one fails for good (or the caller aborts). */
  private readonly ac = new AbortController();
  private readonly doneLog: DoneLog;
  /** What each object's transfer (object-transfer.ts) reads and reports through. */
  private readonly transfer: TransferContext;

  constructor(private readonly o: UploaderOptions) {
    super();
    this.items = 'items' in o
      ? [...o.items]
      : [
        ...o.manifest.files.map((f) => ({ name: f.name, key: o.keyOf(f.name), path: join(o.shiftDir, f.name), bytes: f.bytes, sha256: f.sha256 })),
        { name: MANIFEST_FILE, key: o.keyOf(MANIFEST_FILE), path: o.manifestPath, bytes: o.manifestBytes, sha256: o.manifestSha256 },
      ];
    if (o.state && o.state.manifestSha256 !== o.manifestSha256) {
      throw new EvidenceError(`upload state of ${o.shiftId} belongs to manifest ${o.state.manifestSha256}, not ${o.manifestSha256}`);
    }
    const stateId = o.stateId ?? o.shiftId;
    this.state = o.state ?? {
      version: 1, shiftId: stateId, bucket: o.bucket, manifestSha256: o.manifestSha256, files: {},
      stats: { runs: 0, partsSent: 0, bytesSent: 0, partsReused: 0, uploadsRestarted: 0 },
    };
    this.state.stats.objectsPut ??= 0;
    this.state.stats.putsRepeatedAfterUnknownOutcome ??= 0;
    if ('adopt' in o && o.adopt) this.adoptLive(o.adopt);
    this.limiter = new RateLimiter(o.bandwidthKbps);
    this.doneLog = new DoneLog(o.dataDir, stateId, o.manifestSha256, o.durableMarks ?? false);
    this.transfer = {
      s3: o.s3, bucket: o.bucket, shiftId: o.shiftId, partSizeBytes: o.partSizeBytes, bandwidthKbps: o.bandwidthKbps,
      limiter: this.limiter, signal: this.ac.signal, log: o.log, state: this.state, doneLog: this.doneLog,
      persist: () => this.persist(),
      addSent: (bytes) => { this.sentThisRun += bytes; },
      setInFlight: (name, bytes) => { this.partial.set(name, bytes); },
      tick: () => this.tick(),
      part: (p) => this.emit('part', p),
    };
  }

  /** Takes over what live offload did of the same bytes under the same key (see `adopt`). */
  private adoptLive(adopt: Readonly<Record<string, FileUploadState>>): void {
    for (const item of this.items) {
      const live = adopt[item.name];
      const own = this.state.files[item.name];
      if (!live || live.key !== item.key || live.sha256 !== item.sha256) continue;
      if (own && (own.done || own.uploadId)) continue;
      if (!live.done && !live.uploadId) continue;
      this.state.files[item.name] = { ...live, parts: [...live.parts], live: true };
      if (live.done) this.state.stats.objectsLive = (this.state.stats.objectsLive ?? 0) + 1;
    }
  }

  get bytesTotal(): number {
    return this.items.reduce((a, i) => a + i.bytes, 0);
  }

  progress(): UploadProgress {
    const now = performance.now();
    const w = this.rateWindow;
    const first = w[0];
    const rateBps = first && now - first.t > 200 ? ((this.sentThisRun - first.sent) * 1000) / (now - first.t) : 0;
    let bytesDone = this.bytesDoneFiles;
    for (const b of this.partial.values()) bytesDone += b;
    const left = this.bytesTotal - bytesDone;
    return {
      shiftId: this.o.shiftId,
      bytesDone,
      bytesTotal: this.bytesTotal,
      filesDone: this.filesDone,
      filesTotal: this.items.length,
      bytesSent: this.sentThisRun,
      rateBps: Math.round(rateBps),
      etaS: left === 0 ? 0 : rateBps > 0 ? Math.round(left / rateBps) : null,
      file: this.partial.keys().next().value ?? null,
    };
  }

  private tick(force = false): void {
    const now = performance.now();
    this.rateWindow.push({ t: now, sent: this.sentThisRun });
    // Rate over the last ~10 s: recent enough for an ETA, smooth enough to read.
    while (this.rateWindow.length > 2 && now - this.rateWindow[0]!.t > 10_000) this.rateWindow.shift();
    if (force || now - this.lastEmit > 500) {
      this.lastEmit = now;
      this.emit('progress', this.progress());
    }
  }

  private persist(): void {
    saveUploadState(this.o.dataDir, this.state);
  }

  private async doItem(item: UploadItem): Promise<void> {
    const st = (this.state.files[item.name] ??= { key: item.key, sha256: item.sha256, parts: [] });
    if (!st.done) {
      this.partial.set(item.name, 0);
      // One PutObject unless a multipart upload of it is already under way (resume it: its parts are on the server).
      const put = item.bytes <= this.o.partSizeBytes && !st.uploadId;
      const outcome = { unknown: false };
      try {
        await this.withRetry(item.name, () => (put ? putObject(this.transfer, item, st, outcome) : uploadMultipart(this.transfer, item, st)));
      } finally {
        this.partial.delete(item.name);
      }
    }
    this.bytesDoneFiles += item.bytes;
    this.filesDone++;
    this.emit('stored', item.name);
    this.tick(true);
  }

  async run(): Promise<UploadResult> {
    this.state.stats.runs++;
    this.persist();
    // The state just written holds every line of done.jsonl (folded in when it was loaded).
    clearDoneLog(this.o.dataDir, this.state.shiftId);
    const outer = this.o.signal;
    const onAbort = (): void => this.ac.abort(outer?.reason);
    if (outer?.aborted) onAbort();
    outer?.addEventListener('abort', onAbort, { once: true });
    try {
      // A shift's manifest goes last: its presence in the store means the shift is complete.
      const last = 'items' in this.o ? undefined : this.items.at(-1)!;
      const files = last ? this.items.slice(0, -1) : this.items;
      let next = 0;
      let failure: unknown;
      const lane = async (): Promise<void> => {
        while (next < files.length && failure === undefined) {
          const item = files[next++]!;
          try {
            await this.doItem(item);
          } catch (e) {
            failure ??= e;
            this.ac.abort(e);
          }
        }
      };
      // Every lane settles before we report: no request outlives the run.
      await Promise.all(Array.from({ length: Math.max(1, Math.min(this.o.concurrency ?? 4, files.length)) }, lane));
      if (failure !== undefined) throw failure;
      if (last) await this.doItem(last);
    } finally {
      outer?.removeEventListener('abort', onAbort);
      await this.doneLog.close();
    }
    this.state.completedAt = new Date().toISOString();
    this.persist();
    clearDoneLog(this.o.dataDir, this.state.shiftId);
    this.tick(true);
    return { shiftId: this.o.shiftId, manifestSha256: this.o.manifestSha256, objects: this.items.length, bytes: this.bytesTotal, state: this.state };
  }

  private async withRetry(what: string, fn: () => Promise<void>): Promise<void> {
    const b = new Backoff({ initialMs: this.o.retryInitialMs, maxMs: this.o.retryMaxMs, jitter: 0.5 });
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (this.ac.signal.aborted || isFatal(e)) throw e;
        const d = b.next();
        const msg = `${what}: ${s3ErrorName(e) ?? 'error'}${httpStatus(e) ? ` (HTTP ${httpStatus(e)})` : ''}: ${describe(e)}`;
        this.o.log.warn('upload request failed; retrying', { shift: this.o.shiftId, file: what, error: msg, attempt: b.attempts, delayMs: d });
        this.emit('retry', msg, b.attempts, d);
        await sleep(d, this.ac.signal);
      }
    }
  }
}
