import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, appendFileSync, existsSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Journal, ZERO_HASH, JournalDamagedError, scanJournal, scanJournalFd } from '../../agent/evidence/journal.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test('each line carries the SHA-256 of the previous line; seq counts from 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'j-'));
  const j = new Journal(dir);
  j.open();
  j.append('shift_start', { shift_id: 'x' });
  j.append('pause', { reason: 'PERSONAL_NEEDS' });
  j.append('resume', { cause: 'manual' });
  j.close();
  const lines = readFileSync(join(dir, 'journal.jsonl'), 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(recs.map((r) => r.seq), [0, 1, 2]);
  assert.equal(recs[0]!.prev, ZERO_HASH);
  assert.equal(recs[1]!.prev, sha(lines[0]!));
  assert.equal(recs[2]!.prev, sha(lines[1]!));
  assert.deepEqual(Object.keys(recs[1]!).slice(0, 4), ['seq', 'type', 'at', 'prev']);
  assert.match(String(recs[0]!.at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('reopening continues the chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'j-'));
  const a = new Journal(dir);
  a.open();
  a.append('shift_start', {});
  const head = a.head;
  a.close();
  const b = new Journal(dir);
  assert.equal(b.open().length, 1);
  const w = b.append('note', {});
  assert.equal(w.record.seq, 1);
  assert.equal(w.record.prev, head);
});

test('a torn last line is moved aside, the file cut back, and a recovery record chains on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'j-'));
  const a = new Journal(dir);
  a.open();
  a.append('shift_start', {});
  a.append('segment', { file: 'seg-000001.ts' });
  const head = a.head;
  a.close();
  appendFileSync(join(dir, 'journal.jsonl'), '{"seq":2,"type":"segm');
  const b = new Journal(dir);
  b.open();
  const rec = b.lastRecord!;
  assert.equal(rec.type, 'recovery');
  assert.equal(rec.seq, 2);
  assert.equal(rec.prev, head);
  assert.equal(rec.file, 'journal.torn-0');
  assert.equal(readFileSync(join(dir, 'journal.torn-0'), 'utf8'), '{"seq":2,"type":"segm');
  assert.ok(existsSync(join(dir, 'journal.torn-0')));
});

test('timestamps never go backwards, reserved fields are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'j-'));
  const j = new Journal(dir);
  j.open();
  j.append('a', {}, Date.UTC(2026, 0, 2));
  const w = j.append('b', {}, Date.UTC(2026, 0, 1));
  assert.equal(w.record.at, '2026-01-02T00:00:00.000Z');
  assert.throws(() => j.append('c', { seq: 5 }), /reserved/);
});

test('a journal read from its file in small pieces gives what one read of it gives: records, lines, damaged lines, head, torn tail, goodBytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'j-'));
  const j = new Journal(dir);
  j.open();
  // Multi-byte characters (2, 3 and 4 bytes in UTF-8) so that piece boundaries cut through them.
  for (let i = 0; i < 40; i++) j.append('note', { text: `Zürich → 東京 🎥 ${i}`.repeat(1 + (i % 3)) });
  j.close();
  const path = join(dir, 'journal.jsonl');
  // A damaged line in the middle and a torn tail that itself holds a cut multi-byte character.
  const good = readFileSync(path);
  const torn = Buffer.from('{"seq":41,"type":"note","text":"東');
  const bytes = Buffer.concat([good, Buffer.from('not json at all\n'), torn.subarray(0, torn.length - 1)]);
  writeFileSync(path, bytes);
  const scan = (f: (visit: (r: Record<string, unknown>, line: string) => void, o: Parameters<typeof scanJournal>[2]) => ReturnType<typeof scanJournal>) => {
    const lines: string[] = [];
    const damaged: Array<[number, string, string]> = [];
    const r = f((_rec, line) => lines.push(line), { onDamaged: (n, problem, text) => damaged.push([n, problem, text]) });
    return { lines, damaged, r };
  };
  const whole = scan((v, o) => scanJournal(bytes, v, o));
  assert.equal(whole.lines.length, 40);
  assert.deepEqual(whole.damaged, [[41, 'not JSON', 'not json at all']]);
  assert.equal(whole.r.head, sha('not json at all'), 'the head is the hash of the last complete line, damaged or not');
  assert.equal(whole.r.goodBytes, good.length + 16);
  assert.deepEqual(whole.r.tornTail, torn.subarray(0, torn.length - 1));
  for (const piece of [1, 2, 3, 7, 64, 4096]) {
    const fd = openSync(path, 'r');
    try {
      const got = scan((v, o) => scanJournalFd(fd, v, o, piece));
      assert.deepEqual(got.lines, whole.lines, `lines, pieces of ${piece} bytes`);
      assert.deepEqual(got.damaged, whole.damaged, `damaged, pieces of ${piece} bytes`);
      assert.deepEqual(got.r, whole.r, `head, count, torn tail, goodBytes, pieces of ${piece} bytes`);
    } finally {
      closeSync(fd);
    }
  }
});

test('without onDamaged a damaged line read from the file in pieces throws with its 1-based line number', () => {
  const dir = mkdtempSync(join(tmpdir(), 'j-'));
  const path = join(dir, 'journal.jsonl');
  writeFileSync(path, '{"seq":0}\n[1,2]\n{"seq":2}\n');
  const fd = openSync(path, 'r');
  try {
    assert.throws(() => scanJournalFd(fd, () => {}, { path }, 3), (e: unknown) => e instanceof JournalDamagedError && e.line === 2 && e.problem === 'not a record');
  } finally {
    closeSync(fd);
  }
});
