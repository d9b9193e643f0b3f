/**
 * The unconfirmed-evidence alert's rules (agent/offload/backlog.ts), pure: custody periods that
 * wait longer than two periods, or any closed evidence while the disk is low, raise it; a body
 * camera's shift waiting for its dock, a confirmed one, or nothing waiting raise nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backlogDetail, type BacklogInput } from '../../agent/offload/backlog.js';

const MiB = 1024 * 1024;
const NOW = Date.parse('2026-12-04T12:00:00Z');
const closed = new Map([
  ['20261204T080000Z-cam', NOW - 4 * 3600_000],
  ['20261204T090000Z-cam', NOW - 3 * 3600_000],
  ['20261204T100000Z-cam', NOW - 2 * 3600_000 + 60_000],
]);
const base: BacklogInput = {
  entries: [
    { shiftId: '20261204T090000Z-cam', state: 'uploaded', bytes: 30 * MiB },
    { shiftId: '20261204T080000Z-cam', state: 'failed', bytes: 20 * MiB },
  ],
  closedAtMs: (id) => closed.get(id),
  custody: true,
  periodS: 3600,
  storageLow: false,
  nowMs: NOW,
};

void test('custody: the oldest unconfirmed period closed more than two periods ago raises it, naming the count, bytes, oldest period and its close time', () => {
  assert.equal(backlogDetail(base), '2 closed periods (50 MiB) not confirmed by central, oldest 20261204T080000Z-cam closed 2026-12-04T08:00:00.000Z; no confirmation for more than 7200 s (2 periods)');
});

void test('custody: periods waiting less than two periods raise nothing; confirmed ones do not count', () => {
  assert.equal(backlogDetail({ ...base, entries: [{ shiftId: '20261204T100000Z-cam', state: 'uploaded', bytes: MiB }, { shiftId: '20261204T080000Z-cam', state: 'confirmed', bytes: MiB }] }), null);
  assert.equal(backlogDetail({ ...base, entries: [] }), null);
});

void test('a body camera (not custody): shifts waiting for the dock for hours raise nothing until the disk is low, then it is raised', () => {
  const cam = { ...base, custody: false };
  assert.equal(backlogDetail(cam), null);
  assert.equal(backlogDetail({ ...cam, storageLow: true }), '2 closed shifts (50 MiB) not confirmed by central, oldest 20261204T080000Z-cam closed 2026-12-04T08:00:00.000Z; the disk is filling: nothing unconfirmed is deleted; recording goes on under the storage guard');
});

void test('a low disk with nothing unconfirmed raises nothing (the storage guard\'s own faults say it)', () => {
  assert.equal(backlogDetail({ ...base, storageLow: true, entries: [{ shiftId: '20261204T080000Z-cam', state: 'confirmed', bytes: MiB }] }), null);
});

void test('an unknown close time (journal unreadable) is not taken as stalled, but a low disk still raises it', () => {
  const unknown = { ...base, closedAtMs: () => undefined };
  assert.equal(backlogDetail(unknown), null);
  assert.match(backlogDetail({ ...unknown, storageLow: true }) ?? '', /^2 closed periods \(50 MiB\) not confirmed by central, oldest 20261204T080000Z-cam; the disk is filling/);
});
