/**
 * The hash pool (agent/evidence/hash-pool.ts) on real files: each outcome at its path's place
 * whatever thread hashed it, files larger than the read buffer streamed through it, unreadable
 * paths reported as their fs error (not thrown, not skipped), and a cancelled job ends its workers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HASH_CHUNK } from '../../agent/evidence/file-hash.js';
import { hashFiles, hashThreadsFor, startHashing, type HashOutcome } from '../../agent/evidence/hash-pool.js';

let dir: string;
let paths: string[];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hash-pool-'));
  const sizes = [0, 1, 4096, HASH_CHUNK - 1, HASH_CHUNK, HASH_CHUNK + 1, 5 * HASH_CHUNK + 17, ...Array.from({ length: 40 }, (_, i) => 1000 * (i + 1))];
  paths = sizes.map((n, i) => {
    const p = join(dir, `f${String(i).padStart(3, '0')}`);
    writeFileSync(p, randomBytes(n));
    return p;
  });
  mkdirSync(join(dir, 'a-directory'));
  // Unreadable entries in the middle: their outcome must land at their own place.
  paths.splice(3, 0, join(dir, 'no-such-file'));
  paths.splice(10, 0, join(dir, 'a-directory'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function expected(p: string): HashOutcome | string {
  try {
    const b = readFileSync(p);
    return { bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
  } catch (e) {
    return (e as NodeJS.ErrnoException).code!;
  }
}

const view = (o: HashOutcome): HashOutcome | string => (o instanceof Error ? (o as NodeJS.ErrnoException).code! : o);

test('every outcome is at its path’s place on the calling thread and on 2 or 4 workers; large files streamed; unreadable paths are their fs error', async () => {
  const want = paths.map(expected);
  assert.equal(want[3], 'ENOENT');
  assert.equal(want[10], 'EISDIR');
  for (const threads of [1, 2, 4]) {
    const got = await hashFiles(paths, threads);
    assert.deepEqual(got.map(view), want, `${threads} thread(s)`);
  }
});

test('a cancelled job stops its workers and its outcomes reject', async () => {
  const many = Array.from({ length: 2000 }, (_, i) => paths[7 + (i % 40)]!);
  const job = startHashing(many, 2);
  job.cancel();
  await assert.rejects(job.outcomes, /exited|cancelled/);
});

test('small jobs are hashed on the calling thread; large ones on one thread per core', () => {
  assert.equal(hashThreadsFor(1, 1 << 30), 1);
  assert.equal(hashThreadsFor(10, 1 << 20), 1);
  assert.equal(hashThreadsFor(21_600, 2.65e9), availableParallelism());
  assert.equal(hashThreadsFor(300, 300 * 4096), availableParallelism());
});
