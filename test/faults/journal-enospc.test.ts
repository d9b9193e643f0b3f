/**
 * The journal on a really full filesystem: a small tmpfs is mounted, a filler file takes all but
 * a few bytes, and records are appended until the kernel refuses them (a short write, then
 * ENOSPC). The file must stay a complete hash chain at every step, refused records must wait in
 * memory in order, and they must land once space returns — by `flush()`, by the automatic retry,
 * or at once through a released `JournalReserve`. Needs root (mount).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, ZERO_HASH, type WrittenRecord } from '../../agent/evidence/journal.js';
import { JournalReserve } from '../../agent/evidence/journal-reserve.js';
import { errnoCode } from '../../agent/lib/errors.js';
import { setLogSink } from '../../agent/lib/log.js';

// The journal logs its failures; keep them to check what close() reports, and out of the TAP.
const logs: string[] = [];
setLogSink((line) => logs.push(line));

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Mounts a fresh 2 MiB tmpfs for `fn` and always unmounts it. */
async function withTmpfs(fn: (mnt: string) => Promise<void> | void): Promise<void> {
  const mnt = mkdtempSync(join(tmpdir(), 'journal-enospc-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  try {
    await fn(mnt);
  } finally {
    execFileSync('umount', [mnt]);
    rmdirSync(mnt);
  }
}

/** Fills the filesystem to its last byte with `filler`, then gives back `leave` bytes of it. */
function fillLeaving(mnt: string, leave: number): string {
  const path = join(mnt, 'filler');
  const fd = openSync(path, 'w');
  try {
    const buf = Buffer.alloc(64 * 1024, 0xa5);
    for (let chunk = buf.length; chunk >= 1; ) {
      try {
        writeSync(fd, buf, 0, chunk);
      } catch (e) {
        if (errnoCode(e) !== 'ENOSPC') throw e;
        chunk >>= 1;
      }
    }
    if (leave > 0) ftruncateSync(fd, Math.max(0, fstatSync(fd).size - leave));
  } finally {
    closeSync(fd);
  }
  return path;
}

/** A realistic record (~250 bytes of line), distinct per call. */
let segNo = 0;
function appendSegment(j: Journal): void {
  segNo++;
  j.append('segment', {
    file: `seg-${String(segNo).padStart(6, '0')}.ts`,
    bytes: 1_000_000 + segNo,
    sha256: sha(`segment ${segNo}`),
    start: '2026-11-22T08:00:00.000Z',
    end: '2026-11-22T08:00:02.000Z',
  });
}

/**
 * Reads the journal as an independent verifier would: every line complete JSON, `seq` = line
 * number, `prev` = SHA-256 of the previous line's bytes. Returns the lines.
 */
function readChain(path: string): string[] {
  const buf = readFileSync(path);
  assert.ok(buf.length === 0 || buf[buf.length - 1] === 0x0a, `${path} ends inside a line (${buf.length} bytes)`);
  const text = buf.toString('utf8');
  const lines = text.length ? text.slice(0, -1).split('\n') : [];
  let prev = ZERO_HASH;
  lines.forEach((line, i) => {
    let rec: { seq?: unknown; prev?: unknown };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      assert.fail(`line ${i} is not JSON: ${line.slice(0, 120)}`);
    }
    assert.equal(rec.seq, i, `line ${i} seq`);
    assert.equal(rec.prev, prev, `line ${i} prev`);
    prev = sha(line);
  });
  return lines;
}

/**
 * The invariants after any append: the file is a complete chain and a prefix of what was
 * accepted, the rest is held, and the in-memory head is the last accepted record.
 */
function assertConsistent(j: Journal, accepted: WrittenRecord[]): string[] {
  const lines = readChain(j.path);
  assert.deepEqual(lines, accepted.slice(0, lines.length).map((w) => w.line), 'the file holds the accepted records in order');
  assert.equal(j.pendingCount, accepted.length - lines.length, 'every accepted record not on disk is held');
  assert.equal(j.nextSeq, accepted.length);
  assert.equal(j.head, accepted.at(-1)?.hash ?? ZERO_HASH);
  assert.equal(j.size, statSync(j.path).size);
  return lines;
}

/** Appends until a write is refused (or `max` appends), checking the invariants after each. */
function appendUntilHeld(j: Journal, accepted: WrittenRecord[], max = 5000): void {
  for (let i = 0; i < max && j.pendingCount === 0; i++) {
    appendSegment(j);
    assertConsistent(j, accepted);
  }
  assert.ok(j.pendingCount > 0, `no write was refused in ${max} appends`);
}

/** Opens a journal whose `record` events (held or not) are collected in `accepted`. */
function openJournal(dir: string): { j: Journal; accepted: WrittenRecord[] } {
  mkdirSync(dir, { recursive: true });
  const j = new Journal(dir);
  const accepted: WrittenRecord[] = [];
  j.on('record', (w) => accepted.push(w));
  j.open();
  j.append('shift_start', { shift_id: '20261122T080000Z-cam-7' });
  return { j, accepted };
}

test('on a full tmpfs every append leaves a complete chained file; refused records (and the fault a writeFailed listener appends) are held in order and flush() writes them all once space returns', () =>
  withTmpfs((mnt) => {
    const { j, accepted } = openJournal(join(mnt, 'shift'));
    const failed: Error[] = [];
    const recovered: number[] = [];
    // As the lead wires it: the first failure of an episode is journaled as a fault.
    j.on('writeFailed', (e) => {
      failed.push(e);
      j.append('fault', { fault: 'journal_write', detail: e.message });
    });
    j.on('writeRecovered', (n) => recovered.push(n));
    const filler = fillLeaving(mnt, 1024);

    appendUntilHeld(j, accepted);
    const onDisk = readChain(j.path).length;
    assert.equal(accepted.at(-1)!.record.type, 'fault', 'the fault follows the first refused record');
    assert.equal(accepted.at(-2)!.record.type, 'segment');
    for (let i = 0; i < 5; i++) {
      appendSegment(j);
      assert.equal(assertConsistent(j, accepted).length, onDisk, 'nothing lands while the filesystem is full');
    }
    assert.equal(failed.length, 1, 'writeFailed once per episode');
    assert.equal(errnoCode(failed[0]), 'ENOSPC');
    assert.equal(j.flush(), false, 'flush() reports records still held while full');
    const held = j.pendingCount;

    unlinkSync(filler);
    assert.equal(j.flush(), true);
    assert.equal(j.pendingCount, 0);
    assert.equal(assertConsistent(j, accepted).length, accepted.length);
    assert.deepEqual(recovered, [held]);
    assert.equal(j.close(), 0);

    const again = new Journal(join(mnt, 'shift'));
    assert.equal(again.open().length, accepted.length, 'reopened without recovery');
    assert.equal(again.head, accepted.at(-1)!.hash);
    assert.deepEqual(readdirSync(join(mnt, 'shift')), ['journal.jsonl'], 'no torn tail to move aside');
    again.close();
  }));

test('held records are written by the automatic retry once space returns, with no further append or flush', () =>
  withTmpfs(async (mnt) => {
    const { j, accepted } = openJournal(join(mnt, 'shift'));
    const filler = fillLeaving(mnt, 0);
    appendUntilHeld(j, accepted);
    appendSegment(j);
    const held = j.pendingCount;
    let guard: NodeJS.Timeout | undefined;
    const recovered = new Promise<number>((resolve, reject) => {
      j.once('writeRecovered', resolve);
      // Not an assertion on speed: the guard only turns a retry that never comes into a failure.
      guard = setTimeout(() => reject(new Error('no automatic retry within 60 s')), 60_000);
    });
    unlinkSync(filler);
    try {
      assert.equal(await recovered, held);
    } finally {
      clearTimeout(guard);
    }
    assert.equal(j.pendingCount, 0);
    assert.equal(assertConsistent(j, accepted).length, accepted.length);
    j.close();
  }));

test('close() on a full filesystem returns how many records it could not write and leaves the file at its last complete line, which reopens without recovery', () =>
  withTmpfs((mnt) => {
    const dir = join(mnt, 'shift');
    const { j, accepted } = openJournal(dir);
    fillLeaving(mnt, 300);
    appendUntilHeld(j, accepted);
    appendSegment(j);
    const onDisk = assertConsistent(j, accepted).length;
    assert.equal(j.close(), accepted.length - onDisk);
    const report = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'journal closed with records not written' && l.path === j.path);
    assert.equal(report?.records, accepted.length - onDisk, 'close() logs the records it could not write');
    assert.equal(report?.first_seq, onDisk);
    const again = new Journal(dir);
    assert.equal(again.open().length, onDisk);
    assert.equal(again.head, accepted[onDisk - 1]!.hash, 'the chain continues from the last durable record');
    assert.equal(again.lastRecord?.type, accepted[onDisk - 1]!.record.type);
    again.close();
  }));

test('with a JournalReserve wired to onNoSpace, appends on a completely full filesystem land at once, and ensure() re-creates the reserve once space returns', () =>
  withTmpfs((mnt) => {
    const reserve = new JournalReserve(mnt, 64 * 1024);
    assert.equal(reserve.ensure(), true);
    assert.equal(reserve.heldBytes, 64 * 1024);
    assert.ok(statSync(reserve.path).blocks * 512 >= 64 * 1024, 'the reserve holds allocated blocks');
    const { j, accepted } = openJournal(join(mnt, 'shift'));
    let hookCalls = 0;
    j.onNoSpace = () => {
      hookCalls++;
      return reserve.releaseOnNoSpace();
    };
    let failed = 0;
    j.on('writeFailed', () => failed++);
    const filler = fillLeaving(mnt, 0);

    for (let i = 0; i < 40; i++) {
      appendSegment(j);
      assertConsistent(j, accepted);
      assert.equal(j.pendingCount, 0, `record ${i} is on disk`);
    }
    assert.equal(failed, 0, 'no write failed for the lead to report');
    assert.equal(hookCalls, 1, 'the reserve was released once, at the first ENOSPC');
    assert.equal(existsSync(reserve.path), false);
    assert.equal(reserve.heldBytes, 0);

    assert.equal(reserve.ensure(), false, 'while the filesystem is still full the reserve cannot be whole');
    assert.ok(reserve.heldBytes < 64 * 1024);
    unlinkSync(filler);
    assert.equal(reserve.ensure(), true);
    assert.equal(reserve.heldBytes, 64 * 1024);
    assert.ok(statSync(reserve.path).blocks * 512 >= 64 * 1024);
    j.close();
  }));

test('in rounds with 0 B, 1 B, 100 B, 1 KiB … 64 KiB left free, the file is a complete chain after every append and every held record lands, in order, after space returns', () =>
  withTmpfs((mnt) => {
    const leaves = [0, 1, 100, 1024, 4095, 4096, 4097, 5000, 8192, 12_345, 16_384, 65_536];
    for (const [round, leave] of leaves.entries()) {
      const dir = join(mnt, `round-${round}`);
      const { j, accepted } = openJournal(dir);
      const filler = fillLeaving(mnt, leave);
      appendUntilHeld(j, accepted);
      for (let i = 0; i < 3; i++) {
        appendSegment(j);
        assertConsistent(j, accepted);
      }
      assert.equal(j.flush(), false, `round ${round} (${leave} B free): still full`);
      unlinkSync(filler);
      assert.equal(j.flush(), true, `round ${round} (${leave} B free): flushed`);
      assert.equal(assertConsistent(j, accepted).length, accepted.length, `round ${round} (${leave} B free): all records on disk`);
      j.close();
      rmSync(dir, { recursive: true });
    }
  }));
