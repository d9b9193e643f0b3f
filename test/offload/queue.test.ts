/**
 * The offload queue, status and the device journal's schedule without a store: which shift goes
 * next, what a shift's bookkeeping on disk makes of it, what heartbeats count, and when the
 * device journal may go. (The uploads themselves: upload.test.ts and agent.test.ts, on Ceph.)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../agent/evidence/journal.js';
import { isBodycamError } from '../../agent/lib/errors.js';
import { createLogger } from '../../agent/lib/log.js';
import { OffloadQueue, nextPending, stateOnDisk } from '../../agent/offload/queue.js';
import { DeviceJournalSchedule } from '../../agent/offload/device-journal-schedule.js';
import { offloadStatus, type RunView } from '../../agent/offload/status.js';
import { DEVICE_JOURNAL_ID } from '../../agent/offload/device-journal.js';
import { receiptPath, type UploadState } from '../../agent/offload/state.js';
import type { QueueEntry } from '../../agent/offload/types.js';
import { shiftIdAt } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'bodycam-offload-queue-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const log = createLogger('offload-test');

const entry = (shiftId: string, state: QueueEntry['state'], forced = false, bytes = 100): QueueEntry => ({ shiftId, state, bytes, forced });

/** A shift directory with a journal (closed when it ends with shift_end) and one media file. */
function shift(dataDir: string, id: string, types: string[], mediaBytes = 1000): void {
  const dir = join(dataDir, 'shifts', id);
  mkdirSync(dir, { recursive: true });
  const j = new Journal(dir);
  j.open();
  for (const t of types) j.append(t, {});
  j.close();
  writeFileSync(join(dir, 'seg-0001.ts'), Buffer.alloc(mediaBytes));
}

void test('next: explicit requests first, then oldest first; only pending shifts', () => {
  const [a, b, c] = [shiftIdAt(Date.UTC(2026, 0, 1), 'cam'), shiftIdAt(Date.UTC(2026, 0, 2), 'cam'), shiftIdAt(Date.UTC(2026, 0, 3), 'cam')];
  assert.equal(nextPending([entry(c, 'pending'), entry(a, 'pending'), entry(b, 'pending')])?.shiftId, a, 'oldest first');
  assert.equal(nextPending([entry(a, 'pending'), entry(c, 'pending', true), entry(b, 'pending', true)])?.shiftId, b, 'forced first, oldest of those');
  assert.equal(nextPending([entry(a, 'uploading'), entry(b, 'uploaded'), entry(c, 'failed', true)]), undefined, 'nothing pending');
  assert.equal(nextPending([entry(a, 'confirmed'), entry(c, 'pending')])?.shiftId, c);
});

void test('a shift\'s state on disk: confirmed receipt, completed upload, or pending', () => {
  const up = { completedAt: '2026-01-01T00:00:00Z' } as UploadState;
  assert.equal(stateOnDisk(undefined, undefined), 'pending');
  assert.equal(stateOnDisk(undefined, { ...up, completedAt: undefined }), 'pending', 'an upload in progress is still pending');
  assert.equal(stateOnDisk(undefined, up), 'uploaded');
  assert.equal(stateOnDisk({ version: 1, shiftId: 'x', manifestSha256: 'h', confirmedAt: 'now' }, up), 'confirmed');
});

void test('the queue from disk: closed shifts only; requests force what waits; unreadable state fails the shift', () => {
  const dataDir = join(tmp, 'scan');
  const host = { dataDir, shiftDir: (id: string) => join(dataDir, 'shifts', id) };
  const [closed, open, broken] = [shiftIdAt(Date.UTC(2026, 0, 1), 'cam'), shiftIdAt(Date.UTC(2026, 0, 2), 'cam'), shiftIdAt(Date.UTC(2026, 0, 3), 'cam')];
  shift(dataDir, closed, ['shift_start', 'segment', 'shift_end'], 1000);
  shift(dataDir, open, ['shift_start', 'segment'], 1000);
  shift(dataDir, broken, ['shift_start', 'shift_end'], 10);
  mkdirSync(join(dataDir, 'offload', broken), { recursive: true });
  writeFileSync(receiptPath(dataDir, broken), '{"trunc');

  const q = new OffloadQueue(host, log);
  q.scan();
  const c = q.get(closed)!;
  assert.equal(c.state, 'pending');
  assert.ok(c.bytes > 1000, 'no manifest yet: the shift dir\'s bytes (media + journal)');
  assert.equal(q.get(open), undefined, 'a recording shift is never queued');
  assert.equal(q.get(broken)?.state, 'failed');
  assert.match(q.get(broken)!.error!, /unreadable offload state/);
  assert.equal(q.next()?.shiftId, closed);

  assert.throws(() => q.request('../etc'), (e) => isBodycamError(e) && e.code === 'USAGE');
  assert.throws(() => q.request(open), (e) => isBodycamError(e) && e.code === 'STATE', 'not a closed shift');
  q.request();
  assert.equal(q.get(closed)?.forced, true, 'offload now forces what waits');
  assert.equal(q.get(broken)?.state, 'failed', 'read again, still unreadable');

  writeFileSync(receiptPath(dataDir, broken), JSON.stringify({ version: 1, shiftId: broken, manifestSha256: 'h', deletedAt: 'then' }));
  q.request();
  assert.equal(q.get(broken), undefined, 'deleted after confirmation: not queued again');
});

void test('status: pending bytes net of the running upload\'s progress; what awaits confirmation', () => {
  const entries = [entry('a', 'uploading', false, 1000), entry('b', 'pending', false, 500), entry('c', 'uploaded', false, 70), entry('d', 'confirmed', false, 9)];
  const progress = { shiftId: 'a', bytesDone: 400, bytesTotal: 1000, filesDone: 1, filesTotal: 3, bytesSent: 400, rateBps: 10, etaS: 60, file: 'x.ts' };
  const run: RunView = { kind: 'shift', entry: entries[0]!, progress, manifestSha256: 'm', done: false, retrying: false, child: { pid: 42 } };
  const dj = { uploadedThroughSeq: null, lastKey: null, lastSha256: null, due: false };
  const base = { entries, waitReason: 'not docked', docked: false, approvedNetwork: true, lastError: null, deviceJournal: dj };
  const s = offloadStatus({ ...base, run });
  assert.equal(s.state, 'uploading');
  assert.equal(s.active, true);
  assert.equal(s.reason, null, 'a run is going: no wait reason');
  assert.equal(s.pendingBytes, 1000 + 500 - 400);
  assert.equal(s.pendingShifts, 2);
  assert.equal(s.awaitingShifts, 3);
  assert.equal(s.awaitingBytes, 1570);
  assert.deepEqual(s.awaitingConfirmation, ['c']);
  assert.equal(s.workerPid, 42);
  assert.equal(s.current?.manifestSha256, 'm');
  assert.equal(offloadStatus({ ...base, run: { ...run, retrying: true } }).state, 'retrying');

  const djRun: RunView = { ...run, kind: 'device-journal', entry: entry(DEVICE_JOURNAL_ID, 'uploading', false, 0) };
  assert.equal(offloadStatus({ ...base, run: djRun }).pendingBytes, 1500, 'a device journal run does not count against shift bytes');
  const idle = offloadStatus({ ...base, run: undefined, entries: [entries[2]!, entries[3]!] });
  assert.deepEqual([idle.state, idle.reason, idle.current, idle.workerPid], ['idle', 'not docked', null, null]);
  assert.equal(offloadStatus({ ...base, run: undefined }).state, 'waiting');
  assert.equal(offloadStatus({ ...base, run: { ...run, done: true } }).current, null, 'a finished run shows no progress');
});

void test('device journal schedule: waits for the condition unless asked; nothing signed means no run', () => {
  const dataDir = join(tmp, 'dj');
  mkdirSync(dataDir);
  const signed: string[] = [];
  const s = new DeviceJournalSchedule({ dataDir, signDeviceJournal: (why) => signed.push(why) }, log);
  s.load();
  const away = { ok: false, reason: 'not docked' };
  const docked = { ok: true, reason: null };
  assert.equal(s.decide(docked), undefined, 'nothing wanted');
  assert.equal(s.status(false).due, false);

  s.shiftUploaded(false);
  assert.deepEqual(s.decide(away), { wait: 'not docked' }, 'after an automatic shift upload: same condition as shifts');
  assert.deepEqual(signed, [], 'not signed while it waits');
  assert.equal(s.status(false).due, true);

  s.shiftUploaded(true);
  assert.equal(s.decide(away), undefined, 'asked for: runs anywhere, but no device journal is signed here');
  assert.deepEqual(signed, ['offload'], 'the head is signed before deciding');
  assert.equal(s.status(false).due, false, 'nothing due: no longer wanted');
  assert.equal(s.status(true).due, true, 'a snapshot being uploaded is due');
});
