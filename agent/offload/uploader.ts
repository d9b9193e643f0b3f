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
 * died after the body, worker SIGKILLed, power cut) is the file sent again, counted in
 * `stats.putsRepeatedAfterUnknownOutcome`: that resend may leave a second, byte-identical version.
 *
 * Larger files go through a multipart upload: the server's ListParts then says exactly what
 * arrived, so a resume never re-sends a finished part and never creates a second version. Its
 * state is persisted after each part; on resume the server's parts are checked against the local
 * bytes (a part's ETag is its MD5) and only what is missing or different is sent.
 *
 * A small window of files (`concurrency`, default 4) is in flight at once, one part each, so
 * round trips that wait on the OSD overlap while memory stays bounded at `concurrency` parts.
 * Under a bandwidth limit bodies are streamed through one shared limiter, so the limit holds for
 * the sum. */
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { Backoff, sleep } from '../lib/backoff.js';
import { EvidenceError, describe } from '../lib/errors.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/log.js';
import { MANIFEST_FILE, type Manifest } from './manifest.js';
import { RateLimiter, pacedBody } from './throttle.js';
import { httpStatus, s3ErrorName } from './s3.js';
import { DoneLog, clearDoneLog, saveUploadState, type FileUploadState, type PartRecord, type UploadState } from './state.js';

export interface UploadItem {
  readonly name: string;
  readonly key: string;
  readonly path: string;
  readonly bytes: number;
  /** Expected hex SHA-256 of the whole file (from the manifest). */
  readonly sha256: string;
}

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

export interface PartSent {
  readonly file: string;
  readonly n: number;
  readonly size: number;
  /** True when the part was already on the server (resume) and was not sent again. */
  readonly reused: boolean;
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
        await this.withRetry(item.name, () => (put ? this.putFile(item, st, outcome) : this.uploadFile(item, st)));
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

  /** All parts the server holds for an upload (ListParts is paginated at 1000). */
  private async serverParts(key: string, uploadId: string): Promise<Map<number, { etag: string; size: number }> | 'gone'> {
    const parts = new Map<number, { etag: string; size: number }>();
    let marker: string | undefined;
    for (;;) {
      let r;
      try {
        r = await this.o.s3.send(new ListPartsCommand({ Bucket: this.o.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }), { abortSignal: this.ac.signal });
      } catch (e) {
        // An upload that no longer exists: AWS says NoSuchUpload, Ceph NoSuchKey to the bucket owner
        // but AccessDenied to a device restricted by bucket policy (measured on Ceph 16). Only called
        // for uploads not yet being completed, so "gone" here means aborted (lifecycle rule).
        const n = s3ErrorName(e);
        if (n === 'NoSuchUpload' || n === 'NoSuchKey' || n === 'AccessDenied' || httpStatus(e) === 404 || httpStatus(e) === 403) return 'gone';
        throw e;
      }
      for (const p of r.Parts ?? []) if (p.PartNumber !== undefined) parts.set(p.PartNumber, { etag: (p.ETag ?? '').replace(/"/g, ''), size: p.Size ?? -1 });
      if (!r.IsTruncated) return parts;
      marker = r.NextPartNumberMarker;
    }
  }

  private async uploadFile(item: UploadItem, st: FileUploadState): Promise<void> {
    const { s3, bucket } = this.o;
    const signal = this.ac.signal;
    let donePart = 0;
    const setDone = (n: number): void => {
      donePart = n;
      this.partial.set(item.name, n);
    };
    setDone(0);
    const partSize = st.partSize ?? this.o.partSizeBytes;
    const nParts = Math.max(1, Math.ceil(item.bytes / partSize));
    if (st.uploadId && st.completing) {
      // Complete was sent before the interruption; whether it landed is unknowable to a device that
      // may not read (ListParts of a completed upload is AccessDenied to it). Completing again is
      // idempotent (Ceph 16 and S3 answer 200 and store no second version), so send it again.
      const parts = [...st.parts].sort((a, b) => a.n - b.n);
      if (parts.length === nParts && parts.every((p, i) => p.n === i + 1)) {
        await this.complete(item, st, parts);
        this.o.log.info('completed an upload interrupted while completing', { shift: this.o.shiftId, file: item.name });
        setDone(item.bytes);
        return;
      }
      this.o.log.warn('incomplete part record for an upload being completed; asking the server', { shift: this.o.shiftId, file: item.name });
    }
    let server = new Map<number, { etag: string; size: number }>();
    if (st.uploadId) {
      const sp = await this.serverParts(item.key, st.uploadId);
      if (sp === 'gone') {
        // Aborted behind our back (e.g. the bucket's stale-upload lifecycle rule): start over.
        this.o.log.warn('multipart upload vanished from the server; starting it again', { shift: this.o.shiftId, file: item.name });
        st.uploadId = undefined;
        st.parts = [];
        this.state.stats.uploadsRestarted++;
        this.persist();
      } else server = sp;
    }
    if (!st.uploadId) {
      const c = await s3.send(new CreateMultipartUploadCommand({
        Bucket: bucket, Key: item.key, ACL: 'bucket-owner-full-control', ChecksumAlgorithm: 'SHA256',
        ContentType: contentType(item.name),
        Metadata: { 'bodycam-sha256': item.sha256, 'bodycam-shift': this.o.shiftId },
      }), { abortSignal: signal });
      if (!c.UploadId) throw new Error(`CreateMultipartUpload for ${item.key} returned no UploadId`);
      st.uploadId = c.UploadId;
      st.partSize = partSize;
      st.parts = [];
      st.completing = false;
      this.persist();
    }
    const whole = createHash('sha256');
    let fh: FileHandle;
    try {
      fh = await open(item.path, 'r');
    } catch (e) {
      throw new EvidenceError(`cannot open ${item.path} for upload: ${describe(e)}`, { cause: e });
    }
    const done: PartRecord[] = [];
    try {
      const buf = Buffer.allocUnsafe(Math.min(partSize, Math.max(1, item.bytes)));
      if ((await fh.stat()).size !== item.bytes) throw new EvidenceError(`${item.path} is ${(await fh.stat()).size} bytes, the manifest says ${item.bytes}`);
      for (let n = 1; n <= nParts; n++) {
        const off = (n - 1) * partSize;
        const size = Math.min(partSize, item.bytes - off);
        let got = 0;
        while (got < size) {
          const { bytesRead } = await fh.read(buf, got, size - got, off + got);
          if (bytesRead === 0) throw new EvidenceError(`${item.path} ended early at ${off + got} bytes`);
          got += bytesRead;
        }
        const body = buf.subarray(0, size);
        whole.update(body);
        const md5 = createHash('md5').update(body).digest();
        const md5hex = md5.toString('hex');
        const sha = createHash('sha256').update(body).digest('base64');
        const have = server.get(n);
        if (have && have.etag === md5hex && have.size === size) {
          const rec: PartRecord = { n, size, md5: md5hex, sha256: sha, etag: have.etag };
          done.push(rec);
          // Recorded too: a Complete repeated after an interruption needs the full list.
          st.parts = [...st.parts.filter((p) => p.n !== n), rec];
          this.state.stats.partsReused++;
          setDone(donePart + size);
          this.emit('part', { file: item.name, n, size, reused: true });
          this.tick();
          continue;
        }
        if (have) this.o.log.warn('server part differs from local bytes; sending it again', { shift: this.o.shiftId, file: item.name, part: n, serverEtag: have.etag, localMd5: md5hex });
        const paced = this.o.bandwidthKbps() > 0;
        const r = await s3.send(new UploadPartCommand({
          Bucket: bucket, Key: item.key, UploadId: st.uploadId, PartNumber: n, ContentLength: size,
          ContentMD5: md5.toString('base64'), ChecksumSHA256: sha,
          Body: paced
            ? pacedBody(body, this.limiter, signal, (k) => {
              this.sentThisRun += k;
              setDone(donePart + k);
              this.tick();
            })
            // Unlimited: the Buffer as is (a stream costs CPU per chunk for nothing to pace).
            : body,
        }), { abortSignal: signal });
        if (!paced) {
          this.sentThisRun += size;
          setDone(donePart + size);
          this.tick();
        }
        const etag = (r.ETag ?? '').replace(/"/g, '');
        // The server checked Content-MD5; its ETag must be that MD5 too — a cheap end-to-end check.
        if (etag !== md5hex) throw new Error(`part ${n} of ${item.key}: server ETag ${etag} is not the part's MD5 ${md5hex}`);
        const rec: PartRecord = { n, size, md5: md5hex, sha256: sha, etag };
        done.push(rec);
        st.parts = [...st.parts.filter((p) => p.n !== n), rec];
        this.state.stats.partsSent++;
        this.state.stats.bytesSent += size;
        // The last part's record goes out with the "completing" write just below: one fsync less
        // per file (fsyncs dominated the uploader's cost on loopback). ListParts stays the truth.
        if (n < nParts) this.persist();
        this.emit('part', { file: item.name, n, size, reused: false });
      }
    } catch (e) {
      // A failed part's bytes are not "done": progress restarts from what the server confirms.
      setDone(0);
      throw e;
    } finally {
      await fh.close();
    }
    const digest = whole.digest('hex');
    if (digest !== item.sha256) throw new EvidenceError(`${item.path} changed since the manifest was made: SHA-256 ${digest}, manifest ${item.sha256}`);
    st.completing = true;
    this.persist();
    await this.complete(item, st, done);
  }

  /** One PutObject of a file no larger than a part (see the module comment for why it is never aborted once its body is out). */
  private async putFile(item: UploadItem, st: FileUploadState, outcome: { unknown: boolean }): Promise<void> {
    if (this.ac.signal.aborted) throw this.ac.signal.reason;
    const body = await readWhole(item);
    const md5 = createHash('md5').update(body).digest();
    const md5hex = md5.toString('hex');
    const paced = this.o.bandwidthKbps() > 0;
    // An unpaced Buffer is handed to the socket at once: from then on the store may keep it.
    let bodyOut = !paced;
    const req = new AbortController();
    const onAbort = (): void => {
      if (!bodyOut) req.abort(this.ac.signal.reason);
    };
    this.ac.signal.addEventListener('abort', onAbort, { once: true });
    const cmd = new PutObjectCommand({
      Bucket: this.o.bucket, Key: item.key, ACL: 'bucket-owner-full-control', ContentType: contentType(item.name),
      ContentLength: body.length, ContentMD5: md5.toString('base64'),
      Metadata: { 'bodycam-sha256': item.sha256, 'bodycam-shift': this.o.shiftId },
      Body: paced
        ? pacedBody(body, this.limiter, req.signal, (k) => {
          this.sentThisRun += k;
          this.partial.set(item.name, (this.partial.get(item.name) ?? 0) + k);
          if ((this.partial.get(item.name) ?? 0) >= body.length) bodyOut = true;
          this.tick();
        })
        : body,
    });
    // The payload hash SigV4 signs, given rather than computed: the manifest's SHA-256, which the
    // store checks against the bytes it receives.
    cmd.middlewareStack.add((next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = item.sha256;
      return next(args);
    }, { step: 'build', name: 'bodycamPayloadSha256' });
    if (outcome.unknown) {
      this.state.stats.putsRepeatedAfterUnknownOutcome = (this.state.stats.putsRepeatedAfterUnknownOutcome ?? 0) + 1;
      this.o.log.warn('sending a file again whose first PutObject outcome is unknown; the store may keep two identical versions', { shift: this.o.shiftId, file: item.name });
    }
    let r;
    try {
      r = await this.o.s3.send(cmd, { abortSignal: req.signal });
    } catch (e) {
      this.partial.set(item.name, 0);
      if (s3ErrorName(e) === 'XAmzContentSHA256Mismatch') {
        throw new EvidenceError(`${item.path} changed since the manifest was made: the store computed another SHA-256 than the manifest's ${item.sha256}`, { cause: e });
      }
      // No HTTP answer after the whole body was out: stored or not, nobody can tell.
      if (bodyOut && httpStatus(e) === undefined) outcome.unknown = true;
      throw e;
    } finally {
      this.ac.signal.removeEventListener('abort', onAbort);
    }
    const etag = (r.ETag ?? '').replace(/"/g, '');
    if (etag !== md5hex) throw new Error(`${item.key}: server ETag ${etag} is not the file's MD5 ${md5hex}`);
    if (!paced) this.sentThisRun += body.length;
    st.done = true;
    st.put = true;
    if (r.VersionId) st.versionId = r.VersionId;
    this.doneLog.append(item.name, item.key, body.length, r.VersionId, item.sha256);
    this.state.stats.objectsPut = (this.state.stats.objectsPut ?? 0) + 1;
    this.state.stats.partsSent++;
    this.state.stats.bytesSent += body.length;
    this.emit('part', { file: item.name, n: 1, size: body.length, reused: false });
  }

  /** Completes with the full part list (Ceph refuses a subset with InvalidPart). */
  private async complete(item: UploadItem, st: FileUploadState, parts: readonly PartRecord[]): Promise<void> {
    const c = await this.o.s3.send(new CompleteMultipartUploadCommand({
      Bucket: this.o.bucket, Key: item.key, UploadId: st.uploadId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: `"${p.etag}"`, ChecksumSHA256: p.sha256 })) },
    }), { abortSignal: this.ac.signal });
    st.done = true;
    if (c.VersionId) st.versionId = c.VersionId;
    // Not persisted here: the next write (another file's upload id, or the end of the run) carries
    // it, and a crash before that only means one more (idempotent) Complete on resume.
  }
}

/** A whole file of the manifest's size, or an EvidenceError (the evidence is not what the manifest says). */
async function readWhole(item: UploadItem): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(item.path, 'r');
  } catch (e) {
    throw new EvidenceError(`cannot open ${item.path} for upload: ${describe(e)}`, { cause: e });
  }
  try {
    const size = (await fh.stat()).size;
    if (size !== item.bytes) throw new EvidenceError(`${item.path} is ${size} bytes, the manifest says ${item.bytes}`);
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(buf, got, size - got, got);
      if (bytesRead === 0) throw new EvidenceError(`${item.path} ended early at ${got} bytes`);
      got += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

function contentType(name: string): string {
  if (name.endsWith('.ts')) return 'video/mp2t';
  if (name.endsWith('.mp4') || name.endsWith('.m4s')) return 'video/mp4';
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.jsonl')) return 'application/x-ndjson';
  return 'application/octet-stream';
}
