import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Journal, ZERO_HASH } from '../../agent/evidence/journal.js';

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
