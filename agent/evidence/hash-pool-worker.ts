/**
 * One hash-pool thread (hash-pool.ts): takes the next path from the shared counter until none is
 * left, hashes it through one buffer, and posts the outcomes in batches (a message per file would
 * cost the calling thread more than the hashing saves on 122-kB segments).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HASH_CHUNK, hashFileSync } from './file-hash.js';
import type { HashBatch, HashWorkerData } from './hash-pool.js';

const BATCH = 64;
const { paths, next } = workerData as HashWorkerData;
const counter = new Int32Array(next);
const buf = Buffer.allocUnsafe(HASH_CHUNK);
let done: HashBatch['done'] = [];
let failed: HashBatch['failed'] = [];
const post = (last: boolean): void => {
  parentPort!.postMessage({ done, failed, last } satisfies HashBatch);
  done = [];
  failed = [];
};
for (;;) {
  const i = Atomics.add(counter, 0, 1);
  if (i >= paths.length) break;
  try {
    const d = hashFileSync(paths[i]!, buf);
    done.push({ i, bytes: d.bytes, sha256: d.sha256 });
  } catch (e) {
    failed.push({ i, message: (e as Error).message, code: (e as NodeJS.ErrnoException).code });
  }
  if (done.length + failed.length === BATCH) post(false);
}
post(true);
