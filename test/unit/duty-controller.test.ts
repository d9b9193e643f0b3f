/**
 * The duty room (agent/duty/controller.ts) on a fake clock and a real data dir (duty.json is
 * written atomically and read back by a second controller, as after an agent restart). The host
 * stands in for the daemon: it records what the controller asks of the shift machine.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../agent/lib/clock.js';
import { DEFAULT_POLICY, type Policy } from '../../agent/config/policy.js';
import { DutyController, DOCK_CHARGE_WAIT_MS, type DutyHost } from '../../agent/duty/controller.js';
import { createLogger } from '../../agent/lib/log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(policy: Partial<Policy> = {}, o: { dir?: string; clock?: FakeClock; docked?: boolean; runtimeMin?: number | null; arm?: boolean; charging?: () => boolean | null; machineIgnores?: boolean } = {}) {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'duty-'));
  if (!o.dir) dirs.push(dir);
  const clock = o.clock ?? new FakeClock(Date.UTC(2026, 10, 30, 8, 0, 0));
  const calls: string[] = [];
  const records: Array<Record<string, unknown>> = [];
  const faults = new Map<string, string>();
  const patterns: string[] = [];
  let onDuty = false;
  const p: Policy = { ...DEFAULT_POLICY, ...policy };
  const host: DutyHost = {
    clock,
    log: createLogger('duty-test'),
    policy: () => p,
    onDuty: () => onDuty,
    // The machine acts on a duty event — or ignores it (a shift still closing), as it journals.
    startShift: (t) => {
      calls.push(`start:${t}`);
      if (!o.machineIgnores) onDuty = true;
    },
    endShift: (r) => {
      calls.push(`end:${r}`);
      if (!o.machineIgnores) onDuty = false;
    },
    journal: (type, fields) => void records.push({ type, ...fields }),
    feedback: (pt) => void patterns.push(pt),
    setFault: (n, d) => void (d === null ? faults.delete(n) : faults.set(n, d)),
    batteryRuntimeMin: () => (o.runtimeMin === undefined ? 1000 : o.runtimeMin),
    // A dock that is a dock charges the battery: tests of the one-signal rule say otherwise.
    charging: o.charging ?? (() => true),
  };
  const c = new DutyController(dir, host);
  c.start(o.docked ?? true, null);
  if (o.arm !== false) c.arm();
  /** What the daemon does when the machine opens a shift: prepare, shift_start fields, then after. */
  const open = (shiftId: string, trigger: 'button' | 'dock' | 'central' | 'schedule') => {
    c.prepareShift(shiftId, trigger);
    const fields = c.startFields(shiftId);
    c.afterShiftStarted();
    return fields;
  };
  return { dir, clock, calls, records, faults, patterns, c, open, setOnDuty: (v: boolean) => void (onDuty = v) };
}

void test('dock rule on: undocking starts the shift (trigger dock) after the debounce; docking ends it', () => {
  const t = setup({ dutyDockStart: 1, dutyDockEnd: 1, dockDebounceS: 0.5 });
  t.c.dockChanged(false);
  t.clock.advance(499);
  assert.deepEqual(t.calls, []);
  t.clock.advance(1);
  assert.deepEqual(t.calls, ['start:dock']);
  t.c.dockChanged(true);
  t.clock.advance(500);
  assert.deepEqual(t.calls, ['start:dock', 'end:dock']);
});

void test('dock rule off: undocking and docking start and end nothing (the button still works)', () => {
  const t = setup({ dutyDockStart: 0, dutyDockEnd: 0 });
  t.c.dockChanged(false);
  t.clock.advance(1000);
  t.setOnDuty(true);
  t.c.dockChanged(true);
  t.clock.advance(1000);
  assert.deepEqual(t.calls, []);
});

void test('dock start on, dock end off: docking while on duty does not end the shift', () => {
  const t = setup({ dutyDockStart: 1, dutyDockEnd: 0 });
  t.c.dockChanged(false);
  t.clock.advance(1000);
  t.c.dockChanged(true);
  t.clock.advance(1000);
  assert.deepEqual(t.calls, ['start:dock']);
});

void test('wearer: an assignment binds the next shift (shift_start wearer) and no unassigned fault', () => {
  const t = setup();
  assert.equal(t.c.assignWearer('n1', { id: 'W-17', name: 'Ana Ilves' }).accepted, true);
  const f = t.open('S1', 'central');
  assert.deepEqual({ trigger: f.trigger, wearer: f.wearer }, { trigger: 'central', wearer: { id: 'W-17', name: 'Ana Ilves' } });
  assert.equal(t.faults.has('unassigned'), false);
  assert.deepEqual(t.c.status().wearer, { id: 'W-17', name: 'Ana Ilves' });
});

void test('wearer: without an assignment the shift starts with wearer null and the unassigned fault, cleared at shift end', () => {
  const t = setup();
  const f = t.open('S1', 'button');
  assert.equal(f.wearer, null);
  assert.match(t.faults.get('unassigned') ?? '', /no wearer assigned/);
  t.c.shiftClosed();
  assert.equal(t.faults.has('unassigned'), false);
  assert.equal(t.c.status().startTrigger, null);
});

void test('wearer: the assignment is valid until the camera is docked again (released and journaled)', () => {
  const t = setup({}, { docked: false });
  t.c.assignWearer('n1', { id: 'W-17', name: 'Ana Ilves' });
  t.c.dockChanged(true);
  t.clock.advance(1000);
  assert.equal(t.c.status().nextWearer, null);
  assert.deepEqual(t.records.at(-1), { type: 'duty', what: 'wearer_released', wearer: { id: 'W-17', name: 'Ana Ilves' }, cause: 'docked' });
  assert.equal(t.open('S2', 'button').wearer, null);
});

void test('central: start_duty starts off duty, is refused on duty; end_duty ends on duty, is refused off duty', async () => {
  const t = setup();
  assert.deepEqual(await t.c.endDuty('a', t.clock.now()), { accepted: false, refusal: 'rejected', reason: 'not on duty: no shift to end' });
  assert.equal((await t.c.startDuty('b')).accepted, true);
  assert.equal((await t.c.startDuty('c')).accepted, false);
  assert.equal((await t.c.endDuty('d', t.clock.now())).accepted, true);
  assert.deepEqual(t.calls, ['start:central', 'end:central']);
});

void test('central: with dutyCentral 0 start_duty, end_duty and schedule_duty are refused', async () => {
  const t = setup({ dutyCentral: 0 });
  assert.equal((await t.c.startDuty('a')).refusal, 'rejected');
  assert.equal(t.c.scheduleDuty('b', t.clock.now() + 1000, t.clock.now() + 2000).refusal, 'rejected');
  t.setOnDuty(true);
  assert.equal((await t.c.endDuty('c', t.clock.now())).refusal, 'rejected');
  assert.deepEqual(t.calls, []);
});

void test('schedule: starts the shift at its start (trigger schedule), warns wearer and central at its end while on duty', () => {
  const t = setup();
  const now = t.clock.now();
  assert.equal(t.c.scheduleDuty('n1', now + 60_000, now + 3_600_000).accepted, true);
  t.clock.advance(59_999);
  assert.deepEqual(t.calls, []);
  t.clock.advance(1);
  assert.deepEqual(t.calls, ['start:schedule']);
  t.clock.advance(3_540_000);
  assert.deepEqual(t.calls, ['start:schedule'], 'the end of the window never ends the shift');
  const overrun = t.records.find((r) => r.what === 'schedule_overrun');
  assert.ok(overrun, 'overrun journaled (a duty record: an event to central)');
  assert.equal(overrun.expected_end, new Date(now + 3_600_000).toISOString());
  assert.deepEqual(t.patterns, ['refused'], 'the wearer is warned (buzz)');
  assert.equal(t.c.status().scheduledEnd, null);
});

void test('schedule: a window already over is refused (invalid argument)', () => {
  const t = setup();
  const r = t.c.scheduleDuty('n1', t.clock.now() - 7200_000, t.clock.now() - 1);
  assert.equal(r.refusal, 'invalid_argument');
});

void test('schedule and assignment survive a restart (duty.json), and the window still starts the shift', () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 30, 8, 0, 0));
  const a = setup({}, { clock });
  a.c.scheduleDuty('n1', clock.now() + 60_000, clock.now() + 7_200_000);
  a.c.assignWearer('n2', { id: 'W-3', name: 'Jaan Tamm' });
  a.c.stop();
  const saved = JSON.parse(readFileSync(join(a.dir, 'duty.json'), 'utf8')) as { window: { startMs: number } };
  assert.equal(saved.window.startMs, clock.now() + 60_000);
  const b = setup({}, { dir: a.dir, clock });
  assert.equal(b.c.status().nextWearer?.id, 'W-3');
  clock.advance(60_000);
  assert.deepEqual(a.calls, [], 'the stopped controller does nothing');
  assert.deepEqual(b.calls, ['start:schedule']);
});

void test('before arm() nothing acts: a passed window start and a dock edge wait for the resumed shift', () => {
  const a = setup();
  a.c.scheduleDuty('n1', a.clock.now() + 1000, a.clock.now() + 7_200_000);
  a.c.stop();
  a.clock.advance(5000);
  const b = setup({ dutyDockStart: 1 }, { dir: a.dir, clock: a.clock, docked: true, arm: false });
  b.c.dockChanged(false);
  a.clock.advance(2000);
  assert.deepEqual(b.calls, [], 'not armed: nothing starts');
  b.c.arm();
  assert.deepEqual(b.calls, ['start:schedule'], 'armed: the window that began while the agent was down starts the shift');
  b.c.stop();
});

void test('a damaged duty.json is ignored: no schedule, no assignment, no throw', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duty-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'duty.json'), '{"v":1,"window":{"startMs":"x"}');
  const t = setup({}, { dir });
  assert.equal(t.c.status().scheduledStart, null);
});

void test('battery forecast: a runtime shorter than the expected duty warns (buzz) and is journaled; never refuses', () => {
  const t = setup({ expectedShiftH: 12 }, { runtimeMin: 348 });
  t.open('S1', 'dock');
  const f = t.records.find((r) => r.what === 'battery_forecast');
  assert.deepEqual(f, { type: 'duty', what: 'battery_forecast', lasts: false, runtime_s: 20_880, expected_s: 43_200, short_s: 22_320, expected_from: 'policy' });
  assert.deepEqual(t.patterns, ['refused']);
  assert.equal(t.c.status().batteryShort, true);
});

void test('battery forecast: the duty window end is the expected length when there is one', () => {
  const t = setup({}, { runtimeMin: 90 });
  t.c.scheduleDuty('n1', t.clock.now() - 1000, t.clock.now() + 3_600_000);
  t.setOnDuty(false);
  t.open('S1', 'schedule');
  const f = t.records.find((r) => r.what === 'battery_forecast');
  assert.equal(f?.lasts, true);
  assert.equal(f?.expected_from, 'duty_window');
  assert.deepEqual(t.patterns, []);
});

void test('resume after restart: a lost duty.json is rebuilt from the shift_start record', () => {
  const t = setup();
  t.c.resumed('S9', { type: 'shift_start', trigger: 'central', wearer: { id: 'W-1', name: 'A B' } });
  assert.deepEqual({ t: t.c.status().startTrigger, w: t.c.status().wearer }, { t: 'central', w: { id: 'W-1', name: 'A B' } });
  t.c.resumed('S8', { type: 'shift_start', wearer: null });
  assert.equal(t.c.status().startTrigger, 'button');
  assert.ok(t.faults.has('unassigned'));
});

void test('central: an end_duty issued before the open shift began is refused (it was meant for an earlier shift); one issued after ends it', async () => {
  const t = setup();
  const issuedEarlier = t.clock.now();
  t.clock.advance(60_000);
  assert.equal((await t.c.startDuty('s')).accepted, true);
  t.open('S-new', 'central');
  const late = await t.c.endDuty('late', issuedEarlier);
  assert.equal(late.accepted, false);
  assert.match(late.reason, /before this shift opened/);
  assert.deepEqual(t.calls, ['start:central']);
  assert.equal((await t.c.endDuty('now', t.clock.now())).accepted, true);
  assert.deepEqual(t.calls, ['start:central', 'end:central']);
});

void test('dock end needs the charger too: a dock contact without charging is refused after the wait and journaled with both signals', () => {
  let charging: boolean | null = false;
  const t = setup({ dutyDockStart: 1, dutyDockEnd: 1, dockDebounceS: 0.5 }, { docked: false, charging: () => charging });
  t.setOnDuty(true);
  t.c.dockChanged(true);
  t.clock.advance(500 + DOCK_CHARGE_WAIT_MS);
  assert.deepEqual(t.calls, [], 'one signal (the contact) ends nothing');
  assert.deepEqual(
    { what: t.records.at(-1)?.what, dock: t.records.at(-1)?.dock, charging: t.records.at(-1)?.charging },
    { what: 'dock_end_refused', dock: true, charging: false },
  );
  // Off the dock and back, and this time the charger confirms within the wait.
  t.c.dockChanged(false);
  t.clock.advance(500);
  t.c.dockChanged(true);
  t.clock.advance(500 + 2000);
  charging = true;
  t.clock.advance(1000);
  assert.deepEqual(t.calls, ['end:dock']);
  assert.deepEqual(t.records.find((r) => r.what === 'dock_end'), { type: 'duty', what: 'dock_end', docked_at: t.records.find((r) => r.what === 'dock_end')?.docked_at, dock: true, charging: true });
});

void test('dock end on a board without a charging signal is refused: a contact alone never ends a shift', () => {
  const t = setup({ dutyDockEnd: 1, dockDebounceS: 0.5 }, { docked: false, charging: () => null });
  t.setOnDuty(true);
  t.c.dockChanged(true);
  t.clock.advance(500 + DOCK_CHARGE_WAIT_MS);
  assert.deepEqual(t.calls, []);
  assert.match(String(t.records.at(-1)?.reason), /no charging signal/);
});

void test('a camera undocked while the agent starts (before arm) is acted on at arm, not swallowed', () => {
  const t = setup({ dutyDockStart: 1, dockDebounceS: 0.5 }, { docked: true, arm: false });
  t.c.dockChanged(false);
  t.clock.advance(2000);
  assert.deepEqual(t.calls, [], 'nothing acts before arm');
  t.c.arm();
  t.clock.advance(500);
  assert.deepEqual(t.calls, ['start:dock']);
});

void test('a wall-clock step re-arms the duty window: a forward step of 1 h starts the scheduled shift at once, not an hour late', () => {
  const t = setup();
  const start = t.clock.now() + 2 * 3600_000;
  assert.equal(t.c.scheduleDuty('w', start, start + 3600_000).accepted, true);
  // NTP corrects the camera's clock forward by 2 h: the window's start is now.
  t.clock.step(2 * 3600_000);
  t.clock.advance(1000);
  assert.deepEqual(t.calls, [], 'the timer armed as a duration has not fired');
  t.c.clockStepped();
  t.clock.advance(0);
  assert.deepEqual(t.calls, ['start:schedule']);
});

void test('a backward step re-arms the duty window too: the shift does not start before the window on the corrected clock', () => {
  const t = setup();
  const start = t.clock.now() + 60_000;
  t.c.scheduleDuty('w', start, start + 3600_000);
  t.clock.step(-3600_000);
  t.c.clockStepped();
  t.clock.advance(60_000);
  assert.deepEqual(t.calls, [], 'an hour before the window on the corrected clock');
  t.clock.advance(3600_000);
  assert.deepEqual(t.calls, ['start:schedule']);
});

void test('central: start_duty / end_duty answer what the machine did — a start or an end it ignored is refused, not "accepted"', async () => {
  const t = setup({}, { machineIgnores: true });
  const start = await t.c.startDuty('s');
  assert.deepEqual({ accepted: start.accepted, refusal: start.refusal }, { accepted: false, refusal: 'rejected' });
  assert.match(start.reason, /did not start a shift/);
  t.setOnDuty(true);
  const end = await t.c.endDuty('e', t.clock.now());
  assert.deepEqual({ accepted: end.accepted, refusal: end.refusal }, { accepted: false, refusal: 'rejected' });
  assert.match(end.reason, /did not end the shift/);
  assert.deepEqual(t.calls, ['start:central', 'end:central']);
});
