/**
 * Offload of the device journal (`<data-dir>/device-journal.jsonl`: what happens off duty —
 * deletions after central's confirmation, legal holds, commands, faults — is evidence too).
 *
 * Each upload is a **snapshot**: the journal's lines from seq 0 up to and including its last
 * `signature` record, stored as `<prefix>/<deviceId>/device-journal/<first>-<last>-<head8>.jsonl`
 * (seqs zero-padded to 10 digits so keys sort in journal order; head8 = the first 8 hex digits
 * of the chain head after the last line). Why this shape:
 * - from seq 0: every object on its own is a complete journal that `bodycam verify` checks
 *   without any other object (an increment would need the previous head from somewhere else);
 *   the cost is size, and the device journal grows by kilobytes a day against the gigabytes of a
 *   shift's media;
 * - up to the last signature: every object verifies *intact* (no unsigned tail), and lines the
 *   device has not signed yet go with a later snapshot once a signature covers them (the agent
 *   signs the device journal every 20 records and at every clean stop);
 * - a new key per snapshot: with Object Lock an object is never overwritten.
 * The local journal is never deleted or truncated.
 *
 * State under `<data-dir>/offload/device-journal/`:
 *   state.json     `pending` (the snapshot being uploaded) and `uploaded` (recent snapshots: key,
 *                  seq range, head, sha256, bytes) — a snapshot not past the last uploaded seq
 *                  is never made again
 *   snapshot.jsonl the pending snapshot's bytes (the live journal grows while it uploads)
 *   upload.json    the multipart state of the pending snapshot (uploader.ts: resume via ListParts,
 *                  so a crash mid-upload never stores a second version)
 */
import { readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readJsonIfExists, writeFileAtomic, writeJsonAtomic } from '../lib/atomic.js';
import { EvidenceError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { sha256Hex } from './manifest.js';
import { loadUploadState, offloadDir, removeUploadState } from './state.js';
import type { OffloadJob, RunHooks } from './job.js';

export const DEVICE_JOURNAL_FILE = 'device-journal.jsonl';
/** The snapshot's folder next to the shifts in the bucket, and its bookkeeping id (never a shift id: those begin with a date). */
export const DEVICE_JOURNAL_ID = 'device-journal';
/** How many uploaded snapshots the state remembers (only the last one decides what is due). */
const KEEP_UPLOADED = 50;
const SIGNATURE_LINE = /^\{"seq":(\d+),"type":"signature",/;

export interface DeviceJournalSnapshot {
  readonly key: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Chain head after the last line (SHA-256 of the last line's bytes). */
  readonly head: string;
  /** SHA-256 and size of the object's bytes. */
  readonly sha256: string;
  readonly bytes: number;
  readonly uploadedAt?: string;
  readonly versionId?: string;
}

export interface DeviceJournalOffloadState {
  version: 1;
  pending?: DeviceJournalSnapshot;
  uploaded: DeviceJournalSnapshot[];
}

/** What a device-journal job needs: a shift job without the shift. */
export type DeviceJournalJob = Omit<OffloadJob, 'shiftId' | 'shiftDir' | 'concurrency'>;

const stateDir = (dataDir: string): string => offloadDir(dataDir, DEVICE_JOURNAL_ID);
export const deviceJournalStatePath = (dataDir: string): string => join(stateDir(dataDir), 'state.json');
const stagedPath = (dataDir: string): string => join(stateDir(dataDir), 'snapshot.jsonl');

export function loadDeviceJournalState(dataDir: string): DeviceJournalOffloadState {
  const p = deviceJournalStatePath(dataDir);
  let v: unknown;
  try {
    v = readJsonIfExists(p);
  } catch (e) {
    throw new EvidenceError(`${p}: unreadable offload state (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (v === undefined) return { version: 1, uploaded: [] };
  const o = v as Partial<DeviceJournalOffloadState>;
  if (typeof o !== 'object' || o === null || o.version !== 1 || !Array.isArray(o.uploaded)) throw new EvidenceError(`${p} is not a valid offload state file`);
  return o as DeviceJournalOffloadState;
}

function saveState(dataDir: string, s: DeviceJournalOffloadState): void {
  writeJsonAtomic(deviceJournalStatePath(dataDir), { ...s, uploaded: s.uploaded.slice(-KEEP_UPLOADED) });
}

/**
 * The journal's complete lines up to and including its last signature, found from the end (the
 * agent writes `{"seq":N,"type":"signature",…`; the verifier, not this, judges the content).
 */
export function signedPrefix(journal: Buffer): { bytes: Buffer; lastSeq: number; head: string } | undefined {
  let end = journal.lastIndexOf(0x0a); // bytes after it are a torn write: never part of a snapshot
  while (end > 0) {
    const start = journal.lastIndexOf(0x0a, end - 1) + 1;
    // Only the line's beginning is decoded: the signature's fields follow its type.
    const m = SIGNATURE_LINE.exec(journal.subarray(start, Math.min(end, start + 64)).toString('latin1'));
    if (m) return { bytes: journal.subarray(0, end + 1), lastSeq: Number(m[1]), head: sha256Hex(journal.subarray(start, end)) };
    end = start - 1;
  }
  return undefined;
}

export function snapshotKey(keyPrefix: string, deviceId: string, s: { firstSeq: number; lastSeq: number; head: string }): string {
  const pad = (n: number): string => String(n).padStart(10, '0');
  return `${keyPrefix ? keyPrefix + '/' : ''}${deviceId}/${DEVICE_JOURNAL_ID}/${pad(s.firstSeq)}-${pad(s.lastSeq)}-${s.head.slice(0, 8)}.jsonl`;
}

function readJournalFile(dataDir: string): Buffer | undefined {
  try {
    return readFileSync(join(dataDir, DEVICE_JOURNAL_FILE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Is there something to upload: a pending snapshot to finish, or signed lines past the last
 * uploaded snapshot? Cheap enough for the agent's event loop (reads from the end).
 */
export function deviceJournalDue(dataDir: string): boolean {
  const st = loadDeviceJournalState(dataDir);
  if (st.pending) return true;
  const buf = readJournalFile(dataDir);
  const p = buf && signedPrefix(buf);
  return p !== undefined && p.lastSeq > (st.uploaded.at(-1)?.lastSeq ?? -1);
}

/** The pending snapshot's staged bytes when they are intact (a damaged stage is made again). */
function stagedIntact(dataDir: string, s: DeviceJournalSnapshot): boolean {
  try {
    const b = readFileSync(stagedPath(dataDir));
    return b.length === s.bytes && sha256Hex(b) === s.sha256;
  } catch {
    return false;
  }
}

/** Makes the next snapshot pending (staged bytes first, then the state naming them), or undefined: nothing new is signed. */
function prepareSnapshot(job: DeviceJournalJob, st: DeviceJournalOffloadState, log: Logger): DeviceJournalSnapshot | undefined {
  const buf = readJournalFile(job.dataDir);
  const p = buf && signedPrefix(buf);
  if (!p || p.lastSeq <= (st.uploaded.at(-1)?.lastSeq ?? -1)) return undefined;
  const base = { firstSeq: 0, lastSeq: p.lastSeq, head: p.head };
  const snap: DeviceJournalSnapshot = { key: snapshotKey(job.keyPrefix, job.deviceId, base), ...base, sha256: sha256Hex(p.bytes), bytes: p.bytes.length };
  // The multipart state of a finished or abandoned snapshot must not be resumed for this one.
  removeUploadState(job.dataDir, DEVICE_JOURNAL_ID);
  writeFileAtomic(stagedPath(job.dataDir), p.bytes);
  st.pending = snap;
  saveState(job.dataDir, st);
  log.info('device journal snapshot prepared', { key: snap.key, lastSeq: snap.lastSeq, bytes: snap.bytes });
  return snap;
}

/**
 * Uploads the pending device journal snapshot, or makes one of the signed lines not yet uploaded
 * and uploads it. Returns the uploaded snapshot, or undefined when nothing new was signed.
 */
export async function runDeviceJournalJob(job: DeviceJournalJob, hooks: RunHooks): Promise<DeviceJournalSnapshot | undefined> {
  const st = loadDeviceJournalState(job.dataDir);
  if (st.pending && !stagedIntact(job.dataDir, st.pending)) {
    hooks.log.warn('staged device journal snapshot is missing or damaged; making it again', { key: st.pending.key });
    st.pending = undefined;
  }
  const snap = st.pending ?? prepareSnapshot(job, st, hooks.log);
  if (!snap) return undefined;
  // Loaded here, in the upload worker: the agent imports this module for deviceJournalDue and
  // must not carry the AWS SDK (~21 MB of RSS, measured) for it.
  const [{ createS3Client }, { ShiftUploader }] = await Promise.all([import('./s3.js'), import('./uploader.js')]);
  const s3 = createS3Client(job.target);
  try {
    const name = basename(snap.key);
    const up = new ShiftUploader({
      s3, bucket: job.bucket, dataDir: job.dataDir, shiftId: DEVICE_JOURNAL_ID, manifestSha256: snap.sha256,
      items: [{ name, key: snap.key, path: stagedPath(job.dataDir), bytes: snap.bytes, sha256: snap.sha256 }],
      partSizeBytes: job.partSizeBytes, concurrency: 1,
      bandwidthKbps: hooks.bandwidthKbps ?? (() => job.bandwidthKbps),
      retryInitialMs: job.retryInitialMs, retryMaxMs: job.retryMaxMs,
      state: loadUploadState(job.dataDir, DEVICE_JOURNAL_ID),
      log: hooks.log, signal: hooks.signal,
    });
    if (hooks.on?.progress) up.on('progress', hooks.on.progress);
    if (hooks.on?.part) up.on('part', hooks.on.part);
    if (hooks.on?.retry) up.on('retry', hooks.on.retry);
    const r = await up.run();
    const versionId = r.state.files[name]?.versionId;
    const done: DeviceJournalSnapshot = { ...snap, uploadedAt: new Date().toISOString(), ...(versionId ? { versionId } : {}) };
    st.uploaded.push(done);
    st.pending = undefined;
    saveState(job.dataDir, st);
    // Recorded as uploaded first: a crash here only leaves files the next snapshot replaces.
    removeUploadState(job.dataDir, DEVICE_JOURNAL_ID);
    rmSync(stagedPath(job.dataDir), { force: true });
    return done;
  } finally {
    s3.destroy();
  }
}
