/**
 * The power extension's decisions, driven through a fake AgentContext (what the daemon offers)
 * and the sim board's gauge/thermal: battery low/critical, implausible gauges, thermal degrade
 * steps, and the watchdog petted only while recording makes progress (FakeClock, no sleeping).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PowerExtension } from '../../agent/power/extension.js';
import { batteryLevel, powerIssues, thermalLevel, thresholdsOf } from '../../agent/power/thresholds.js';
import { resolveBoard, type BoardConfig } from '../../agent/config/board.js';
import { FakeClock } from '../../agent/lib/clock.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';
import { createLogger } from '../../agent/lib/log.js';
import type { AgentContext } from '../../agent/extension.js';
import type { StatusSnapshot } from '../../agent/status.js';
import { createHal, type Hal } from '../../hal/index.js';
import type { Watchdog } from '../../hal/watchdog/watchdog.js';
import type { Gauge } from '../../hal/types.js';

const simBoard = (): BoardConfig => structuredClone(resolveBoard('sim').board);

interface Harness {
  ext: PowerExtension;
  hal: Hal;
  clock: FakeClock;
  journal: Array<[string, Record<string, unknown>]>;
  faults: Map<string, string>;
  degrade: Array<[string, number]>;
  ends: string[];
  reports: Array<[StatusSnapshot['battery'], number | null]>;
  pets: () => number;
  status: Partial<StatusSnapshot>;
}

async function harness(board = simBoard(), gauge?: Gauge): Promise<Harness> {
  const hal0 = await createHal(board);
  const hal: Hal = gauge ? { ...hal0, gauge } : hal0;
  const clock = new FakeClock();
  let pets = 0;
  const wd: Watchdog = { kind: 'test', intervalMs: 1000, start: async () => {}, stop: async () => {}, pet: () => void pets++ };
  const h: Harness = {
    ext: new PowerExtension({ intervalS: 5 }, board, { clock, watchdogs: [wd] }),
    hal,
    clock,
    journal: [],
    faults: new Map(),
    degrade: [],
    ends: [],
    reports: [],
    pets: () => pets,
    status: { state: 'OFF_DUTY', shiftId: null, lastSegmentAt: null, faults: {} },
  };
  const services = new Map<string, unknown>([['power', { report: (b: StatusSnapshot['battery'], t: number | null) => h.reports.push([b, t]) }]]);
  const ctx = {
    hal,
    board,
    policy: () => DEFAULT_POLICY,
    log: createLogger('test'),
    services: { provide: (n: string, v: unknown) => void services.set(n, v), get: <T>(n: string) => services.get(n) as T | undefined },
    status: () => ({ ...h.status, faults: Object.fromEntries(h.faults) }) as StatusSnapshot,
    journal: (type: string, fields: Record<string, unknown>) => {
      h.journal.push([type, fields]);
      return undefined as never;
    },
    setFault: (name: string, detail: string | null) => (detail === null ? h.faults.delete(name) : h.faults.set(name, detail)),
    setDegrade: (source: string, level: number) => h.degrade.push([source, level]),
    forceEndShift: (reason: string) => h.ends.push(reason),
  } as unknown as AgentContext;
  await h.ext.start(ctx);
  return h;
}

const events = (h: Harness): unknown[] => h.journal.filter(([t]) => t === 'power').map(([, f]) => f.event);

void test('battery: low is journaled once; critical ends the shift once, cleanly, and raises the fault', async () => {
  const h = await harness();
  const sim = h.hal.sim!;
  assert.deepEqual(h.reports.at(-1)?.[0], { percent: 87, voltageV: 3.95, charging: false, runtimeMin: 348 });
  h.status = { ...h.status, state: 'RECORDING', shiftId: 'S1' };
  sim.update({ batteryPct: 14 });
  await h.ext.tick();
  await h.ext.tick();
  assert.deepEqual(events(h), ['battery_low']);
  assert.deepEqual(h.ends, []);
  sim.update({ batteryPct: 4 });
  await h.ext.tick();
  await h.ext.tick();
  assert.deepEqual(events(h), ['battery_low', 'battery_critical']);
  assert.deepEqual(h.ends, ['battery_critical'], 'ends the shift once');
  assert.match(h.faults.get('battery_critical')!, /4%/);
  // A new shift started on a critical battery is ended too (once).
  h.status = { ...h.status, shiftId: 'S2' };
  await h.ext.tick();
  assert.deepEqual(h.ends, ['battery_critical', 'battery_critical']);
  // Charging clears it.
  sim.update({ charging: true, currentMa: 900 });
  await h.ext.tick();
  assert.equal(h.faults.has('battery_critical'), false);
  assert.deepEqual(events(h), ['battery_low', 'battery_critical', 'battery_charging']);
  await h.ext.stop();
});

void test('battery: cell voltage alone can be critical (an aged cell’s percent lies)', async () => {
  const h = await harness();
  h.status = { ...h.status, state: 'PAUSED', shiftId: 'S1' };
  h.hal.sim!.update({ batteryPct: 40, voltageV: 3.3 });
  await h.ext.tick();
  assert.deepEqual(h.ends, ['battery_critical']);
  await h.ext.stop();
});

void test('an implausible gauge is a gauge fault, never a reason to end a shift', async () => {
  const broken: Gauge = { kind: 'max17048', start: async () => {}, stop: async () => {}, read: async () => ({ percent: 0, voltageV: 0, charging: false, currentMa: undefined, runtimeMin: undefined }) };
  const h = await harness(simBoard(), broken);
  h.status = { ...h.status, state: 'RECORDING', shiftId: 'S1' };
  await h.ext.tick();
  assert.deepEqual(h.ends, []);
  assert.match(h.faults.get('gauge')!, /implausible/);
  assert.equal(h.reports.at(-1)?.[0], null);
  const failing: Gauge = { ...broken, read: async () => Promise.reject(new Error('Remote I/O error')) };
  const h2 = await harness(simBoard(), failing);
  assert.match(h2.faults.get('gauge')!, /Remote I\/O/);
  await h.ext.stop();
  await h2.ext.stop();
});

void test('thermal: each step degrades (journaled with its temperature), the last is overheating, hysteresis on the way down', async () => {
  const h = await harness();
  const sim = h.hal.sim!;
  // Policy 70/85 °C → steps at 70, 78 and 85 °C; leaving a step needs 3 °C below it.
  for (const c of [69, 70, 77, 78, 86, 83, 81, 75, 71, 66]) {
    sim.update({ tempC: c });
    await h.ext.tick();
  }
  assert.deepEqual(h.degrade, [['thermal', 1], ['thermal', 2], ['thermal', 3], ['thermal', 2], ['thermal', 1], ['thermal', 0]]);
  const steps = h.journal.filter(([, f]) => f.event === 'thermal').map(([, f]) => [f.temp_c, f.level]);
  assert.deepEqual(steps, [[70, 1], [78, 2], [86, 3], [81, 2], [71, 1], [66, 0]]);
  assert.equal(h.faults.has('overheating'), false);
  sim.update({ tempC: 90 });
  await h.ext.tick();
  assert.match(h.faults.get('overheating')!, /90 °C/);
  assert.deepEqual(h.ends, [], 'heat never ends a shift');
  assert.equal(h.reports.at(-1)?.[1], 90, "temperature reaches status");
  await h.ext.stop();
});

void test('watchdog: petted off duty; while recording only as segments keep coming (or a camera fault explains it)', async () => {
  const h = await harness();
  const before = h.pets();
  h.clock.advance(5000);
  assert.ok(h.pets() > before, 'off duty: petted');
  h.status = { ...h.status, state: 'RECORDING', shiftId: 'S1', lastSegmentAt: null };
  h.clock.advance(20_000);
  const during = h.pets();
  assert.ok(during > before, 'grace after entering RECORDING');
  for (let i = 0; i < 10; i++) {
    h.status = { ...h.status, lastSegmentAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i * 2)).toISOString() };
    h.clock.advance(2000);
  }
  assert.ok(h.pets() >= during + 10, 'segments sealed: petted');
  const stalled = h.pets();
  h.clock.advance(60_000);
  // stallS defaults to 30 s: pets stop within it.
  assert.ok(h.pets() - stalled <= 31, `stopped petting after the stall (${h.pets() - stalled} pets)`);
  const p1 = h.pets();
  h.clock.advance(10_000);
  assert.equal(h.pets(), p1, 'no pets while stalled');
  assert.equal((h.ext.status().watchdog as { petting: boolean }).petting, false);
  h.faults.set('camera', 'camera node does not exist');
  h.clock.advance(2000);
  assert.ok(h.pets() > p1, 'a camera fault explains the stall: petted');
  await h.ext.stop();
});

void test('thresholds: levels, hysteresis and cross-field rules', () => {
  const b = simBoard();
  const t = thresholdsOf(b, DEFAULT_POLICY);
  const r = (percent: number, voltageV = 3.8, charging = false) => ({ percent, voltageV, charging, currentMa: undefined, runtimeMin: undefined });
  assert.equal(batteryLevel(r(50), 'ok', t), 'ok');
  assert.equal(batteryLevel(r(15), 'ok', t), 'low');
  assert.equal(batteryLevel(r(16), 'low', t), 'low', 'needs 2 % margin to leave low');
  assert.equal(batteryLevel(r(18), 'low', t), 'ok');
  assert.equal(batteryLevel(r(6), 'critical', t), 'critical');
  assert.equal(batteryLevel(r(8), 'critical', t), 'low');
  assert.equal(batteryLevel(r(3, 3.8, true), 'critical', t), 'ok', 'charging is never critical');
  assert.equal(thermalLevel(69.9, 0, t), 0);
  assert.equal(thermalLevel(85, 0, t), 3);
  assert.equal(thermalLevel(83, 3, t), 3, 'hysteresis');
  assert.deepEqual(thresholdsOf(b, { ...DEFAULT_POLICY, batteryLowPct: 30, tempDegradeC: 60, tempCriticalC: 90 }).degradeC, [60, 75, 90]);
  b.watchdog.device = '/dev/watchdog';
  assert.deepEqual(powerIssues(b).map((i) => i.where), ['/watchdog/timeoutS']);
});
