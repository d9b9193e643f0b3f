/**
 * One object's transfer for the uploader (uploader.ts, which holds the why of both): a PutObject
 * for a file no larger than a part — Content-MD5 and the manifest's SHA-256 as the signed payload
 * hash, never aborted once its body is out — or a multipart upload resumed from what the server's
 * ListParts says arrived. Both record into the upload state they are given and report bytes, parts
 * and progress through the context; retries, lanes and the order of files are the uploader's.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { EvidenceError, describe } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { pacedBody, type RateLimiter } from './throttle.js';
import { httpStatus, s3ErrorName } from './s3.js';
import type { DoneLog, FileUploadState, PartRecord, UploadState } from './state.js';

export interface UploadItem {
  readonly name: string;
  readonly key: string;
  readonly path: string;
  readonly bytes: number;
  /** Expected hex SHA-256 of the whole file (from the manifest). */
  readonly sha256: string;
}

export interface PartSent {
  readonly file: string;
  readonly n: number;
  readonly size: number;
  /** True when the part was already on the server (resume) and was not sent again. */
  readonly reused: boolean;
}

/** What a transfer needs from the upload run it belongs to. */
export interface TransferContext {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Names the shift in logs and object metadata. */
  readonly shiftId: string;
  readonly partSizeBytes: number;
  /** Current bandwidth limit in kbit/s (0 = unlimited). */
  readonly bandwidthKbps: () => number;
  /** Shared by every transfer of the run, so a limit holds for the sum. */
  readonly limiter: RateLimiter;
  /** Aborts the transfer (a PutObject whose body is out still waits for its answer). */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** The run's state: a transfer records its file and the stats in it. */
  readonly state: UploadState;
  /** Writes `state` (atomic, fsynced). */
  persist(): void;
  /** Where a PutObject's completion is appended. */
  readonly doneLog: DoneLog;
  /** Bytes put on the wire. */
  addSent(bytes: number): void;
  /** Bytes of this file done so far (0 after a failure: the server's word counts). */
  setInFlight(name: string, bytes: number): void;
  /** Progress may be worth reporting. */
  tick(): void;
  part(p: PartSent): void;
}

/** All parts the server holds for an upload (ListParts is paginated at 1000). */
async function serverParts(cx: TransferContext, key: string, uploadId: string): Promise<Map<number, { etag: string; size: number }> | 'gone'> {
  const parts = new Map<number, { etag: string; size: number }>();
  let marker: string | undefined;
  for (;;) {
    let r;
    try {
      r = await cx.s3.send(new ListPartsCommand({ Bucket: cx.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }), { abortSignal: cx.signal });
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

export async function uploadMultipart(cx: TransferContext, item: UploadItem, st: FileUploadState): Promise<void> {
  const { s3, bucket } = cx;
  const signal = cx.signal;
  let donePart = 0;
  const setDone = (n: number): void => {
    donePart = n;
    cx.setInFlight(item.name, n);
  };
  setDone(0);
  const partSize = st.partSize ?? cx.partSizeBytes;
  const nParts = Math.max(1, Math.ceil(item.bytes / partSize));
  if (st.uploadId && st.completing) {
    // Complete was sent before the interruption; whether it landed is unknowable to a device that
    // may not read (ListParts of a completed upload is AccessDenied to it). Completing again is
    // idempotent (Ceph 16 and S3 answer 200 and store no second version), so send it again.
    const parts = [...st.parts].sort((a, b) => a.n - b.n);
    if (parts.length === nParts && parts.every((p, i) => p.n === i + 1)) {
      await complete(cx, item, st, parts);
      cx.log.info('completed an upload interrupted while completing', { shift: cx.shiftId, file: item.name });
      setDone(item.bytes);
      return;
    }
    cx.log.warn('incomplete part record for an upload being completed; asking the server', { shift: cx.shiftId, file: item.name });
  }
  let server = new Map<number, { etag: string; size: number }>();
  if (st.uploadId) {
    const sp = await serverParts(cx, item.key, st.uploadId);
    if (sp === 'gone') {
      // Aborted behind our back (e.g. the bucket's stale-upload lifecycle rule): start over.
      cx.log.warn('multipart upload vanished from the server; starting it again', { shift: cx.shiftId, file: item.name });
      st.uploadId = undefined;
      st.parts = [];
      cx.state.stats.uploadsRestarted++;
      cx.persist();
    } else server = sp;
  }
  if (!st.uploadId) {
    const c = await s3.send(new CreateMultipartUploadCommand({
      Bucket: bucket, Key: item.key, ACL: 'bucket-owner-full-control', ChecksumAlgorithm: 'SHA256',
      ContentType: contentType(item.name),
      Metadata: { 'bodycam-sha256': item.sha256, 'bodycam-shift': cx.shiftId },
    }), { abortSignal: signal });
    if (!c.UploadId) throw new Error(`CreateMultipartUpload for ${item.key} returned no UploadId`);
    st.uploadId = c.UploadId;
    st.partSize = partSize;
    st.parts = [];
    st.completing = false;
    cx.persist();
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
        cx.state.stats.partsReused++;
        setDone(donePart + size);
        cx.part({ file: item.name, n, size, reused: true });
        cx.tick();
        continue;
      }
      if (have) cx.log.warn('server part differs from local bytes; sending it again', { shift: cx.shiftId, file: item.name, part: n, serverEtag: have.etag, localMd5: md5hex });
      const paced = cx.bandwidthKbps() > 0;
      const r = await s3.send(new UploadPartCommand({
        Bucket: bucket, Key: item.key, UploadId: st.uploadId, PartNumber: n, ContentLength: size,
        ContentMD5: md5.toString('base64'), ChecksumSHA256: sha,
        Body: paced
          ? pacedBody(body, cx.limiter, signal, (k) => {
            cx.addSent(k);
            setDone(donePart + k);
            cx.tick();
          })
          // Unlimited: the Buffer as is (a stream costs CPU per chunk for nothing to pace).
          : body,
      }), { abortSignal: signal });
      if (!paced) {
        cx.addSent(size);
        setDone(donePart + size);
        cx.tick();
      }
      const etag = (r.ETag ?? '').replace(/"/g, '');
      // The server checked Content-MD5; its ETag must be that MD5 too — a cheap end-to-end check.
      if (etag !== md5hex) throw new Error(`part ${n} of ${item.key}: server ETag ${etag} is not the part's MD5 ${md5hex}`);
      const rec: PartRecord = { n, size, md5: md5hex, sha256: sha, etag };
      done.push(rec);
      st.parts = [...st.parts.filter((p) => p.n !== n), rec];
      cx.state.stats.partsSent++;
      cx.state.stats.bytesSent += size;
      // The last part's record goes out with the "completing" write just below: one fsync less
      // per file (fsyncs dominated the uploader's cost on loopback). ListParts stays the truth.
      if (n < nParts) cx.persist();
      cx.part({ file: item.name, n, size, reused: false });
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
  cx.persist();
  await complete(cx, item, st, done);
}

/** One PutObject of a file no larger than a part (uploader.ts's module comment says why it is never aborted once its body is out). */
export async function putObject(cx: TransferContext, item: UploadItem, st: FileUploadState, outcome: { unknown: boolean }): Promise<void> {
  if (cx.signal.aborted) throw cx.signal.reason;
  const body = await readWhole(item);
  const md5 = createHash('md5').update(body).digest();
  const md5hex = md5.toString('hex');
  const paced = cx.bandwidthKbps() > 0;
  // An unpaced Buffer is handed to the socket at once: from then on the store may keep it.
  let bodyOut = !paced;
  /** Bytes of the body handed to the socket so far (paced). */
  let out = 0;
  const req = new AbortController();
  const onAbort = (): void => {
    if (!bodyOut) req.abort(cx.signal.reason);
  };
  cx.signal.addEventListener('abort', onAbort, { once: true });
  const cmd = new PutObjectCommand({
    Bucket: cx.bucket, Key: item.key, ACL: 'bucket-owner-full-control', ContentType: contentType(item.name),
    ContentLength: body.length, ContentMD5: md5.toString('base64'),
    Metadata: { 'bodycam-sha256': item.sha256, 'bodycam-shift': cx.shiftId },
    Body: paced
      ? pacedBody(body, cx.limiter, req.signal, (k) => {
        cx.addSent(k);
        out += k;
        cx.setInFlight(item.name, out);
        if (out >= body.length) bodyOut = true;
        cx.tick();
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
    cx.state.stats.putsRepeatedAfterUnknownOutcome = (cx.state.stats.putsRepeatedAfterUnknownOutcome ?? 0) + 1;
    cx.log.warn('sending a file again whose first PutObject outcome is unknown; the store may keep two identical versions', { shift: cx.shiftId, file: item.name });
  }
  let r;
  try {
    r = await cx.s3.send(cmd, { abortSignal: req.signal });
  } catch (e) {
    cx.setInFlight(item.name, 0);
    if (s3ErrorName(e) === 'XAmzContentSHA256Mismatch') {
      throw new EvidenceError(`${item.path} changed since the manifest was made: the store computed another SHA-256 than the manifest's ${item.sha256}`, { cause: e });
    }
    // No HTTP answer after the whole body was out: stored or not, nobody can tell.
    if (bodyOut && httpStatus(e) === undefined) outcome.unknown = true;
    throw e;
  } finally {
    cx.signal.removeEventListener('abort', onAbort);
  }
  const etag = (r.ETag ?? '').replace(/"/g, '');
  if (etag !== md5hex) throw new Error(`${item.key}: server ETag ${etag} is not the file's MD5 ${md5hex}`);
  if (!paced) cx.addSent(body.length);
  st.done = true;
  st.put = true;
  if (r.VersionId) st.versionId = r.VersionId;
  cx.doneLog.append(item.name, item.key, body.length, r.VersionId, item.sha256);
  cx.state.stats.objectsPut = (cx.state.stats.objectsPut ?? 0) + 1;
  cx.state.stats.partsSent++;
  cx.state.stats.bytesSent += body.length;
  cx.part({ file: item.name, n: 1, size: body.length, reused: false });
}

/** Completes with the full part list (Ceph refuses a subset with InvalidPart). */
async function complete(cx: TransferContext, item: UploadItem, st: FileUploadState, parts: readonly PartRecord[]): Promise<void> {
  const c = await cx.s3.send(new CompleteMultipartUploadCommand({
    Bucket: cx.bucket, Key: item.key, UploadId: st.uploadId,
    MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: `"${p.etag}"`, ChecksumSHA256: p.sha256 })) },
  }), { abortSignal: cx.signal });
  st.done = true;
  if (c.VersionId) st.versionId = c.VersionId;
  // Not persisted here: the next write (another file's upload id, or the end of the run) carries
  // it, and a crash before that only means one more (idempotent) Complete on resume.
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
