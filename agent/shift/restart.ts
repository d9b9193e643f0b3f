/**
 * Restart recovery: what the last run left (state.json, or the journals when it is lost), the
 * open shift resumed at once with the interval accounted for, the damaged-journal continuation,
 * and the journal records a transition decided before the restart but may not have written.
 * Its drain is the other half: the clean stop that the next start reads back.
 */
import { describe } from '../lib/errors.js';
import { systemClock } from '../lib/clock.js';
import { isShiftClosedError } from '../evidence/shift-evidence.js';
import { isJournalDamagedError, isoMs, type JournalRecord } from '../evidence/journal.js';
import { findOpenShiftId, findRotatedSuccessor } from '../evidence/open-shift.js';
import type { GapCause } from '../evidence/sealer.js';
import { FIRMWARE_VERSION } from '../version.js';
import { shiftStateTimes, type Effect, type ShiftState } from './machine.js';
import { DEFAULT_STEP_THRESHOLD_MS } from '../../hal/clock/step-detector.js';
import { NO_PAUSES, foldPauseRecord } from './pause-budget.js';
import type { PersistedState, StateStore } from './state-store.js';
import type { ShiftRunner } from './runner.js';
import type { Core } from '../parts.js';
import { evidenceClock } from '../lib/evidence-clock.js';

export class ShiftRestart {
  /** What the last run persisted (or the journals tell), read by start(); duty needs it before resume(). */
  persisted: PersistedState | undefined;

  constructor(
    private readonly c: Core,
    private readonly store: StateStore,
    private readonly runner: ShiftRunner,
  ) {}

  start(): void {
    this.persisted = this.loadState();
  }

  /**
   * The open shift resumes (or the device is off duty) and owed records are replayed. The control
   * socket opens only after this (or after its retry is scheduled, status FAULT): before that,
   * `status` would answer OFF_DUTY for a camera that is on duty.
   */
  async resume(): Promise<void> {
    const { evidence, board, parts } = this.c;
    const persisted = this.persisted;
    evidence.deviceJournal.append('note', { what: 'agent_started', firmware: FIRMWARE_VERSION, board: board.name, boot_id: this.c.bootId, device_id: this.c.deviceId });
    if (persisted && persisted.shift.name !== 'OFF_DUTY') await this.runner.dispatchTask(() => this.resumeWithRetry(persisted));
    else {
      parts.feedback!.setBase('off_duty');
      this.runner.persist(false);
    }
    if (persisted?.owed?.length) await this.runner.dispatchTask(() => this.replayOwedRecords(persisted.owed ?? []));
  }

  /** The last records of this run: the open shift suspended (not closed) and the state saved clean. */
  async drain(): Promise<void> {
    await this.c.evidence.suspend(evidenceClock.now());
    this.runner.persist(true);
    this.c.evidence.deviceJournal.append('note', { what: 'agent_stopped' });
  }

  /**
   * The persisted state, or — when state.json is missing or unreadable — the open shift the
   * journals tell of (a shift whose journal has no shift_end at all), or off duty.
   */
  private loadState(): PersistedState | undefined {
    const p = this.store.load();
    if (p) return p;
    const id = findOpenShiftId(this.c.dataDir);
    if (!id) return undefined;
    this.c.log.warn('no readable state file: resuming the shift whose journal has no shift_end', { shiftId: id });
    // The device journal still tells whether this is the same boot (agent crash) or a new one.
    return { v: 1, shift: { name: 'RECORDING', shiftId: id, endArmedUntil: null }, bootId: this.c.evidence.previousBootId ?? 'unknown', lastRun: 0, clean: false, at: '', owed: [] };
  }

  /**
   * Resumes, and if that fails (the stage dir is gone, the disk is unreadable…) says so — the
   * persisted state stands, status shows FAULT — and tries again, paced, until it works.
   */
  private async resumeWithRetry(p: PersistedState): Promise<void> {
    const r = this.runner;
    r.owedAttempts++;
    try {
      await this.resumeAfterRestart(p);
      this.c.faults.clear('transition');
      r.owedBackoff.reset();
    } catch (err) {
      r.state = p.shift;
      const delay = r.owedBackoff.next();
      this.c.faults.set('transition', `resuming shift ${'shiftId' in p.shift ? p.shift.shiftId : ''} failed: ${describe(err)}; retrying in ${Math.round(delay / 1000)} s`);
      this.c.log.error('resume after restart failed; retrying', { err, retryInMs: delay });
      if (!r.stopping) r.owedRetry = setTimeout(() => void r.dispatchTask(() => this.resumeWithRetry(p)), delay);
      this.c.statusChanged();
    }
  }

  /** The agent (re)started with a shift open: account for the interval and resume at once. */
  private async resumeAfterRestart(persisted: PersistedState): Promise<void> {
    let p = persisted;
    const { evidence, parts } = this.c;
    const r = this.runner;
    let shift = p.shift as Exclude<ShiftState, { name: 'OFF_DUTY' }>;
    const now = evidenceClock.now();
    const cause: GapCause = p.clean ? 'agent_stopped' : p.bootId !== this.c.bootId ? 'power_loss' : 'agent_restart';
    let existing;
    // The pause budget is whatever the journal says was used (every record, not the restart's
    // view of them): nothing else to persist. So is custody's last confirmed period (the open
    // period's journal holds the confirmations journaled since it opened).
    let pauses = NO_PAUSES;
    let damaged: { setAside: string; message: string } | undefined;
    try {
      existing = r.openShift(shift.shiftId, now, (rec) => {
        pauses = foldPauseRecord(pauses, rec);
        r.custody.noteRecord(rec);
      }).existing;
    } catch (e) {
      if (isShiftClosedError(e)) {
        // Custody: saved just before a rotation, it names the period the rotation closed; the
        // period that continues it is the one to resume (the restart's gap is journaled there).
        const next = this.c.policy().custody === 1 ? findRotatedSuccessor(this.c.dataDir, shift.shiftId) : undefined;
        if (next) {
          this.c.log.warn('state file names a period closed by rotation: resuming the period that continues it', { closed: shift.shiftId, resumed: next });
          evidence.deviceJournal.append('recovery', { what: 'state_names_rotated_period', shift_id: shift.shiftId, resumed: next });
          return this.resumeAfterRestart({ ...p, shift: { name: 'RECORDING', shiftId: next, endArmedUntil: null }, pendingGap: null });
        }
        // A stale state file names a closed shift: it stays sealed; the device is off duty.
        this.c.log.warn('state file names a closed shift: it is not reopened', { shiftId: shift.shiftId });
        evidence.deviceJournal.append('recovery', { what: 'stale_state_closed_shift', shift_id: shift.shiftId });
        r.state = { name: 'OFF_DUTY' };
        parts.feedback?.setBase('off_duty');
        r.persist(false);
        return;
      }
      if (!isJournalDamagedError(e)) throw e;
      const d = evidence.openDamaged(shift.shiftId, e, now);
      existing = d.existing;
      damaged = { setAside: d.setAside, message: e.message };
    }
    // A clock behind the journal (an RTC that lost power, a board that booted before its time sync):
    // journaled as a step, so everything from here on is on this clock and maps back by it, and the
    // pause's deadline moves with it — a pause must not run longer because the clock went back.
    const clockOffsetMs = this.clockBehindJournal(existing, p, now);
    if (clockOffsetMs !== 0) {
      shift = shiftStateTimes(shift, clockOffsetMs) as typeof shift;
      if (p.pendingGap) p = { ...p, pendingGap: { ...p.pendingGap, start: p.pendingGap.start + clockOffsetMs } };
    }
    parts.duty?.resumed(shift.shiftId, existing[0]?.type === 'shift_start' ? existing[0] : undefined);
    r.pauseUsage = pauses;
    const pipeline = parts.pipeline!;
    // Run numbers go on from the journal's if the state file lost them.
    const journaledRun = Math.max(0, ...existing.filter((rec) => rec.type === 'segment').map((rec) => Number(rec.run) || 0));
    pipeline.lastRun = Math.max(p.lastRun, journaledRun);
    this.c.log.warn('resuming open shift after restart', { shiftId: shift.shiftId, cause, state: shift.name });
    const since = await evidence.accountForRestart({
      existing,
      cause,
      previousBootId: p.bootId,
      bootId: this.c.bootId,
      state: shift.name,
      // The journal's highest run when the state file lost it: the killed run's unlisted segment is
      // then placed on that run's anchor, not guessed from its file's mtime.
      lastRun: pipeline.lastRun,
      pendingGap: shift.name === 'RECORDING' ? p.pendingGap ?? undefined : undefined,
      savedAt: Date.parse(p.at),
      clockOffsetMs,
    });
    if (damaged) return this.continueAfterDamage(shift.shiftId, damaged.setAside, damaged.message, since || now, cause, now);
    r.state = shift.name === 'CLOSING' ? shift : { ...shift, endArmedUntil: null };
    if (shift.name === 'RECORDING') {
      parts.feedback?.play('recording');
      await pipeline.begin('recover', since || now, cause);
    } else if (shift.name === 'PAUSED') {
      parts.feedback?.play('paused');
      const left = shift.until - now;
      if (left <= 0) void r.dispatch({ type: 'pause_expired' });
      else {
        r.timers.set('pause_expired', systemClock.setTimer(left, () => void r.dispatch({ type: 'pause_expired' })));
        const warnIn = left - this.c.policy().autoResumeWarningS * 1000;
        if (warnIn > 0) r.timers.set('pause_warning', systemClock.setTimer(warnIn, () => void r.dispatch({ type: 'pause_warning' })));
        void r.dispatch({ type: 'pause_budget_warning' }); // re-arms (or raises) the paused-time warning
      }
    } else {
      await r.closeShift(shift.reason, now);
      r.state = { name: 'OFF_DUTY' };
    }
    r.persist(false);
  }

  /**
   * The restarted shift's journal was damaged (openDamaged set it aside and opened it past the
   * damage; the restart is accounted for as ever). A bit flip must not silence the camera: the
   * shift is closed as damaged with what it proves, and recording starts again at once in a new
   * shift that names it (`shift_start.continues`, trigger `recovery`). A paused shift's pause is
   * not carried over: its record may be the damaged one, and recording more is the safe side.
   */
  private async continueAfterDamage(shiftId: string, setAside: string, message: string, since: number, cause: GapCause, now: number): Promise<void> {
    const r = this.runner;
    await this.c.evidence.closeDamaged(since, cause, now);
    this.c.bus.fire('shiftClosed', shiftId);
    r.state = { name: 'OFF_DUTY' };
    r.continuation = { shift_id: shiftId, cause: 'journal_damaged' };
    await r.apply({ type: 'duty_start', trigger: 'recovery' });
    this.c.faults.set('journal_damaged', `shift ${shiftId}: ${message}; set aside as ${setAside} and closed as damaged; recording continues in shift ${'shiftId' in r.state ? r.state.shiftId : '?'}`);
  }

  /**
   * The journal's last time (or the dead agent's last save) is ahead of this clock by more than a
   * step: journals a `time_sync` step (`behind_journal`, negative `step_ms`) on the old clock and
   * moves the journals' floors and the sealer's anchors by it. Returns the step, or 0.
   */
  private clockBehindJournal(existing: readonly JournalRecord[], p: PersistedState, now: number): number {
    const lastAt = Math.max(...[Date.parse(existing.at(-1)?.at ?? ''), Date.parse(p.at)].filter(Number.isFinite));
    if (!Number.isFinite(lastAt) || now >= lastAt - DEFAULT_STEP_THRESHOLD_MS) return 0;
    const stepMs = now - lastAt;
    this.c.log.warn('clock behind the journal at start: journaled as a step', { stepMs, journal: isoMs(lastAt), now: isoMs(now) });
    this.c.journal('time_sync', { what: 'behind_journal', step_ms: stepMs, before: isoMs(lastAt), after: isoMs(now) });
    this.c.evidence.clockStepped(stepMs);
    return stepMs;
  }

  /** Journal records a transition decided before the restart but may not have written. */
  private async replayOwedRecords(owed: readonly Effect[]): Promise<void> {
    for (const eff of owed) {
      if (eff.t === 'journal') this.c.journal(eff.type, { ...eff.fields, replayed_after_restart: true });
    }
  }
}
