/**
 * JournalReserve on the ordinary data-dir filesystem, and the Journal's held-record interface
 * when nothing fails. The full-filesystem behaviour is in test/faults/journal-enospc.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_JOURNAL_RESERVE_BYTES, JOURNAL_RESERVE_FILE, JournalReserve } from '../../agent/evidence/journal-reserve.js';
import { Journal } from '../../agent/evidence/journal.js';

const KiB = 1024;
const allocated = (path: string): number => statSync(path).blocks * 512;

test('the JournalReserve constructor does no I/O: a reserve in a missing directory holds 0 bytes and releasing it frees 0', () => {
  const r = new JournalReserve(join(tmpdir(), 'no-such-dir', 'really-not'));
  assert.equal(r.heldBytes, 0);
  assert.equal(r.bytes, DEFAULT_JOURNAL_RESERVE_BYTES);
  assert.equal(r.path, join(tmpdir(), 'no-such-dir', 'really-not', JOURNAL_RESERVE_FILE));
  assert.equal(r.release(), 0);
  assert.equal(r.releaseOnNoSpace(), false);
});

test('ensure() allocates real blocks for the whole reserve (not a sparse file), and a second ensure() keeps it as it is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reserve-'));
  const r = new JournalReserve(dir, 200 * KiB);
  assert.equal(r.ensure(), true);
  assert.equal(r.heldBytes, 200 * KiB);
  assert.equal(statSync(r.path).size, 200 * KiB);
  assert.ok(allocated(r.path) >= 200 * KiB, `only ${allocated(r.path)} bytes allocated`);
  assert.equal(r.ensure(), true);
  assert.equal(statSync(r.path).size, 200 * KiB);
});

test('ensure() refills a sparse reserve (extended by truncate, holding no blocks) so its space is really held', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reserve-'));
  const r = new JournalReserve(dir, 128 * KiB);
  writeFileSync(r.path, '');
  truncateSync(r.path, 128 * KiB);
  assert.ok(allocated(r.path) < 128 * KiB, 'precondition: the file is sparse');
  assert.equal(r.ensure(), true);
  assert.ok(allocated(r.path) >= 128 * KiB);
});

test('ensure() extends a short reserve and cuts an oversized one to the configured size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reserve-'));
  writeFileSync(join(dir, JOURNAL_RESERVE_FILE), Buffer.alloc(10 * KiB));
  const r = new JournalReserve(dir, 64 * KiB);
  assert.equal(r.ensure(), true);
  assert.equal(statSync(r.path).size, 64 * KiB);
  const smaller = new JournalReserve(dir, 16 * KiB);
  assert.equal(smaller.ensure(), true);
  assert.equal(statSync(r.path).size, 16 * KiB);
  assert.equal(smaller.heldBytes, 16 * KiB);
});

test('release() deletes the reserve and returns the allocated bytes it freed; releaseOnNoSpace() is true only when it freed something', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reserve-'));
  const r = new JournalReserve(dir, 64 * KiB);
  r.ensure();
  const held = allocated(r.path);
  assert.equal(r.release(), held);
  assert.ok(held >= 64 * KiB);
  assert.equal(existsSync(r.path), false);
  assert.equal(r.heldBytes, 0);
  r.ensure();
  assert.equal(r.releaseOnNoSpace(), true);
  assert.equal(r.releaseOnNoSpace(), false);
});

test('a journal whose writes succeed holds nothing: pendingCount stays 0, flush() is true, close() reports 0 unwritten, no write events', () => {
  const dir = mkdtempSync(join(tmpdir(), 'j-'));
  const j = new Journal(dir);
  const events: string[] = [];
  j.on('writeFailed', () => events.push('failed'));
  j.on('writeRecovered', () => events.push('recovered'));
  j.open();
  let hook = 0;
  j.onNoSpace = () => ++hook > 0;
  for (let i = 0; i < 5; i++) j.append('note', { i });
  assert.equal(j.pendingCount, 0);
  assert.equal(j.flush(), true);
  assert.equal(j.size, statSync(j.path).size);
  assert.equal(j.close(), 0);
  assert.deepEqual(events, []);
  assert.equal(hook, 0, 'onNoSpace is only asked on ENOSPC/EDQUOT');
});

test('a listener that appends from the record event gets the next seq and chains onto the record it heard', () => {
  const dir = mkdtempSync(join(tmpdir(), 'j-'));
  const j = new Journal(dir);
  j.open();
  const seen: number[] = [];
  j.on('record', (w) => {
    seen.push(w.record.seq);
    if (w.record.type === 'fault') j.append('note', { about: w.record.seq });
  });
  const fault = j.append('fault', { fault: 'storage_full' });
  assert.deepEqual(seen, [0, 1]);
  assert.equal(j.lastRecord?.prev, fault.hash);
  assert.equal(j.nextSeq, 2);
  j.close();
  const again = new Journal(dir);
  assert.equal(again.open().length, 2);
});
