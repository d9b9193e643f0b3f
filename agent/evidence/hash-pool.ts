/**
 * Hashes many files on every core (issue 27): `bodycam verify` and central ingest hash every
 * segment of a shift — 21,600 files for a 12-hour shift — and one thread of SHA-256 is slower than
 * the disk and page cache. Worker threads (hash-pool-worker.ts) take the next file from a shared
 * counter, so the work balances itself without the calling thread handing it out: the caller may
 * go on with the journal's chain and signatures meanwhile. Each worker hashes one file at a time
 * through one buffer (file-hash.ts): memory is bounded by the thread count, whatever the files'
 * sizes.
 *
 * The outcomes come back in the order of the paths given, whatever order the workers finished
 * in: the caller reports from them in its own order, so its findings do not depend on timing.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { hashFileSync, type FileDigest } from './file-hash.js';

/** A file's digest, or why it could not be read (an Error with the fs `code` when there is one). */
export type HashOutcome = FileDigest | Error;

/** What a worker posts: outcomes by path index, and `last` once it has taken its last path. */
export interface HashBatch {
  readonly done: Array<{ readonly i: number; readonly bytes: number; readonly sha256: string }>;
  readonly failed: Array<{ readonly i: number; readonly message: string; readonly code: string | undefined }>;
  readonly last: boolean;
}

export interface HashWorkerData {
  readonly paths: readonly string[];
  /** Int32 [0]: the index of the next path to take (Atomics.add). */
  readonly next: SharedArrayBuffer;
}

/**
 * Below this much work a worker's start-up (~20–40 ms on this 2-core box) costs more than the
 * second core saves: hash on the calling thread.
 */
const PARALLEL_MIN_BYTES = 16 << 20;
const PARALLEL_MIN_FILES = 256;

/** Threads worth starting for `files` files of `bytes` bytes in all: 1 (inline) or one per core. */
export function hashThreadsFor(files: number, bytes: number): number {
  if (files < 2 || (bytes < PARALLEL_MIN_BYTES && files < PARALLEL_MIN_FILES)) return 1;
  return Math.max(1, Math.min(availableParallelism(), files));
}

export interface HashJob {
  /** One outcome per path, in the order of the paths. */
  readonly outcomes: Promise<HashOutcome[]>;
  /** Stops the workers (a caller that gave up on the outcomes); `outcomes` then rejects. */
  cancel(): void;
}

const failure = (message: string, code: string | undefined): Error => Object.assign(new Error(message), code === undefined ? {} : { code });

function hashInline(paths: readonly string[]): HashOutcome[] {
  const buf = Buffer.allocUnsafe(1024 * 1024);
  return paths.map((p) => {
    try {
      return hashFileSync(p, buf);
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  });
}

/**
 * Starts hashing `paths` on `threads` worker threads (≤ 1: on this thread, when the outcomes are
 * first awaited). The returned job's `outcomes` is already guarded against an unhandled rejection:
 * a caller that fails before awaiting it should `cancel()` it.
 */
export function startHashing(paths: readonly string[], threads: number): HashJob {
  const n = Math.min(threads, paths.length);
  if (n <= 1) {
    let cancelled = false;
    const outcomes = Promise.resolve().then(() => {
      if (cancelled) throw new Error('hashing cancelled');
      return hashInline(paths);
    });
    outcomes.catch(() => undefined);
    return { outcomes, cancel: () => void (cancelled = true) };
  }
  const workers: Worker[] = [];
  const outcomes = new Promise<HashOutcome[]>((resolve, reject) => {
    const out: HashOutcome[] = new Array<HashOutcome>(paths.length);
    const data: HashWorkerData = { paths, next: new SharedArrayBuffer(4) };
    let finished = 0;
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      for (const w of workers) void w.terminate();
      reject(e);
    };
    for (let k = 0; k < n; k++) {
      const w = new Worker(new URL('./hash-pool-worker.js', import.meta.url), { workerData: data });
      let last = false;
      w.on('message', (b: HashBatch) => {
        for (const d of b.done) out[d.i] = { bytes: d.bytes, sha256: d.sha256 };
        for (const f of b.failed) out[f.i] = failure(f.message, f.code);
        if (b.last) {
          last = true;
          if (++finished === n && !settled) {
            settled = true;
            resolve(out);
          }
        }
      });
      w.on('error', (e) => fail(new Error(`a hash worker failed: ${e.message}`, { cause: e })));
      w.on('exit', (code) => {
        if (!last) fail(new Error(`a hash worker exited (code ${code}) before its last file`));
      });
      workers.push(w);
    }
  });
  outcomes.catch(() => undefined);
  return { outcomes, cancel: () => workers.forEach((w) => void w.terminate()) };
}

/** Hashes `paths` (see startHashing) and waits for every outcome. */
export function hashFiles(paths: readonly string[], threads: number): Promise<HashOutcome[]> {
  return startHashing(paths, threads).outcomes;
}
