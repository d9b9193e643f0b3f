/**
 * The clock watch (agent/location/clock-watch.ts): a change of the clock's sync state is one
 * `time_sync` record naming what it changed from; an unchanged clock writes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockWatch } from '../../agent/location/clock-watch.js';
import type { ClockReport, ClockSource } from '../../hal/clock/index.js';
import { createLogger } from '../../agent/lib/log.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeClock(): ClockSource & { now: ClockReport } {
  const c = {
    now: { source: 'chrony', synced: true, rtc: { present: false, device: null, driftS: null }, offsetS: 0.001, stratum: 2, checkedAt: new Date().toISOString() } as ClockReport,
    report: () => c.now,
    refresh: async () => c.now,
    start: async () => undefined,
    stop: async () => undefined,
  };
  return c as unknown as ClockSource & { now: ClockReport };
}

void test('clock watch: the clock losing sync is one time_sync record from {chrony, synced} to synced false; refreshes of an unchanged clock journal nothing', async () => {
  const clock = fakeClock();
  const records: Array<{ type: string; fields: Record<string, unknown> }> = [];
  let changed = 0;
  const w = new ClockWatch({
    clock,
    journal: (type, fields) => records.push({ type, fields }),
    serialize: (fn) => fn(),
    changed: () => changed++,
    log: createLogger('test'),
    refreshMs: 10,
    stepCheckMs: 60_000,
  });
  w.start();
  try {
    await sleep(60);
    assert.equal(records.length, 0, 'no record while nothing changes');
    clock.now = { ...clock.now, synced: false, checkedAt: new Date().toISOString() };
    await sleep(60);
    assert.equal(records.length, 1, JSON.stringify(records));
    assert.equal(records[0]!.type, 'time_sync');
    assert.deepEqual(records[0]!.fields.from, { source: 'chrony', synced: true });
    assert.equal(records[0]!.fields.synced, false);
    assert.equal(changed, 1);
    assert.equal(w.report?.synced, false);
  } finally {
    w.stop();
  }
});
