/**
 * The on-disk outbox without a broker: durability across reopen, acknowledged events leave and
 * stay gone, a torn tail is cut, the size bound drops events and reports them in one overflow
 * event, and reconcile recovers journal records the live listener never saw.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Outbox } from '../../agent/telemetry/outbox.js';
import { reconcile } from '../../agent/telemetry/outbox-reconcile.js';
import { Journal, type JournalRecord } from '../../agent/evidence/journal.js';
import { pb, type Event } from '../../agent/telemetry/proto.js';
import { tempDataDir, cleanup } from '../helpers/agent.js';

const dirs: string[] = [];
after(() => dirs.forEach(cleanup));
const dir = (): string => {
  const d = tempDataDir('outbox-test-');
  dirs.push(d);
  return d;
};
const mk = (d: string, o: Partial<ConstructorParameters<typeof Outbox>[0]> = {}): Outbox => {
  const ob = new Outbox({ dir: join(d, 'outbox'), deviceId: 'cam-1', bootId: 'boot', maxBytes: 1 << 20, ackPersistMs: 10, ...o });
  ob.open();
  return ob;
};
const rec = (seq: number, type = 'pause'): { rec: JournalRecord; line: string } => {
  const r: JournalRecord = { seq, type, at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), prev: '0'.repeat(64), reason: 'PERSONAL_NEEDS' };
  return { rec: r, line: JSON.stringify(r) };
};
const events = (ob: Outbox): Event[] => ob.peek(0, 1e6).map((q) => pb.Event.decode(q.payload));

void test('events are durable, ordered, and leave only when acknowledged', async () => {
  const d = dir();
  let ob = mk(d);
  for (let i = 0; i < 50; i++) {
    const { rec: r, line } = rec(i);
    ob.add('shift-a', r, line);
  }
  await ob.flush();
  assert.equal(ob.depth, 50);
  assert.deepEqual(events(ob).map((e) => e.seq), Array.from({ length: 50 }, (_, i) => i + 1));
  // Acks may come out of order; only a contiguous prefix counts as done.
  for (const s of [2, 1, 3, 5]) ob.ack(s);
  assert.equal(ob.firstUnacked, 4);
  await ob.close();

  ob = mk(d);
  const evs = events(ob);
  assert.equal(evs[0]!.seq, 4, 'acknowledged events do not come back');
  assert.equal(evs.length, 47);
  assert.equal(evs[0]!.journalSeq, 3);
  assert.equal(evs[0]!.shiftId, 'shift-a');
  assert.equal(evs[0]!.kind, pb.EventKind.EVENT_KIND_PAUSE);
  assert.equal(JSON.parse(evs[0]!.journalLine).seq, 3);
  // Re-adding records already queued (reconcile overlap) creates no duplicates.
  ob.add('shift-a', rec(10).rec, rec(10).line);
  const { rec: r50, line: l50 } = rec(50);
  ob.add('shift-a', r50, l50);
  await ob.flush();
  assert.equal(ob.lastSeq, 51);
  assert.equal(events(ob).at(-1)!.journalSeq, 50);
  for (let s = 4; s <= 51; s++) ob.ack(s);
  assert.equal(ob.depth, 0);
  await ob.close();
  ob = mk(d);
  assert.equal(ob.depth, 0);
  assert.equal(ob.lastSeq, 51, 'seq continues across restarts');
  const { rec: r51, line: l51 } = rec(51);
  ob.add('shift-a', r51, l51);
  await ob.flush();
  assert.equal(events(ob)[0]!.seq, 52);
  await ob.close();
});

void test('a torn tail (power cut mid-write) is cut off; complete events survive', async () => {
  const d = dir();
  let ob = mk(d);
  for (let i = 0; i < 5; i++) ob.add('', rec(i).rec, rec(i).line);
  await ob.flush();
  await ob.close();
  const qdir = join(d, 'outbox');
  const file = readdirSync(qdir).find((f) => f.startsWith('q-'))!;
  appendFileSync(join(qdir, file), Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 9, 9, 9]));
  ob = mk(d);
  assert.deepEqual(events(ob).map((e) => e.seq), [1, 2, 3, 4, 5]);
  ob.add('', rec(5).rec, rec(5).line);
  await ob.flush();
  await ob.close();
  ob = mk(d);
  assert.deepEqual(events(ob).map((e) => e.seq), [1, 2, 3, 4, 5, 6], 'new events appended after the cut are readable');
  await ob.close();
});

void test('bounded: overflow drops events and reports them in one OUTBOX_OVERFLOW event, seq without holes', async () => {
  const d = dir();
  const ob = mk(d, { maxBytes: 8192 });
  for (let i = 0; i < 200; i++) ob.add('s', rec(i).rec, rec(i).line);
  await ob.flush();
  assert.ok(ob.bytes <= 8192, `queued bytes ${ob.bytes} within the bound`);
  const queued = ob.depth;
  assert.ok(queued > 5 && queued < 200, `some queued (${queued}), the rest dropped`);
  assert.equal(ob.droppedPending, 200 - queued);
  // Central catches up: acks make room; the overflow event goes out before anything newer.
  for (const e of events(ob)) ob.ack(e.seq);
  await new Promise((r) => setTimeout(r, 50));
  ob.add('s', rec(200).rec, rec(200).line);
  await ob.flush();
  const after = events(ob);
  assert.equal(after[0]!.kind, pb.EventKind.EVENT_KIND_OUTBOX_OVERFLOW);
  assert.equal(after[0]!.overflow!.dropped, 200 - queued);
  assert.equal(after[0]!.seq, queued + 1, 'dropped events take no seq');
  assert.equal(after[1]!.journalSeq, 200);
  assert.equal(ob.droppedPending, 0);
  await ob.close();
});

void test('an event too big for the bound, then small ones in the same batch: the overflow report and each later event carry their own seq', async () => {
  const d = dir();
  const ob = mk(d, { maxBytes: 4096 });
  const big: JournalRecord = { ...rec(0, 'shift_start').rec, note: 'x'.repeat(3000) };
  ob.add('s', big, JSON.stringify(big));
  for (let i = 1; i <= 3; i++) ob.add('s', rec(i).rec, rec(i).line);
  await ob.flush();
  const queued = ob.peek(0, 1e6);
  const evs = queued.map((q) => pb.Event.decode(q.payload));
  assert.deepEqual(evs.map((e) => [e.type, e.journalSeq ?? null]), [['outbox_overflow', null], ['pause', 1], ['pause', 2], ['pause', 3]].map(([t, j]) => [t, j === null ? 0 : j]));
  assert.equal(evs[0]!.overflow!.dropped, 1);
  // What central receives (the encoded seq) is what the outbox acks and resumes from.
  assert.deepEqual(evs.map((e) => e.seq), queued.map((q) => q.seq));
  assert.deepEqual(evs.map((e) => e.seq), [1, 2, 3, 4]);
  await ob.close();
});

void test('reconcile: journal records after the cursor are queued (a crash between journal and outbox loses nothing)', async () => {
  const d = dir();
  const shift = '20260101T000000Z-cam-1';
  mkdirSync(join(d, 'shifts', shift), { recursive: true });
  const j = new Journal(join(d, 'shifts', shift));
  j.open();
  // The device journal lives at <data-dir>/device-journal.jsonl.
  writeFileSync(join(d, 'device-journal.jsonl'), '');
  j.append('shift_start', { shift_id: shift });
  j.append('segment', { file: 'seg-000001.ts' });
  j.append('pause', { reason: 'PERSONAL_NEEDS' });
  const types = new Set(['shift_start', 'pause', 'resume', 'gap']);

  // Fresh outbox: only records of this run (sinceMs) are taken, none from before.
  let ob = mk(d);
  assert.equal(reconcile(ob, { dataDir: d, types, sinceMs: Date.now() + 60_000 }), 0);
  await ob.close();
  ob = mk(d);
  assert.equal(ob.fresh, false);
  // Live listener saw shift_start; then the "crash" hid pause and resume from it.
  ob.add(shift, { seq: 0, type: 'shift_start', at: new Date().toISOString(), prev: '0'.repeat(64) }, '{"seq":0}');
  await ob.flush();
  await ob.close();
  j.append('resume', { cause: 'manual' });
  j.close();
  ob = mk(d);
  const n = reconcile(ob, { dataDir: d, types, sinceMs: 0 });
  await ob.flush();
  assert.equal(n, 2, 'pause and resume recovered; the segment record is not an event');
  assert.deepEqual(events(ob).map((e) => [e.seq, e.type, e.journalSeq]), [[1, 'shift_start', 0], [2, 'pause', 2], [3, 'resume', 3]]);
  // A second reconcile finds nothing new.
  assert.equal(reconcile(ob, { dataDir: d, types, sinceMs: 0 }), 0);
  await ob.flush();
  assert.equal(ob.lastSeq, 3, 'records already queued are not queued twice');
  await ob.close();
});
