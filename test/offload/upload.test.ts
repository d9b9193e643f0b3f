/**
 * The uploader against a real Ceph RGW set up by the operators' script: complete and byte-identical
 * uploads, the manifest hash, resume after a SIGKILLed upload worker and after a gateway outage
 * without re-sending finished parts, the device's write-only rights and Object Lock retention.
 * Files no larger than a part go up with one PutObject each (the store checks the manifest's
 * SHA-256); the rest as multipart uploads (PART_BYTES is small so that test media does).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, DeleteObjectCommand, PutObjectCommand, ListObjectVersionsCommand,
} from '@aws-sdk/client-s3';
import { startStore, getObject, versions, openUploadBytes, openUploads, BUCKET, PREFIX, PART_BYTES, type Store } from './store.js';
import { makeShift, type ShiftFixture } from './fixtures.js';
import { runOffloadJob, prepareManifest, shiftKeyPrefix, type OffloadJob } from '../../agent/offload/job.js';
import { EvidenceError } from '../../agent/lib/errors.js';
import { createS3Client, httpStatus } from '../../agent/offload/s3.js';
import { doneLogPath, loadUploadState } from '../../agent/offload/state.js';
import { createLogger } from '../../agent/lib/log.js';
import type { Manifest } from '../../agent/offload/manifest.js';
import type { PartSent } from '../../agent/offload/object-transfer.js';

const DEVICE = 'CAM-T1';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const log = createLogger('test.offload');
let store: Store;
const tmp: string[] = [];
const children: ChildProcess[] = [];

before(async () => {
  store = await startStore([DEVICE]);
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await store?.stop();
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'bodycam-offload-'));
  tmp.push(d);
  return d;
}

function job(dir: string, f: ShiftFixture, over: Partial<OffloadJob> = {}): OffloadJob {
  const c = store.deviceCreds.get(DEVICE)!;
  return {
    dataDir: dir, shiftId: f.shiftId, shiftDir: f.dir, deviceId: DEVICE,
    target: { endpoint: store.ceph.endpoint, region: 'default', forcePathStyle: true, credentials: c, requestTimeoutMs: 20_000 },
    bucket: BUCKET, keyPrefix: PREFIX, partSizeBytes: PART_BYTES, bandwidthKbps: 0, retryInitialMs: 200, retryMaxMs: 2000,
    ...over,
  };
}

/** Reads back every object of the shift with the operator's credentials and compares it with the local files. */
async function assertStoredExactly(dir: string, f: ShiftFixture, manifestSha256: string): Promise<Manifest> {
  const prefix = shiftKeyPrefix(PREFIX, DEVICE, f.shiftId);
  const mbytes = await getObject(store.operator, prefix + 'manifest.json');
  assert.equal(sha(mbytes), manifestSha256, 'the stored manifest hashes to the manifest hash');
  assert.deepEqual(mbytes, readFileSync(join(dir, 'offload', f.shiftId, 'manifest.json')), 'stored manifest = local manifest');
  const m = JSON.parse(mbytes.toString('utf8')) as Manifest;
  assert.deepEqual(m.files.map((x) => x.name), f.files, 'the manifest lists every file of the shift dir');
  for (const file of f.files) {
    const local = readFileSync(join(f.dir, file));
    const remote = await getObject(store.operator, prefix + file);
    assert.equal(remote.length, local.length, `${file}: size`);
    assert.ok(remote.equals(local), `${file}: stored bytes are identical to the local file`);
    const entry = m.files.find((x) => x.name === file)!;
    assert.equal(entry.sha256, sha(local), `${file}: manifest SHA-256`);
    assert.equal(entry.bytes, local.length, `${file}: manifest size`);
  }
  const v = await versions(store.operator, prefix);
  assert.equal(v.size, f.files.length + 1, 'one object per file plus the manifest');
  for (const [k, n] of v) assert.equal(n, 1, `${k} stored once (no duplicate versions)`);
  assert.equal(await openUploadBytes(store.operator, prefix), 0, 'no part left in an open multipart upload');
  return m;
}

/** No part was transmitted twice across runs (a reused part is one the server already had). */
function assertNoPartSentTwice(parts: PartSent[]): void {
  const seen = new Set<string>();
  for (const p of parts.filter((x) => !x.reused)) {
    const k = `${p.file}#${p.n}`;
    assert.ok(!seen.has(k), `part ${k} was sent twice`);
    seen.add(k);
  }
}

void test('a closed shift uploads completely; stored objects are byte-identical and the manifest hash matches', { timeout: 120_000 }, async () => {
  const dir = dataDir();
  const f = await makeShift(dir, DEVICE, Date.UTC(2026, 10, 1, 8), { seconds: 6 });
  const parts: PartSent[] = [];
  const r = await runOffloadJob(job(dir, f), { log, on: { part: (p) => parts.push(p) } });
  assert.equal(r.objects, f.files.length + 1);
  assert.ok(parts.some((p) => p.n > 1), 'segments are larger than one part: real multi-part uploads');
  await assertStoredExactly(dir, f, r.manifestSha256);
  const st = loadUploadState(dir, f.shiftId)!;
  assert.ok(st.completedAt, 'state says complete');
  assert.equal(st.stats.partsReused, 0);
  // Running again is a no-op: everything is done, nothing is sent twice.
  const again: PartSent[] = [];
  const r2 = await runOffloadJob(job(dir, f), { log, on: { part: (p) => again.push(p) } });
  assert.equal(r2.manifestSha256, r.manifestSha256, 'the manifest is made once: same bytes, same hash');
  assert.equal(again.length, 0);
  await assertStoredExactly(dir, f, r.manifestSha256);
});

void test('the device credentials cannot read, list or delete (403); a locked object cannot be deleted within retention', { timeout: 120_000 }, async () => {
  const dir = dataDir();
  const f = await makeShift(dir, DEVICE, Date.UTC(2026, 10, 2, 8), { seconds: 2 });
  const r = await runOffloadJob(job(dir, f), { log });
  const key = shiftKeyPrefix(PREFIX, DEVICE, f.shiftId) + 'journal.jsonl';
  const dev = createS3Client({ endpoint: store.ceph.endpoint, region: 'default', forcePathStyle: true, credentials: store.deviceCreds.get(DEVICE)! });
  try {
    const denied = async (what: string, p: Promise<unknown>): Promise<void> => {
      await assert.rejects(p, (e: unknown) => {
        assert.equal(httpStatus(e), 403, `${what}: expected 403, got ${httpStatus(e)}`);
        return true;
      }, `${what} must be refused`);
    };
    await denied('GetObject', dev.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })));
    await denied('HeadObject', dev.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })));
    await denied('ListObjects', dev.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: PREFIX })));
    await denied('DeleteObject', dev.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })));
    // …nor write outside its own prefix (another device's folder).
    const body = Buffer.from('x');
    await denied('PutObject elsewhere', dev.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/OTHER-CAM/x`, Body: body, ContentMD5: createHash('md5').update(body).digest('base64') })));
  } finally {
    dev.destroy();
  }
  // Object Lock: the operator (bucket owner) reads it, sees COMPLIANCE retention >= 30 days, and cannot delete the version.
  const head = await store.operator.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  assert.equal(head.ObjectLockMode, 'COMPLIANCE');
  assert.ok(head.ObjectLockRetainUntilDate!.getTime() - Date.now() > 29.9 * 86400_000, `retained until ${head.ObjectLockRetainUntilDate?.toISOString()}`);
  await assert.rejects(store.operator.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, VersionId: head.VersionId })), (e: unknown) => {
    assert.equal(httpStatus(e), 403);
    return true;
  });
  const vs = await store.operator.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
  assert.equal(vs.Versions?.length, 1, 'the locked version is still there');
  assert.equal(sha(await getObject(store.operator, key)), sha(readFileSync(join(f.dir, 'journal.jsonl'))));
  assert.ok(r.manifestSha256);
});

void test('SIGKILL of the upload worker mid-part: a new worker resumes from ListParts without re-sending finished parts', { timeout: 120_000 }, async () => {
  const dir = dataDir();
  const f = await makeShift(dir, DEVICE, Date.UTC(2026, 10, 3, 8), { seconds: 8 });
  const worker = new URL('../../agent/offload/worker.js', import.meta.url);
  const parts: PartSent[] = [];
  const runWorker = (j: OffloadJob, onPart?: (p: PartSent, c: ChildProcess) => void): Promise<{ code: number | null; signal: string | null; done?: { manifestSha256: string; stats: { partsSent: number; partsReused: number } } }> =>
    new Promise((resolve) => {
      const c = fork(worker, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      children.push(c);
      let done: { manifestSha256: string; stats: { partsSent: number; partsReused: number } } | undefined;
      c.on('message', (m: { type: string; part?: PartSent; result?: typeof done }) => {
        if (m.type === 'part') {
          parts.push(m.part!);
          onPart?.(m.part!, c);
        }
        if (m.type === 'done') done = m.result;
      });
      c.on('exit', (code, signal) => resolve({ code, signal, done }));
      c.send({ type: 'job', job: j });
    });
  // 800 kbit/s: a 64 KiB part takes ~0.65 s on the wire, so the kill lands inside a part.
  let killedAt: PartSent | undefined;
  const first = await runWorker(job(dir, f, { bandwidthKbps: 800 }), (p, c) => {
    // Part 2 of the second segment is on the server: wait into part 3's transfer, then kill.
    if (!killedAt && !p.reused && p.file === 'seg-000002.ts' && p.n === 2) {
      killedAt = p;
      setTimeout(() => c.kill('SIGKILL'), 300);
    }
  });
  assert.equal(first.signal, 'SIGKILL', 'the first worker was killed');
  assert.ok(killedAt);
  const sentBefore = parts.filter((p) => !p.reused).length;
  const st = loadUploadState(dir, f.shiftId)!;
  assert.ok(!st.completedAt);
  const second = await runWorker(job(dir, f));
  assert.equal(second.code, 0);
  assert.ok(second.done, 'the second worker completed');
  const reused = parts.filter((p) => p.reused);
  // Parts of the interrupted file that the server had were reused, not sent again.
  assert.ok(reused.some((p) => p.file === 'seg-000002.ts' && p.n === 1) && reused.some((p) => p.file === 'seg-000002.ts' && p.n === 2),
    `resume found parts 1-2 of the cut file on the server (reused: ${reused.map((p) => `${p.file}#${p.n}`).join(', ')})`);
  // The kill came after the cut file's parts 1-2 were on the server (how many parts of the other
  // files in flight had finished by then varies with load: 5 to 7 seen).
  assert.ok(parts.slice(0, sentBefore).some((p) => p.file === 'seg-000002.ts' && p.n === 2) && sentBefore >= 2, `parts finished before the kill: ${sentBefore}`);
  assertNoPartSentTwice(parts);
  const total = loadUploadState(dir, f.shiftId)!.stats;
  const expectedParts = f.files.reduce((a, file) => a + Math.max(1, Math.ceil(readFileSync(join(f.dir, file)).length / PART_BYTES)), 0) + 1;
  // No part was acknowledged twice over both runs; every part was sent or (taken by the server just
  // before the kill, not yet recorded) found by ListParts and reused.
  assert.ok(total.partsSent <= expectedParts, `parts sent ${total.partsSent}, parts in the shift ${expectedParts}`);
  assert.ok(total.partsSent + total.partsReused >= expectedParts);
  await assertStoredExactly(dir, f, second.done.manifestSha256);
});

void test('gateway stopped mid-upload: retries with backoff, resumes without re-sending finished parts, completes', { timeout: 120_000 }, async () => {
  const dir = dataDir();
  const f = await makeShift(dir, DEVICE, Date.UTC(2026, 10, 4, 8), { seconds: 8 });
  const parts: PartSent[] = [];
  const retries: string[] = [];
  let stopped = false;
  let outage: Promise<void> | undefined;
  const r = await runOffloadJob(job(dir, f, { bandwidthKbps: 1600 }), {
    log,
    on: {
      part: (p) => {
        parts.push(p);
        if (!stopped && parts.filter((x) => !x.reused).length === 4) {
          stopped = true;
          outage = (async () => {
            await new Promise((res) => setTimeout(res, 150));
            await store.ceph.stopGateway();
            await new Promise((res) => setTimeout(res, 2500));
            await store.ceph.startGateway();
          })();
        }
      },
      retry: (e) => retries.push(e),
    },
  });
  await outage;
  assert.ok(stopped);
  assert.ok(retries.length >= 1, 'requests failed during the outage and were retried');
  assertNoPartSentTwice(parts);
  await assertStoredExactly(dir, f, r.manifestSha256);
});

void test('a file that changed after its manifest was made is refused, never completed in the store', { timeout: 120_000 }, async () => {
  const dir = dataDir();
  const f = await makeShift(dir, DEVICE, Date.UTC(2026, 10, 5, 8), { seconds: 4 });
  await prepareManifest(dir, f.shiftId, f.dir, DEVICE, PREFIX);
  // Same size, one byte different: only the hash can tell.
  const victim = join(f.dir, 'seg-000002.ts');
  const b = readFileSync(victim);
  b[b.length - 100] = b[b.length - 100]! ^ 0xff;
  writeFileSync(victim, b);
  await assert.rejects(runOffloadJob(job(dir, f, { concurrency: 1 }), { log }), (e: unknown) => {
    assert.ok(e instanceof EvidenceError, `EvidenceError, got ${String(e)}`);
    assert.match((e as Error).message, /seg-000002\.ts changed since the manifest was made/);
    return true;
  });
  const prefix = shiftKeyPrefix(PREFIX, DEVICE, f.shiftId);
  const v = await versions(store.operator, prefix);
  assert.ok(!v.has(prefix + 'seg-000002.ts'), 'the changed file was not completed in the store');
  assert.ok(!v.has(prefix + 'manifest.json'), 'no manifest: the shift is visibly incomplete');
});

void test('interrupted while completing (Complete sent, answer lost): the resume completes again, nothing re-sent or stored twice', { timeout: 60_000 }, async () => {
  const dir = dataDir();
  const f = await makeShift(dir, DEVICE, Date.UTC(2026, 10, 6, 8), { seconds: 4 });
  const first = await runOffloadJob(job(dir, f), { log });
  // Rewind the record to "Complete sent, not known to have landed" for every object, as a kill
  // between sending CompleteMultipartUpload and recording its answer leaves it. (The device cannot
  // ask: ListParts of a completed upload is AccessDenied to it.)
  const p = join(dir, 'offload', f.shiftId, 'upload.json');
  const st = JSON.parse(readFileSync(p, 'utf8')) as { completedAt?: string; files: Record<string, { done?: boolean; completing?: boolean; put?: boolean }> };
  delete st.completedAt;
  const multipart = Object.values(st.files).filter((v) => !v.put);
  assert.ok(multipart.length >= 2, 'the segments went up as multipart uploads');
  for (const v of multipart) {
    assert.equal(v.completing, true);
    v.done = false;
  }
  writeFileSync(p, JSON.stringify(st));
  const parts: PartSent[] = [];
  const r = await runOffloadJob(job(dir, f), { log, on: { part: (x) => parts.push(x) } });
  assert.equal(r.manifestSha256, first.manifestSha256);
  assert.deepEqual(parts, [], 'no part sent again');
  assert.ok(loadUploadState(dir, f.shiftId)!.completedAt);
  await assertStoredExactly(dir, f, r.manifestSha256);
});

void test('files no larger than a part go up with one PutObject each: byte-identical, one version per key, no multipart upload, nothing re-sent on a re-run', { timeout: 60_000 }, async () => {
  const dir = dataDir();
  const f = await makeShift(dir, DEVICE, Date.UTC(2026, 10, 7, 8), { seconds: 6 });
  const parts: PartSent[] = [];
  const r = await runOffloadJob(job(dir, f, { partSizeBytes: 8 * 1024 * 1024 }), { log, on: { part: (p) => parts.push(p) } });
  assert.deepEqual(parts.map((p) => `${p.file}#${p.n}`).sort(), [...f.files, 'manifest.json'].map((x) => `${x}#1`).sort(), 'one request per file');
  await assertStoredExactly(dir, f, r.manifestSha256);
  assert.equal(await openUploads(store.operator, shiftKeyPrefix(PREFIX, DEVICE, f.shiftId)), 0, 'no multipart upload was opened');
  const st = loadUploadState(dir, f.shiftId)!;
  assert.ok(Object.values(st.files).every((x) => x.put && x.done && x.parts.length === 0), 'every file recorded as stored by PutObject');
  assert.equal(st.stats.objectsPut, f.files.length + 1);
  assert.ok(!existsSync(doneLogPath(dir, f.shiftId)), 'the done log is folded into upload.json at the end');
  const again: PartSent[] = [];
  await runOffloadJob(job(dir, f, { partSizeBytes: 8 * 1024 * 1024 }), { log, on: { part: (p) => again.push(p) } });
  assert.deepEqual(again, [], 'nothing sent again');
  await assertStoredExactly(dir, f, r.manifestSha256);
});

void test('a small file changed after its manifest was made is refused by the store (its SHA-256 check), never stored', { timeout: 60_000 }, async () => {
  const dir = dataDir();
  const f = await makeShift(dir, DEVICE, Date.UTC(2026, 10, 8, 8), { seconds: 4 });
  await prepareManifest(dir, f.shiftId, f.dir, DEVICE, PREFIX);
  const victim = join(f.dir, 'seg-000001.ts');
  const b = readFileSync(victim);
  b[b.length - 100] = b[b.length - 100]! ^ 0xff;
  writeFileSync(victim, b);
  await assert.rejects(runOffloadJob(job(dir, f, { partSizeBytes: 8 * 1024 * 1024, concurrency: 1 }), { log }), (e: unknown) => {
    assert.ok(e instanceof EvidenceError, `EvidenceError, got ${String(e)}`);
    assert.match((e as Error).message, /seg-000001\.ts changed since the manifest was made: the store computed another SHA-256/);
    return true;
  });
  const prefix = shiftKeyPrefix(PREFIX, DEVICE, f.shiftId);
  const v = await versions(store.operator, prefix);
  assert.ok(!v.has(prefix + 'seg-000001.ts'), 'the changed file was not stored');
  assert.ok(!v.has(prefix + 'manifest.json'), 'no manifest: the shift is visibly incomplete');
});
