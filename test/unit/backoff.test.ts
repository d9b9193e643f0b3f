import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, retry } from '../../agent/lib/backoff.js';

test('backoff grows exponentially within jitter bounds and is capped', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 1 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000]);
  const low = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0 });
  assert.deepEqual([low.next(), low.next()], [50, 100]);
  b.reset();
  assert.equal(b.next(), 100);
});

test('immediateFirst: the first attempt after a reset waits 0 ms, then the same growth from initialMs', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 1, immediateFirst: true });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [0, 100, 200, 400]);
  assert.equal(b.attempts, 4);
  b.reset();
  assert.deepEqual([b.next(), b.next()], [0, 100]);
});

test('retry stops after the allowed retries and rethrows', async () => {
  let n = 0;
  await assert.rejects(retry(async () => { n++; throw new Error('no'); }, { initialMs: 1, maxMs: 2, retries: 3 }), /no/);
  assert.equal(n, 4);
  assert.equal(await retry(async (a) => { if (a < 2) throw new Error('x'); return a; }, { initialMs: 1, maxMs: 2 }), 2);
});
