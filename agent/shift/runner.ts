/**
 * The shift runner: the thin shell around the pure machine (shift/machine.ts). It serialises
 * events in one queue, executes the effects a transition returns, opens and closes shifts, and
 * persists the state.
 *
 * Transitions are all-or-nothing: the new state and the effects it still owes are persisted
 * before the effects run; an effect that fails stays owed (persisted), raises the `transition`
 * fault and is retried, paced by the shared backoff, until it succeeds — and status never says
 * RECORDING while nothing records (it says FAULT).
 */
import { join } from 'node:path';
import { systemClock, type Timer } from '../lib/clock.js';
import { Backoff } from '../lib/backoff.js';
import { describe } from '../lib/errors.js';
import type { JournalRecord } from '../evidence/journal.js';
import type { ShiftEvidence } from '../evidence/shift-evidence.js';
import { ENCODER_FAULTS } from '../recording/pipeline.js';
import { FIRMWARE_VERSION } from '../version.js';
import { timeProvenance } from '../location/time-provenance.js';
import { shiftStateTimes, transition, type Effect, type ShiftEvent, type ShiftState, type TimerName } from './machine.js';
import { NO_PAUSES, type PauseUsage } from './pause-budget.js';
import { CustodyTracker } from './custody-status.js';
import type { StateStore } from './state-store.js';
import type { Gesture } from './gestures.js';
import type { Core } from '../parts.js';
import { evidenceClock } from '../lib/evidence-clock.js';

export class ShiftRunner {
  state: ShiftState = { name: 'OFF_DUTY' };
  /** Effects of the last transition(s) not yet carried out, in order. */
  owed: Effect[] = [];
  owedRetry: NodeJS.Timeout | undefined;
  owedAttempts = 0;
  readonly owedBackoff = new Backoff({ initialMs: 500, maxMs: 15_000, jitter: 0.3 });
  readonly timers = new Map<TimerName, Timer>();
  /** The open shift's pause-budget use: folded from its journal records as they are written. */
  pauseUsage: PauseUsage = NO_PAUSES;
  /** The shift the next one continues (its `shift_start.continues`): set when a damaged journal closed it. */
  continuation: { shift_id: string; cause: 'journal_damaged' } | undefined;
  stopping = false;
  /** Custody: period number, start, rotations, last confirmed period (status `ext.custody`). */
  readonly custody: CustodyTracker;
  /** Custody: the next period rotation (armPeriod). */
  private periodTimer: Timer | undefined;
  private persistQueued = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly c: Core,
    private readonly store: StateStore,
  ) {
    this.custody = new CustodyTracker(join(c.dataDir, 'shifts'));
  }

  /** Resolves once every queued event and task has run. */
  get settled(): Promise<void> {
    return this.queue;
  }

  get onDuty(): boolean {
    return this.state.name === 'RECORDING' || this.state.name === 'PAUSED';
  }

  /** Stop: no retry is scheduled any more, the queue runs out, the machine's timers are cancelled. */
  async drain(): Promise<void> {
    if (this.owedRetry) clearTimeout(this.owedRetry);
    await this.queue.catch(() => undefined);
    for (const t of this.timers.values()) t.cancel();
    this.periodTimer?.cancel();
  }

  /** Serialises machine events: each runs its effects to completion before the next. */
  dispatch(e: ShiftEvent): Promise<void> {
    return this.dispatchTask(() => this.apply(e));
  }

  /** Runs a task in the machine's queue so it never interleaves with a transition. */
  dispatchTask(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn).catch((err: unknown) => {
      this.c.log.error('task failed', { err });
      this.c.faults.set('agent', describe(err));
    });
    this.queue = next;
    return next;
  }

  async apply(e: ShiftEvent): Promise<void> {
    const now = evidenceClock.now();
    const t = transition(this.state, e, this.c.policy(), now, () => this.newShiftId(now), this.pauseUsage);
    const before = this.state;
    this.state = t.state;
    this.owed.push(...t.effects);
    // The new state and what it owes are on disk before any effect runs.
    if (before !== t.state || this.owed.length) this.persist(false);
    await this.runOwed(now);
    if (before.name !== t.state.name) this.c.log.info('state', { from: before.name, to: t.state.name, shiftId: 'shiftId' in t.state ? t.state.shiftId : undefined });
    this.c.statusChanged();
  }

  /**
   * Carries out the owed effects in order. The first that fails stops the run: it stays owed
   * (persisted), the `transition` fault says which and why, and a paced retry follows.
   */
  private async runOwed(now = evidenceClock.now()): Promise<void> {
    if (this.owedRetry) clearTimeout(this.owedRetry);
    this.owedRetry = undefined;
    const hadOwed = this.owed.length > 0;
    if (hadOwed) this.owedAttempts++;
    while (this.owed.length) {
      const eff = this.owed[0]!;
      try {
        await this.execute(eff, now);
      } catch (err) {
        const delay = this.owedBackoff.next();
        this.c.faults.set('transition', `${eff.t}${'action' in eff ? ` ${eff.action}` : ''} failed: ${describe(err)}; retrying in ${Math.round(delay / 1000)} s`);
        this.c.log.error('effect failed; the transition stays owed', { effect: eff.t, err, retryInMs: delay });
        this.persist(false);
        if (!this.stopping) {
          this.owedRetry = setTimeout(() => void this.dispatchTask(() => this.runOwed()), delay);
        }
        this.c.statusChanged();
        return;
      }
      this.owed.shift();
    }
    if (hadOwed) {
      this.owedBackoff.reset();
      this.c.faults.clear('transition');
      this.persist(false);
    }
  }

  private async execute(eff: Effect, now: number): Promise<void> {
    const { parts } = this.c;
    switch (eff.t) {
      case 'open_shift':
        parts.duty?.prepareShift(eff.shiftId, eff.trigger ?? 'button');
        this.openShift(eff.shiftId, now);
        return;
      case 'journal':
        // Stamped at write time: `at` never goes backwards even when a seal ran in between.
        this.c.journal(eff.type, eff.fields);
        return;
      case 'timer': {
        this.timers.get(eff.name)?.cancel();
        this.timers.delete(eff.name);
        if (eff.ms !== null) {
          const name = eff.name;
          this.timers.set(name, systemClock.setTimer(eff.ms, () => void this.dispatch({ type: name })));
        }
        return;
      }
      case 'feedback':
        parts.feedback?.play(eff.pattern);
        return;
      case 'encoder':
        // The gap to the first frame runs from the transition's decision (the instant shift_start
        // or the resume is stamped with), not from when this effect got the CPU: under load the
        // two differ by hundreds of ms, and that interval must be accounted for.
        if (eff.action === 'start') await parts.pipeline!.begin(eff.reason === 'resume' ? 'resume' : 'start', now, 'encoder_start');
        else await parts.pipeline!.end(evidenceClock.now());
        return;
      case 'close_shift':
        await this.closeShift(eff.reason, now);
        void this.dispatch({ type: 'closed' });
        return;
    }
  }

  onGesture(g: Gesture): void {
    this.c.log.info('gesture', { gesture: g.kind, heldS: g.heldS });
    void this.dispatch({ type: 'gesture', gesture: g.kind, ...(g.heldS !== undefined ? { heldS: g.heldS } : {}), ...(g.pressedAt !== undefined ? { pressedAt: g.pressedAt } : {}) });
  }

  private newShiftId(now: number): string {
    const ts = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return `${ts}-${this.c.deviceId}`;
  }

  // ---------------------------------------------------------------- shifts

  openShift(shiftId: string, now: number, visit?: (r: JournalRecord) => void): ReturnType<ShiftEvidence['open']> {
    const { evidence, parts } = this.c;
    const wasOpen = evidence.current?.shiftId === shiftId;
    const opened = evidence.open(shiftId, now, () => ({
      ...this.startFields(shiftId),
      // Custody: a duty's first period (a rotation's successor says its own number).
      ...(this.c.policy().custody === 1 ? { period: 1 } : {}),
      ...(this.continuation ? { continues: this.continuation } : {}),
    }), visit);
    this.continuation = undefined;
    this.armPeriod();
    if (!wasOpen) {
      parts.pipeline!.shiftOpened();
      parts.location?.shiftOpened();
      if (opened.existing.length === 0) {
        // Queued behind this transition: the encoder start comes first (no hole after shift_start).
        void this.dispatchTask(async () => parts.duty?.afterShiftStarted());
        const f = parts.guard?.forecast(parts.pipeline!.fullRateBytesPerS());
        if (f && !f.fits) parts.feedback?.play('refused');
      }
    }
    return opened;
  }

  private startFields(shiftId: string): Record<string, unknown> {
    const { parts } = this.c;
    return {
      shift_id: shiftId,
      device_id: this.c.deviceId,
      board: this.c.board.name,
      firmware: FIRMWARE_VERSION,
      boot_id: this.c.bootId,
      policy: this.c.policy(),
      clock: parts.clockWatch?.report ?? null,
      ...parts.duty?.startFields(shiftId),
    };
  }

  // ---------------------------------------------------------------- custody periods

  /**
   * Custody: arms the open period's rotation at its start + its `periodS` (its start: the rotation
   * instant that opened it, else its shift_start; its length: the policy its shift_start journaled,
   * so a `periodS` changed mid-period applies from the next period) — at once when that is past (a
   * restart after the period's end: the gap is journaled in the period it belongs to, then it rotates).
   */
  armPeriod(): void {
    this.periodTimer?.cancel();
    this.periodTimer = undefined;
    const cur = this.c.evidence.current;
    const p = this.c.policy();
    if (p.custody !== 1 || !cur || this.stopping) return;
    const due = (cur.rotatedAt ?? Date.parse(cur.startedAt)) + (cur.periodS ?? p.periodS) * 1000;
    const shiftId = cur.shiftId;
    this.periodTimer = systemClock.setTimer(Math.max(0, due - evidenceClock.now()), () => void this.dispatchTask(() => this.rotatePeriod(shiftId)));
  }

  /**
   * The period rotation (ShiftEvidence.rotate): the encoder is not touched. The closed period goes
   * to offload like any closed shift (`shiftClosed`), and the machine's state names the new period.
   */
  async rotatePeriod(shiftId: string): Promise<void> {
    const s = this.state;
    const { evidence, parts } = this.c;
    if (this.stopping || this.c.policy().custody !== 1 || (s.name !== 'RECORDING' && s.name !== 'PAUSED') || s.shiftId !== shiftId || evidence.current?.shiftId !== shiftId) return;
    const now = evidenceClock.now();
    const nextId = this.newShiftId(now);
    parts.duty?.prepareShift(nextId, 'custody');
    const { closed, opened } = await evidence.rotate(nextId, now, () => this.startFields(nextId));
    this.state = { ...s, shiftId: nextId };
    this.persist(false);
    this.custody.rotations++;
    parts.pipeline?.shiftOpened();
    void this.dispatchTask(async () => parts.duty?.afterShiftStarted());
    this.c.bus.fire('shiftClosed', closed.shiftId);
    this.c.log.info('custody period rotated', { closed: closed.shiftId, opened: nextId, period: opened.period });
    this.armPeriod();
    this.c.statusChanged();
  }

  async closeShift(reason: string, decidedAt: number): Promise<void> {
    const { parts } = this.c;
    this.periodTimer?.cancel();
    this.periodTimer = undefined;
    const s = await this.c.evidence.close(reason, decidedAt);
    if (!s) return;
    parts.guard?.shiftClosed();
    parts.duty?.shiftClosed();
    this.c.faults.clear('journal_damaged');
    this.persist(false);
    this.c.bus.fire('shiftClosed', s.shiftId);
    this.c.log.info('shift closed', { shiftId: s.shiftId, reason, segments: s.sealer.segments });
  }

  /** What each `segment` record says about where and on which clock it was recorded. */
  segmentFields(): Record<string, unknown> {
    const { parts } = this.c;
    const gnss = parts.hal?.gnss?.state();
    return {
      ...(parts.location ? { location: parts.location.segmentLocation() } : {}),
      clock: timeProvenance(parts.clockWatch?.report, gnss?.fix, performance.now()),
    };
  }

  onSealed(): void {
    const { parts } = this.c;
    parts.pipeline?.noteHealthy();
    // The last segment of a run stopped at the storage floor proves nothing about the fault.
    // One statfs per segment: the guard's look decides both its thresholds and the hold.
    const below = parts.guard?.check() ?? false;
    const held = parts.pipeline?.haltedFor ?? (below ? 'storage_full' : undefined);
    for (const f of ENCODER_FAULTS) if (f !== held) this.c.faults.clear(f);
    this.c.statusChanged();
  }

  /**
   * Evidence time stepped (a journaled wall-clock step): the state's instants — a pause's start
   * and deadline, an armed end — move with it, so `paused_s` and time left stay true.
   */
  clockStepped(stepMs: number): void {
    this.state = shiftStateTimes(this.state, stepMs);
    this.persist(false);
  }

  // ---------------------------------------------------------------- persistence

  /** Coalesces the persists of one tick (a gap ends and the next begins in the same seal). */
  persistSoon(): void {
    if (this.persistQueued || this.stopping) return;
    this.persistQueued = true;
    queueMicrotask(() => {
      this.persistQueued = false;
      this.persist(false);
    });
  }

  persist(clean: boolean): void {
    try {
      this.store.save({ shift: this.state, bootId: this.c.bootId, lastRun: this.c.parts.pipeline?.lastRun ?? 0, clean, owed: this.owed, pendingGap: this.c.evidence.current?.sealer.pending ?? null });
      this.c.faults.clear('storage');
    } catch (e) {
      this.c.faults.set('storage', `cannot persist state: ${describe(e)}`);
    }
  }
}
