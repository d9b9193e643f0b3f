/**
 * The duty room: decides when a trigger other than the button starts or ends a shift, who wears
 * the camera, and whether the battery will last the duty. It owns no shift state: it asks the
 * daemon (the host) to dispatch `duty_start` / `duty_end` events into the pure shift machine, and
 * the machine decides. Everything it knows is persisted in duty.json before it acts.
 *
 *   dock left  (dutyDockStart, off duty, debounced)  → duty_start(dock)
 *   dock back  (dutyDockEnd, on duty, debounced,     → duty_end(dock); the assignment lapses
 *               and the charger confirms within 15 s)   (one contact alone never ends a shift)
 *   start_duty / end_duty (dutyCentral)              → duty_start(central) / duty_end(central)
 *   schedule_duty (dutyCentral)                      → duty_start(schedule) at its start; at its end,
 *                                                      still on duty → `duty` overrun record + warning
 *   assign_wearer                                    → the next shift's wearer, until docked
 * A shift without a wearer still records: `wearer: null` and the `unassigned` fault.
 *
 * Duty commands are tied to issue order: an `end_duty` issued before the open shift began was
 * meant for an earlier one and is refused (a late team message must not end a new shift).
 */
import type { Clock, Timer } from '../lib/clock.js';
import type { Policy } from '../config/policy.js';
import type { Fields } from '../evidence/journal.js';
import type { FeedbackPattern } from '../shift/machine.js';
import { isoMs } from '../evidence/journal.js';
import { describe } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { DockTrigger } from './dock-trigger.js';
import { DutyStore, EMPTY_DUTY, type DutyFile } from './duty-store.js';
import { scheduleStep } from './schedule.js';
import { expectedDutyS, forecastBattery } from './battery-forecast.js';
import { START_TRIGGERS, type EndTrigger, type StartTrigger, type Wearer } from './types.js';

/** The longest a Node timer may wait (2^31 − 1 ms); longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * How long a dock contact waits for the charger to confirm it before a dock end is refused: the
 * gauge is read every 5 s by default (power.intervalS), and a charger takes a moment to start.
 */
export const DOCK_CHARGE_WAIT_MS = 15_000;
const DOCK_CHARGE_POLL_MS = 1000;

export interface DutyHost {
  readonly clock: Clock;
  policy(): Policy;
  /** RECORDING or PAUSED (a shift is open and not closing). */
  onDuty(): boolean;
  /**
   * Dispatches `duty_start` into the shift machine (it journals an ignored trigger itself);
   * resolves once the machine has acted on it.
   */
  startShift(trigger: Exclude<StartTrigger, 'button'>): void | Promise<void>;
  /** Dispatches `duty_end` into the shift machine. */
  endShift(reason: EndTrigger): void | Promise<void>;
  journal(type: string, fields: Fields): void;
  feedback(pattern: FeedbackPattern): void;
  setFault(name: string, detail: string | null): void;
  /** The last gauge reading's runtime estimate (min), null when unknown. */
  batteryRuntimeMin(): number | null;
  /** The last gauge reading says the battery charges (true), does not (false), or no gauge (null). */
  charging(): boolean | null;
  readonly log: Logger;
}

/** Outcome of a duty command, in the commands extension's terms. */
export interface DutyOutcome {
  readonly accepted: boolean;
  readonly refusal?: 'rejected' | 'invalid_argument' | 'unavailable';
  readonly reason: string;
}

/** What `ctx.services.get<DutyService>('duty')` offers the commands extension. */
export interface DutyService {
  startDuty(commandId: string): Promise<DutyOutcome>;
  endDuty(commandId: string, issuedAtMs: number): Promise<DutyOutcome>;
  scheduleDuty(commandId: string, startMs: number, endMs: number): DutyOutcome;
  assignWearer(commandId: string, wearer: Wearer): DutyOutcome;
}

/** Status section `ext.duty` (bodycam status, heartbeats). */
export interface DutyStatus {
  startTrigger: StartTrigger | null;
  wearer: Wearer | null;
  nextWearer: Wearer | null;
  scheduledStart: string | null;
  scheduledEnd: string | null;
  batteryShort: boolean;
  triggers: { dockStart: boolean; dockEnd: boolean; central: boolean };
}

export class DutyController implements DutyService {
  private readonly store: DutyStore;
  private file: DutyFile = EMPTY_DUTY;
  private readonly dock: DockTrigger;
  private scheduleTimer: Timer | undefined;
  private dockConfirm: Timer | undefined;
  private stopped = false;
  private armed = false;
  /** A dock level seen before arm(): acted on at arm() if it differs from the one at start. */
  private dockBeforeArm: boolean | undefined;

  constructor(dataDir: string, private readonly host: DutyHost) {
    this.store = new DutyStore(dataDir);
    this.dock = new DockTrigger(host.clock, () => host.policy().dockDebounceS * 1000, {
      undocked: (at) => this.onUndocked(at),
      docked: (at) => this.onDocked(at),
    });
  }

  /**
   * Loads duty.json and takes the dock's level as it is (never acted on). Nothing acts until
   * `arm()`: the daemon calls it once an open shift is resumed, so a duty window whose start
   * passed while the agent was down cannot open a second shift beside the resumed one.
   */
  start(docked: boolean | null, openShiftId: string | null): void {
    try {
      this.file = this.store.load();
    } catch (e) {
      this.host.log.error('duty.json unreadable: schedule and wearer assignment lost', { err: describe(e) });
      this.file = EMPTY_DUTY;
    }
    // A duty record for a shift that is no longer open (closed while the agent was down) is stale.
    if (this.file.current && this.file.current.shiftId !== openShiftId) this.file = { ...this.file, current: null };
    if (docked !== null) this.dock.initial(docked);
  }

  /** Starts acting: the duty window's timer runs and dock edges are taken. */
  arm(): void {
    this.armed = true;
    this.armSchedule();
    // A camera taken off (or put on) the dock while the agent started is a real edge: judged
    // against the level found at start, as any later one.
    if (this.dockBeforeArm !== undefined) this.dock.change(this.dockBeforeArm);
    this.dockBeforeArm = undefined;
  }

  stop(): void {
    this.stopped = true;
    this.dock.stop();
    this.scheduleTimer?.cancel();
    this.dockConfirm?.cancel();
  }

  /**
   * The wall clock stepped (ClockWatch): the duty window's timer was armed for a wall-clock
   * instant as a duration, which is now wrong by the step — armed again from the new clock.
   */
  clockStepped(): void {
    if (this.armed && !this.stopped) this.armSchedule();
  }

  // ---------------------------------------------------------------- inputs

  dockChanged(docked: boolean): void {
    if (!this.armed) {
      this.dockBeforeArm = docked;
      return;
    }
    if (!docked) this.cancelDockConfirm();
    this.dock.change(docked);
  }

  /**
   * The answer says what the machine did, not what was asked: it is given once the machine has
   * acted (a shift closing, say, ignores a start — and central must not hear "accepted").
   */
  async startDuty(commandId: string): Promise<DutyOutcome> {
    if (this.host.policy().dutyCentral !== 1) return { accepted: false, refusal: 'rejected', reason: 'central duty commands are off by policy (dutyCentral 0)' };
    if (this.host.onDuty()) return { accepted: false, refusal: 'rejected', reason: 'already on duty: the shift goes on' };
    this.host.log.info('start_duty', { commandId });
    await this.host.startShift('central');
    if (!this.host.onDuty()) return { accepted: false, refusal: 'rejected', reason: 'the shift machine did not start a shift (a shift is still closing): nothing started' };
    return { accepted: true, reason: 'duty started: recording' };
  }

  async endDuty(commandId: string, issuedAtMs: number): Promise<DutyOutcome> {
    if (this.host.policy().dutyCentral !== 1) return { accepted: false, refusal: 'rejected', reason: 'central duty commands are off by policy (dutyCentral 0)' };
    if (!this.host.onDuty()) return { accepted: false, refusal: 'rejected', reason: 'not on duty: no shift to end' };
    const opened = this.file.current?.startedAtMs;
    if (opened !== undefined && issuedAtMs < opened) {
      return { accepted: false, refusal: 'rejected', reason: `end_duty issued at ${isoMs(issuedAtMs)}, before this shift opened at ${isoMs(opened)}: it was meant for an earlier shift` };
    }
    this.host.log.info('end_duty', { commandId });
    await this.host.endShift('central');
    if (this.host.onDuty()) return { accepted: false, refusal: 'rejected', reason: 'the shift machine did not end the shift: it goes on' };
    return { accepted: true, reason: 'duty ended: shift closed' };
  }

  scheduleDuty(commandId: string, startMs: number, endMs: number): DutyOutcome {
    if (this.host.policy().dutyCentral !== 1) return { accepted: false, refusal: 'rejected', reason: 'central duty commands are off by policy (dutyCentral 0)' };
    const now = this.host.clock.now();
    if (endMs <= now) return { accepted: false, refusal: 'invalid_argument', reason: `the duty window ended at ${isoMs(endMs)}` };
    // Persisted before acting, so a restart keeps it.
    this.save({ ...this.file, window: { startMs, endMs, commandId, started: false } });
    this.armSchedule();
    return { accepted: true, reason: `duty window ${isoMs(startMs)} → ${isoMs(endMs)}` };
  }

  assignWearer(commandId: string, wearer: Wearer): DutyOutcome {
    this.save({ ...this.file, assignment: { ...wearer, commandId, at: this.host.clock.now() } });
    return { accepted: true, reason: `wearer ${wearer.id} (${wearer.name}) assigned to the next shift, until docked` };
  }

  // ---------------------------------------------------------------- the shift's side

  /**
   * A new shift is about to open (before its journal exists): binds the trigger and the assigned
   * wearer to it. Without a wearer the `unassigned` fault is raised now — recording goes on, and
   * central sees the fault in heartbeats and as an event. Idempotent per shift id (an owed
   * open_shift replayed after a restart does not rebind).
   */
  prepareShift(shiftId: string, trigger: StartTrigger): void {
    if (this.file.current?.shiftId === shiftId) return;
    const a = this.file.assignment;
    const wearer = a ? { id: a.id, name: a.name } : null;
    // In memory only: an fsync here would delay the first frame, and after a crash the shift's own
    // shift_start tells the trigger and wearer (resumed()). afterShiftStarted() persists it.
    this.file = { ...this.file, current: { shiftId, trigger, wearer, batteryShort: false, startedAtMs: this.host.clock.now() } };
    this.host.setFault('unassigned', wearer ? null : 'no wearer assigned to this shift (assign_wearer): recording goes on');
  }

  /** The `shift_start` fields of the shift prepared above: `trigger`, `wearer` (null: unassigned), the duty window. */
  startFields(shiftId: string): Fields {
    const cur = this.file.current?.shiftId === shiftId ? this.file.current : null;
    const w = this.file.window;
    return {
      trigger: cur?.trigger ?? 'button',
      wearer: cur?.wearer ?? null,
      ...(w && w.endMs > this.host.clock.now() ? { duty_window: { start: isoMs(w.startMs), end: isoMs(w.endMs), command_id: w.commandId } } : {}),
    };
  }

  /**
   * The agent restarted with this shift open: the duty comes from duty.json, or — when that was
   * lost — from the shift's own `shift_start` record.
   */
  resumed(shiftId: string, shiftStart: Record<string, unknown> | undefined): void {
    if (this.file.current?.shiftId !== shiftId) {
      const t = shiftStart?.trigger;
      const w = shiftStart?.wearer as { id?: unknown; name?: unknown } | null | undefined;
      const trigger: StartTrigger = typeof t === 'string' && START_TRIGGERS.includes(t as StartTrigger) ? (t as StartTrigger) : 'button';
      const wearer = w && typeof w.id === 'string' && typeof w.name === 'string' ? { id: w.id, name: w.name } : null;
      const at = Date.parse(String(shiftStart?.at));
      this.save({ ...this.file, current: { shiftId, trigger, wearer, batteryShort: false, ...(Number.isFinite(at) ? { startedAtMs: at } : {}) } });
    }
    if (!this.file.current?.wearer) this.host.setFault('unassigned', 'no wearer assigned to this shift (assign_wearer): recording goes on');
  }

  /**
   * After the new shift's encoder start was asked for (the daemon queues it behind the transition,
   * so nothing is written between `shift_start` and the first media): the battery forecast,
   * journaled in the shift (`duty` record), and the shift's duty persisted.
   */
  afterShiftStarted(): void {
    const cur = this.file.current;
    if (!cur) return;
    const now = this.host.clock.now();
    const w = this.file.window;
    const f = forecastBattery(this.host.batteryRuntimeMin(), expectedDutyS(now, w ? w.endMs : null, this.host.policy().expectedShiftH));
    this.host.journal('duty', { what: 'battery_forecast', lasts: f.lasts, runtime_s: f.runtimeS, expected_s: f.expectedS, short_s: f.shortS, expected_from: w && w.endMs > now ? 'duty_window' : 'policy' });
    this.save({ ...this.file, current: { ...cur, batteryShort: f.lasts === false } });
    if (f.lasts === false) {
      this.host.feedback('refused');
      this.host.log.warn('battery will not last the duty', { runtimeS: f.runtimeS, expectedS: f.expectedS });
    }
  }

  /** The shift is closed: its duty is over; the unassigned fault goes with it. */
  shiftClosed(): void {
    this.host.setFault('unassigned', null);
    if (this.file.current) this.save({ ...this.file, current: null });
  }

  status(): DutyStatus {
    const p = this.host.policy();
    const cur = this.file.current;
    const a = this.file.assignment;
    const w = this.file.window;
    return {
      startTrigger: cur?.trigger ?? null,
      wearer: cur?.wearer ?? null,
      nextWearer: a ? { id: a.id, name: a.name } : null,
      scheduledStart: w ? isoMs(w.startMs) : null,
      scheduledEnd: w ? isoMs(w.endMs) : null,
      batteryShort: cur?.batteryShort ?? false,
      triggers: { dockStart: p.dutyDockStart === 1, dockEnd: p.dutyDockEnd === 1, central: p.dutyCentral === 1 },
    };
  }

  // ---------------------------------------------------------------- internals

  private onUndocked(at: number): void {
    const p = this.host.policy();
    if (p.dutyDockStart !== 1 || this.host.onDuty()) return;
    this.host.log.info('undocked: duty starts', { at: isoMs(at) });
    void this.host.startShift('dock');
  }

  private onDocked(at: number): void {
    const p = this.host.policy();
    if (p.dutyDockEnd === 1 && this.host.onDuty()) this.confirmDockEnd(at, this.host.clock.now() + DOCK_CHARGE_WAIT_MS);
    // The assignment is valid until the camera is docked: the next wearer checks out anew. One
    // made at the kiosk after the camera was put down (within the debounce) is for the next wearer.
    if (this.file.assignment && this.file.assignment.at <= at) {
      const a = this.file.assignment;
      this.save({ ...this.file, assignment: null });
      this.host.journal('duty', { what: 'wearer_released', wearer: { id: a.id, name: a.name }, cause: 'docked' });
    }
  }

  /**
   * A dock contact alone never ends a shift (a shorted contact, a wearer pressing the pins — no
   * value may help a wearer stop recording): the charger must confirm it. Both signals are
   * journaled either way.
   */
  private confirmDockEnd(at: number, deadline: number): void {
    this.dockConfirm = undefined;
    if (this.stopped || !this.host.onDuty()) return;
    const charging = this.host.charging();
    if (charging === true) {
      this.host.log.info('docked and charging: duty ends (policy dutyDockEnd)', { at: isoMs(at) });
      this.host.journal('duty', { what: 'dock_end', docked_at: isoMs(at), dock: true, charging: true });
      void this.host.endShift('dock');
      return;
    }
    if (this.host.clock.now() < deadline) {
      this.dockConfirm = this.host.clock.setTimer(DOCK_CHARGE_POLL_MS, () => this.confirmDockEnd(at, deadline));
      return;
    }
    this.host.log.warn('dock contact without charging: the shift goes on', { at: isoMs(at), charging });
    this.host.journal('duty', { what: 'dock_end_refused', docked_at: isoMs(at), dock: true, charging, reason: charging === null ? 'no charging signal on this board: a dock contact alone does not end a shift' : 'the charger did not confirm the dock contact' });
    this.host.feedback('refused');
  }

  private cancelDockConfirm(): void {
    this.dockConfirm?.cancel();
    this.dockConfirm = undefined;
  }

  private armSchedule(): void {
    this.scheduleTimer?.cancel();
    this.scheduleTimer = undefined;
    if (this.stopped || !this.armed) return;
    const before = this.file.window;
    const step = scheduleStep(before, this.host.clock.now(), this.host.onDuty());
    if (step.window !== before) this.save({ ...this.file, window: step.window });
    for (const a of step.actions) {
      if (a === 'start') {
        this.host.log.info('duty window starts: shift starting');
        void this.host.startShift('schedule');
      } else {
        this.host.journal('duty', { what: 'schedule_overrun', expected_end: before ? isoMs(before.endMs) : undefined, command_id: before?.commandId, still: 'on_duty' });
        this.host.feedback('refused');
      }
    }
    if (step.wakeAt !== null) {
      const ms = Math.min(MAX_TIMER_MS, Math.max(0, step.wakeAt - this.host.clock.now()));
      this.scheduleTimer = this.host.clock.setTimer(ms, () => this.armSchedule());
    }
  }

  private save(f: DutyFile): void {
    this.file = f;
    try {
      this.store.save(f);
    } catch (e) {
      // Kept in memory: the duty goes on; only a restart would forget it.
      this.host.log.error('cannot persist duty.json', { err: describe(e) });
      this.host.setFault('duty_store', `cannot persist duty.json: ${describe(e)}`);
      return;
    }
    this.host.setFault('duty_store', null);
  }
}
