/**
 * The outbox reconcile's journal reader (agent/telemetry/outbox-reconcile.ts `eachLineAfter`): read
 * in pieces of any size it hands over exactly the complete lines after the cursor that one whole
 * read and split would — multi-byte characters cut by piece boundaries included, a torn last line
 * never — and a missing journal has none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eachLineAfter } from '../../agent/telemetry/outbox-reconcile.js';

void test('eachLineAfter: every piece size and cursor gives the lines after the cursor exactly, multi-byte text across boundaries, no torn tail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bodycam-reconcile-'));
  try {
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ seq: i, type: 'gesture', note: `Привет — ${'ü'.repeat(i % 7)} 記録 ${i}` }));
    const path = join(dir, 'journal.jsonl');
    writeFileSync(path, lines.join('\n') + '\n{"seq":40,"type":"ges'); // a torn last line
    for (const piece of [1, 2, 3, 5, 7, 64, 4096]) {
      for (const cursor of [-1, 0, 1, 17, 38, 39, 50]) {
        const got: Array<[number, string]> = [];
        eachLineAfter(path, cursor, (line, i) => got.push([i, line]), piece);
        const want = lines.map((l, i): [number, string] => [i, l]).filter(([i]) => i > cursor);
        assert.deepEqual(got, want, `piece ${piece}, cursor ${cursor}`);
      }
    }
    let called = 0;
    eachLineAfter(join(dir, 'nope.jsonl'), -1, () => called++);
    assert.equal(called, 0, 'a missing journal has no lines');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
