/**
 * Retention without a store: which confirmations are accepted, what is deleted (only what central
 * holds), and that a legal hold keeps everything. The bookkeeping an upload leaves (manifest.json,
 * upload.json) is written here by hand; agent.test.ts covers the same path after a real upload.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { JOURNAL_FILE, Journal } from '../../agent/evidence/journal.js';
import { setLegalHold } from '../../agent/evidence/legal-hold.js';
import { createLogger } from '../../agent/lib/log.js';
import { MANIFEST_FORMAT, type Manifest } from '../../agent/offload/manifest.js';
import { OffloadQueue } from '../../agent/offload/queue.js';
import { Retention, confirmationMismatch, deletionDue, filesToDelete, malformedConfirmation } from '../../agent/offload/retention.js';
import { loadReceipt, manifestPath, saveUploadState, type UploadState } from '../../agent/offload/state.js';
import { shiftIdAt } from './fixtures.js';

const S1 = '20261204T120000Z-cam-1';

const tmp = mkdtempSync(join(tmpdir(), 'bodycam-offload-retention-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const log = createLogger('offload-test');
const H = 'a'.repeat(64);

void test('confirmation checks: form, then the upload and the manifest central names', () => {
  assert.match(malformedConfirmation('../x', H)!, /invalid shift id/);
  for (const bad of ['.', '..', 's1']) assert.match(malformedConfirmation(bad, H)!, /invalid shift id/, bad);
  assert.match(malformedConfirmation(7, H)!, /invalid shift id '7'/);
  assert.match(malformedConfirmation(S1, 'abc')!, /64 hex/);
  assert.equal(malformedConfirmation(S1, H.toUpperCase()), undefined, 'upper-case hex is fine (compared lower-cased)');

  const done = { manifestSha256: H, completedAt: 'then' } as UploadState;
  assert.match(confirmationMismatch('s1', H, undefined, done)!, /has not been offloaded/);
  assert.match(confirmationMismatch('s1', H, H, undefined)!, /has not been offloaded/);
  assert.match(confirmationMismatch('s1', H, H, { ...done, completedAt: undefined })!, /not complete/);
  assert.match(confirmationMismatch('s1', H, H, { ...done, manifestSha256: 'b'.repeat(64) })!, /not complete/, 'an upload of another manifest');
  assert.match(confirmationMismatch('s1', 'c'.repeat(64), H, done)!, /mismatch: the uploaded manifest of s1 is a{64}/);
  assert.equal(confirmationMismatch('s1', H, H, done), undefined);
});

void test('deletion: due only when confirmed, not yet deleted, and of the manifest on disk; only intact uploaded files go', () => {
  const r = { version: 1 as const, shiftId: 's1', manifestSha256: H };
  assert.equal(deletionDue(r, H), false, 'not confirmed');
  assert.equal(deletionDue({ ...r, confirmedAt: 'now' }, H), true);
  assert.equal(deletionDue({ ...r, confirmedAt: 'now', deletedAt: 'now' }, H), false);
  assert.equal(deletionDue({ ...r, confirmedAt: 'now' }, 'b'.repeat(64)), false, 'the manifest changed since');

  const sizes: Record<string, number> = { 'a.ts': 10, 'b.ts': 99 };
  const files = [{ name: 'a.ts', bytes: 10, sha256: H }, { name: 'b.ts', bytes: 20, sha256: H }, { name: 'gone.ts', bytes: 5, sha256: H }];
  const sizeOf = (n: string): number => {
    if (!(n in sizes)) throw new Error('ENOENT');
    return sizes[n]!;
  };
  assert.deepEqual(filesToDelete(files, sizeOf).map((f) => f.name), ['a.ts'], 'a changed or missing file is not what central holds');
});

/** A closed shift as an upload leaves it: files, manifest.json, a completed upload.json. Returns the manifest's hash. */
function uploadedShift(dataDir: string, shiftId: string): string {
  const dir = join(dataDir, 'shifts', shiftId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'seg-1.ts'), Buffer.alloc(300));
  const j = new Journal(dir);
  j.open();
  j.append('shift_start', {});
  j.append('shift_end', {});
  j.close();
  const journalBytes = statSync(join(dir, JOURNAL_FILE)).size;
  const m: Manifest = {
    format: MANIFEST_FORMAT, deviceId: 'cam', shiftId, createdAt: 'then', journalHead: H, keyPrefix: 'p',
    files: [{ name: 'seg-1.ts', bytes: 300, sha256: H }, { name: JOURNAL_FILE, bytes: journalBytes, sha256: H }],
  };
  const bytes = Buffer.from(JSON.stringify(m));
  mkdirSync(join(dataDir, 'offload', shiftId), { recursive: true });
  writeFileSync(manifestPath(dataDir, shiftId), bytes);
  const sha = createHash('sha256').update(bytes).digest('hex');
  saveUploadState(dataDir, {
    version: 1, shiftId, bucket: 'b', manifestSha256: sha, files: {}, completedAt: 'then',
    stats: { runs: 1, partsSent: 2, bytesSent: 300 + journalBytes, partsReused: 0, uploadsRestarted: 0 },
  });
  return sha;
}

void test('confirm: rejected and journaled when wrong; accepted deletes what was uploaded; a legal hold keeps it', () => {
  const dataDir = join(tmp, 'confirm');
  const host = { dataDir, shiftDir: (id: string) => join(dataDir, 'shifts', id) };
  const [s1, s2] = [shiftIdAt(Date.UTC(2026, 0, 1), 'cam'), shiftIdAt(Date.UTC(2026, 0, 2), 'cam')];
  const sha1 = uploadedShift(dataDir, s1);
  const sha2 = uploadedShift(dataDir, s2);
  writeFileSync(join(host.shiftDir(s1), 'note.txt'), 'not uploaded');
  const records: Record<string, unknown>[] = [];
  const q = new OffloadQueue(host, log);
  q.scan();
  assert.equal(q.get(s1)?.state, 'uploaded');
  const r = new Retention(host, q, (f) => records.push(f), log);

  assert.equal(r.confirmReceipt(s1, 'b'.repeat(64), 'test').accepted, false);
  assert.deepEqual(records.map((x) => x.event), ['confirm_rejected']);

  const journalBytes = statSync(join(host.shiftDir(s1), JOURNAL_FILE)).size;
  const ok = r.confirmReceipt(s1, sha1.toUpperCase(), 'test');
  assert.equal(ok.accepted, true);
  assert.equal(ok.reason, `receipt confirmed; local copy deleted (2 files, ${300 + journalBytes} bytes; 1 file(s) not in the manifest kept)`);
  assert.deepEqual(readdirSync(host.shiftDir(s1)), ['note.txt']);
  assert.deepEqual(records.slice(1).map((x) => x.event), ['confirmed', 'deleted'], 'journaled before the act');
  assert.equal(q.get(s1), undefined, 'off the queue');
  assert.ok(loadReceipt(dataDir, s1)?.deletedAt);
  assert.match(r.confirmReceipt(s1, sha1, 'test').reason, /already confirmed/);

  setLegalHold(dataDir, s2, true, 'test', 'case-7');
  assert.match(r.confirmReceipt(s2, sha2, 'test').reason, /local copy kept: legal hold since .* \(case-7\)/);
  r.deletePending();
  r.deletePending();
  assert.deepEqual(records.slice(3).map((x) => x.event), ['confirmed', 'delete_blocked'], 'a blocked deletion is journaled once');
  assert.equal(q.get(s2)?.state, 'confirmed');
  assert.ok(existsSync(join(host.shiftDir(s2), 'seg-1.ts')));

  setLegalHold(dataDir, s2, false, 'test');
  r.deletePending();
  assert.equal(existsSync(host.shiftDir(s2)), false, 'hold lifted: deleted on the next pass, the empty dir too');
  assert.deepEqual(records.slice(5).map((x) => x.event), ['deleted']);
});
