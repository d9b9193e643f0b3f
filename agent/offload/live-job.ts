/**
 * One live offload batch of a shift that is still recording (docs/live-offload.md), run by the
 * upload worker: reads the shift journal from where the last batch stopped, stages a new journal
 * chunk when a `signature` line has been written since, and uploads every segment the journal
 * has sealed and every chunk not yet stored, oldest first (journal order; a chunk goes after the
 * segments it names).
 *
 * Keys (the contract):
 *   <keyPrefix>/<deviceId>/<shiftId>/<segment file>                 the bytes the manifest will list
 *   <keyPrefix>/<deviceId>/<shiftId>/live/journal-<from>-<to>.jsonl  journal lines from..to (1-based),
 *                                                                    ending on a signature line
 *
 * Bookkeeping under `<data-dir>/offload/<shiftId>/live/`:
 *   live.json                 how far the journal was read (bytes, lines), the chunks cut and the
 *                             segments seen (name, journal line, end, size and SHA-256 once hashed)
 *   journal-<from>-<to>.jsonl a chunk's staged bytes (written before live.json names it, so a crash
 *                             in between cuts the same chunk again, byte for byte)
 *   upload.json, done.jsonl   the uploader's state (stateId `<shiftId>/live`): which objects are
 *                             stored; each done.jsonl line is fdatasynced before it counts
 * The end-of-shift offload takes over what is stored here (uploader.ts `adopt`): it does not send
 * those segments again. Chunks are written once and never replaced (their bytes never change).
 */
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonIfExists, writeFileAtomic, writeJsonAtomic } from '../lib/atomic.js';
import { EvidenceError } from '../lib/errors.js';
import { JOURNAL_FILE } from '../evidence/journal.js';
import { sha256Hex } from './manifest.js';
import { hashFile } from '../evidence/file-hash.js';
import { shiftKeyPrefix, type OffloadJob } from './job.js';
import { liveStateId, loadUploadState, offloadDir } from './state.js';
import type { RunHooks } from './job.js';
import type { UploadItem } from './object-transfer.js';

/** The uploader state's identity for a shift's live uploads (its id: state.ts liveStateId). */
export const LIVE_IDENTITY = 'bodycam-live-offload/1';
export const LIVE_DIR = 'live';

/** A live batch needs what an end-of-shift job needs: the same shift, store and limits. */
export type LiveJob = OffloadJob;

interface LiveSegment {
  readonly name: string;
  /** 1-based journal line of its `segment` record. */
  readonly line: number;
  /** Wall end of its media (ms), from the record. */
  readonly endMs: number | null;
  bytes?: number;
  sha256?: string;
}

interface LiveChunk {
  readonly from: number;
  readonly to: number;
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
  /** `at` of the signature line that ends it: the journal time the chunk is signed through. */
  readonly signedAt: string | null;
}

interface LiveState {
  version: 1;
  shiftId: string;
  /** Journal bytes and lines read (complete lines only). */
  scannedBytes: number;
  scannedLines: number;
  /** Where the next chunk starts (bytes; line = last chunk's `to` + 1). */
  chunkBytes: number;
  chunks: LiveChunk[];
  segments: LiveSegment[];
}

/** An object of the batch, as the agent's status counts it. */
export interface LivePlanItem {
  readonly name: string;
  readonly kind: 'segment' | 'chunk';
  readonly bytes: number;
  readonly endMs: number | null;
}

export interface LiveReport {
  readonly shiftId: string;
  /** Objects stored by this batch (sent now, or found stored by an earlier run). */
  readonly stored: number;
  /** Segments the journal has sealed so far, and how many of them are stored. */
  readonly segmentsSealed: number;
  readonly segmentsStored: number;
  /** The last chunk: its last line and the journal time of its signature. */
  readonly journalThroughLine: number | null;
  readonly journalSignedAt: string | null;
  readonly chunks: number;
}

export interface LiveHooks extends RunHooks {
  /** The objects this batch uploads (not yet stored), oldest first, before any byte is sent. */
  readonly onPlan?: (items: readonly LivePlanItem[]) => void;
  /** An object is stored and its mark is on disk. */
  readonly onStored?: (name: string) => void;
}

const livePath = (dataDir: string, shiftId: string): string => join(offloadDir(dataDir, shiftId), LIVE_DIR, 'live.json');
export const chunkName = (from: number, to: number): string => `${LIVE_DIR}/journal-${String(from).padStart(8, '0')}-${String(to).padStart(8, '0')}.jsonl`;

function loadLiveState(dataDir: string, shiftId: string): LiveState {
  const p = livePath(dataDir, shiftId);
  let v: unknown;
  try {
    v = readJsonIfExists(p);
  } catch (e) {
    throw new EvidenceError(`${p}: unreadable live offload state (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (v === undefined) return { version: 1, shiftId, scannedBytes: 0, scannedLines: 0, chunkBytes: 0, chunks: [], segments: [] };
  const s = v as LiveState;
  if (s.version !== 1 || s.shiftId !== shiftId || !Array.isArray(s.chunks) || !Array.isArray(s.segments)) throw new EvidenceError(`${p} is not a live offload state of shift ${shiftId}`);
  return s;
}

/** Reads the journal from `from` to its end (what exists now; the recording keeps appending). */
function readFrom(path: string, from: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    // Not an EvidenceError: a journal whose failed write was just cut back (journal.ts) grows back
    // to the same bytes when the held records are written again; the next batch reads it then.
    if (size < from) throw new Error(`${path} is ${size} bytes, shorter than the ${from} already read for live offload`);
    const buf = Buffer.allocUnsafe(size - from);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the journal's new complete lines: segments sealed, and the last signature line. Stages a
 * chunk from the last chunk's end through that signature line. Persists the state.
 */
function scan(job: LiveJob, st: LiveState): void {
  const journalPath = join(job.shiftDir, JOURNAL_FILE);
  const buf = readFrom(journalPath, st.scannedBytes);
  const end = buf.lastIndexOf(0x0a) + 1;
  if (end === 0) return;
  let line = st.scannedLines;
  let sig: { line: number; bytes: number; at: string | null } | undefined;
  for (let off = 0; off < end;) {
    const nl = buf.indexOf(0x0a, off);
    line++;
    let rec: { type?: unknown; file?: unknown; end?: unknown; at?: unknown } | undefined;
    try {
      rec = JSON.parse(buf.subarray(off, nl).toString('utf8')) as typeof rec;
    } catch {
      // A damaged line is uploaded as it is (the verifier judges it); it names nothing.
      rec = undefined;
    }
    if (rec?.type === 'segment' && typeof rec.file === 'string') {
      const e = typeof rec.end === 'string' ? Date.parse(rec.end) : NaN;
      st.segments.push({ name: rec.file, line, endMs: Number.isFinite(e) ? e : null });
    } else if (rec?.type === 'signature') {
      sig = { line, bytes: st.scannedBytes + nl + 1, at: typeof rec.at === 'string' ? rec.at : null };
    }
    off = nl + 1;
  }
  const from = (st.chunks.at(-1)?.to ?? 0) + 1;
  if (sig && sig.line >= from) {
    // Lines as written: the bytes from the last chunk's end through the signature line's newline.
    const bytes = st.chunkBytes === st.scannedBytes ? buf.subarray(0, sig.bytes - st.scannedBytes) : readFrom(journalPath, st.chunkBytes).subarray(0, sig.bytes - st.chunkBytes);
    const name = chunkName(from, sig.line);
    // Staged before the state names it: a crash in between cuts the same bytes again.
    writeFileAtomic(join(job.dataDir, 'offload', job.shiftId, name), bytes);
    st.chunks.push({ from, to: sig.line, name, bytes: bytes.length, sha256: sha256Hex(bytes), signedAt: sig.at });
    st.chunkBytes = sig.bytes;
  }
  st.scannedBytes += end;
  st.scannedLines = line;
  writeJsonAtomic(livePath(job.dataDir, job.shiftId), st);
}

/**
 * One batch: scan, then upload what is not stored yet, oldest first. Returns what the journal
 * and the store now hold. Safe to run again at any point (every object is stored once).
 */
export async function runLiveJob(job: LiveJob, hooks: LiveHooks): Promise<LiveReport> {
  const st = loadLiveState(job.dataDir, job.shiftId);
  scan(job, st);
  const stateId = liveStateId(job.shiftId);
  const state = loadUploadState(job.dataDir, stateId);
  const isDone = (name: string): boolean => state?.files[name]?.done === true;
  const prefix = shiftKeyPrefix(job.keyPrefix, job.deviceId, job.shiftId);
  // Journal order: a segment at its record's line, a chunk at its last line (after what it names).
  const todo: Array<{ line: number; seg?: LiveSegment; chunk?: LiveChunk }> = [
    ...st.segments.filter((s) => !isDone(s.name)).map((seg) => ({ line: seg.line, seg })),
    ...st.chunks.filter((c) => !isDone(c.name)).map((chunk) => ({ line: chunk.to + 0.5, chunk })),
  ].sort((a, b) => a.line - b.line);
  const items: UploadItem[] = [];
  const plan: LivePlanItem[] = [];
  let hashed = false;
  for (const t of todo) {
    if (t.seg) {
      const seg = t.seg;
      const path = join(job.shiftDir, seg.name);
      if (seg.sha256 === undefined || seg.bytes === undefined) {
        // Hashed once, here in the worker: the SHA-256 the store checks, the manifest's later.
        const h = await hashFile(path);
        seg.sha256 = h.sha256;
        seg.bytes = h.bytes;
        hashed = true;
      }
      items.push({ name: seg.name, key: prefix + seg.name, path, bytes: seg.bytes, sha256: seg.sha256 });
      plan.push({ name: seg.name, kind: 'segment', bytes: seg.bytes, endMs: seg.endMs });
    } else if (t.chunk) {
      const c = t.chunk;
      items.push({ name: c.name, key: prefix + c.name, path: join(job.dataDir, 'offload', job.shiftId, c.name), bytes: c.bytes, sha256: c.sha256 });
      plan.push({ name: c.name, kind: 'chunk', bytes: c.bytes, endMs: null });
    }
  }
  if (hashed) writeJsonAtomic(livePath(job.dataDir, job.shiftId), st);
  hooks.onPlan?.(plan);
  const report = (stored: number, storedNames: (n: string) => boolean): LiveReport => {
    const through = lastStoredChunk(st.chunks, storedNames);
    return {
      shiftId: job.shiftId, stored,
      segmentsSealed: st.segments.length, segmentsStored: st.segments.filter((s) => storedNames(s.name)).length,
      journalThroughLine: through?.to ?? null, journalSignedAt: through?.signedAt ?? null, chunks: st.chunks.length,
    };
  };
  if (items.length === 0) return report(0, isDone);
  // Loaded here: the agent imports this module's names and must not carry the AWS SDK.
  const [{ createS3Client }, { ShiftUploader }] = await Promise.all([import('./s3.js'), import('./uploader.js')]);
  const s3 = createS3Client(job.target);
  try {
    const up = new ShiftUploader({
      s3, bucket: job.bucket, dataDir: job.dataDir, shiftId: job.shiftId, stateId, manifestSha256: LIVE_IDENTITY,
      items, durableMarks: true,
      partSizeBytes: job.partSizeBytes, concurrency: job.concurrency ?? 2,
      bandwidthKbps: hooks.bandwidthKbps ?? (() => job.bandwidthKbps),
      retryInitialMs: job.retryInitialMs, retryMaxMs: job.retryMaxMs,
      state, log: hooks.log, signal: hooks.signal,
    });
    if (hooks.on?.progress) up.on('progress', hooks.on.progress);
    if (hooks.on?.part) up.on('part', hooks.on.part);
    if (hooks.on?.retry) up.on('retry', hooks.on.retry);
    const stored = new Set<string>();
    up.on('stored', (name) => {
      stored.add(name);
      hooks.onStored?.(name);
    });
    const r = await up.run();
    return report(stored.size, (n) => r.state.files[n]?.done === true);
  } finally {
    s3.destroy();
  }
}

/** The newest chunk such that it and every chunk before it are stored (a verifiable prefix). */
function lastStoredChunk(chunks: readonly LiveChunk[], stored: (n: string) => boolean): LiveChunk | undefined {
  let last: LiveChunk | undefined;
  for (const c of chunks) {
    if (!stored(c.name)) break;
    last = c;
  }
  return last;
}
