/**
 * The pause budget (issue 10): per shift, at most N pauses per reason, at most T seconds paused in
 * all, and at least M seconds of recording between the end of one pause and the next (more after a
 * pause that ran out by itself: otherwise "wait for the auto-resume, press again" chains 30-min
 * SENSITIVE_SITE pauses for ever). Limits come from policy (bounded so central may only tighten).
 *
 * Pure. The usage is a fold over the shift's own journal records (`pause`, `resume`,
 * `pause_budget`), never a counter of its own: the daemon folds each record as it is written and,
 * after a restart, folds the journal it reopens — the evidence is the one source of truth, so the
 * budget survives crashes and power cuts with nothing extra persisted, and the offline verifier
 * computes exactly what the device enforced (agent/evidence/verify uses the same fold).
 */
import type { Policy } from '../config/policy.js';
import type { BudgetName, Effect, PauseReason, PauseUseReport } from './types.js';

export const PAUSE_REASONS: readonly PauseReason[] = ['PERSONAL_NEEDS', 'SENSITIVE_SITE'];

export type { BudgetName, PauseUseReport } from './types.js';

/** A budget warns central once per shift when its use crosses this fraction. */
export const WARN_FRACTION = 0.8;

type PerReason<T> = Readonly<Record<PauseReason, T>>;

export interface PauseUsage {
  /** Pauses started in this shift, per reason. */
  readonly pauses: PerReason<number>;
  /** Paused ms of the pauses already resumed, per reason (a pause in progress is not in here). */
  readonly pausedMs: PerReason<number>;
  /** Pauses refused by the budget, per reason. */
  readonly refused: PerReason<number>;
  /** The last resume: wall-clock ms and whether the wearer or the maximum ended the pause. */
  readonly lastResume: { readonly at: number; readonly cause: 'manual' | 'auto' } | null;
  /** Budgets already warned about at 80 % in this shift. */
  readonly warned: readonly BudgetName[];
}

export const NO_PAUSES: PauseUsage = Object.freeze({
  pauses: { PERSONAL_NEEDS: 0, SENSITIVE_SITE: 0 },
  pausedMs: { PERSONAL_NEEDS: 0, SENSITIVE_SITE: 0 },
  refused: { PERSONAL_NEEDS: 0, SENSITIVE_SITE: 0 },
  lastResume: null,
  warned: [],
});

const countBudget = (r: PauseReason): BudgetName => (r === 'PERSONAL_NEEDS' ? 'pauses_personal_needs' : 'pauses_sensitive_site');
const maxPauses = (p: Policy, r: PauseReason): number => (r === 'PERSONAL_NEEDS' ? p.pauseMaxPersonalNeeds : p.pauseMaxSensitiveSite);
const isReason = (v: unknown): v is PauseReason => v === 'PERSONAL_NEEDS' || v === 'SENSITIVE_SITE';
const bump = <T extends number>(o: PerReason<T>, r: PauseReason, by: number): PerReason<number> => ({ ...o, [r]: o[r] + by });

/** Paused ms of resumed pauses, all reasons. */
export const closedPausedMs = (u: PauseUsage): number => u.pausedMs.PERSONAL_NEEDS + u.pausedMs.SENSITIVE_SITE;

/** A journal record as the fold needs it (shift journal lines, parsed). */
export interface BudgetRecord {
  readonly type: string;
  readonly at?: unknown;
  readonly [k: string]: unknown;
}

/** One journal record folded into the usage. `shift_start` starts from nothing. */
export function foldPauseRecord(u: PauseUsage, r: BudgetRecord): PauseUsage {
  switch (r.type) {
    case 'shift_start':
      return NO_PAUSES;
    case 'pause':
      return isReason(r.reason) ? { ...u, pauses: bump(u.pauses, r.reason, 1) } : u;
    case 'resume': {
      const at = typeof r.at === 'string' ? Date.parse(r.at) : NaN;
      const ms = typeof r.paused_s === 'number' && Number.isFinite(r.paused_s) ? Math.max(0, r.paused_s * 1000) : 0;
      return {
        ...u,
        pausedMs: isReason(r.reason) ? bump(u.pausedMs, r.reason, ms) : u.pausedMs,
        lastResume: Number.isFinite(at) ? { at, cause: r.cause === 'auto' ? 'auto' : 'manual' } : u.lastResume,
      };
    }
    case 'pause_budget': {
      const budget = r.budget as BudgetName;
      if (r.what === 'warning' && !u.warned.includes(budget)) return { ...u, warned: [...u.warned, budget] };
      if (r.what === 'refused' && isReason(r.reason)) return { ...u, refused: bump(u.refused, r.reason, 1) };
      return u;
    }
    default:
      return u;
  }
}

export function pauseUsageOf(records: Iterable<BudgetRecord>): PauseUsage {
  let u = NO_PAUSES;
  for (const r of records) u = foldPauseRecord(u, r);
  return u;
}

export type PauseDecision =
  | { readonly ok: true; /** This pause's own maximum (s): the reason's, cut to the paused time left. */ readonly maxS: number }
  | { readonly ok: false; readonly budget: BudgetName; readonly used: number; readonly limit: number };

/** May a pause for `reason` start at `now`? Checked in this order: count, paused time, interval. */
export function decidePause(u: PauseUsage, reason: PauseReason, p: Policy, now: number, reasonMaxS: number): PauseDecision {
  const max = maxPauses(p, reason);
  if (u.pauses[reason] >= max) return { ok: false, budget: countBudget(reason), used: u.pauses[reason], limit: max };
  const leftS = Math.floor((p.pauseMaxTotalS * 1000 - closedPausedMs(u)) / 1000);
  // Under a second left is no pause at all: refuse rather than pause and resume at once.
  if (leftS < 1) return { ok: false, budget: 'paused_time', used: round1(closedPausedMs(u) / 1000), limit: p.pauseMaxTotalS };
  if (u.lastResume) {
    const needS = u.lastResume.cause === 'auto' ? Math.max(p.pauseMinRecordingS, p.pauseMinRecordingAfterAutoS) : p.pauseMinRecordingS;
    const recordedS = (now - u.lastResume.at) / 1000;
    if (recordedS < needS) return { ok: false, budget: 'min_recording', used: round1(Math.max(0, recordedS)), limit: needS };
  }
  return { ok: true, maxS: Math.min(reasonMaxS, leftS) };
}

/** The usage once a pause for `reason` has started (what the fold will say after its record). */
export const withPause = (u: PauseUsage, reason: PauseReason): PauseUsage => ({ ...u, pauses: bump(u.pauses, reason, 1) });

export interface OpenPause {
  readonly reason: PauseReason;
  /** Wall-clock ms the pause started. */
  readonly since: number;
}

/** Paused ms in all, counting a pause in progress up to `now`. */
export const pausedMsNow = (u: PauseUsage, open: OpenPause | null, now: number): number => closedPausedMs(u) + (open ? Math.max(0, now - open.since) : 0);

/**
 * Journal effects for every budget whose use has crossed 80 % and was not yet warned about, and,
 * during a pause whose paused-time warning is still ahead, the timer that brings it on time.
 */
export function budgetWarningEffects(u: PauseUsage, p: Policy, open: OpenPause | null, now: number): Effect[] {
  const out: Effect[] = [];
  for (const r of PAUSE_REASONS) {
    const b = countBudget(r);
    const max = maxPauses(p, r);
    if (!u.warned.includes(b) && u.pauses[r] >= WARN_FRACTION * max) {
      out.push({ t: 'journal', type: 'pause_budget', fields: { what: 'warning', budget: b, reason: r, used: u.pauses[r], limit: max } });
    }
  }
  if (!u.warned.includes('paused_time')) {
    const warnAtMs = WARN_FRACTION * p.pauseMaxTotalS * 1000;
    const used = pausedMsNow(u, open, now);
    if (used >= warnAtMs) {
      out.push({ t: 'journal', type: 'pause_budget', fields: { what: 'warning', budget: 'paused_time', used: round1(used / 1000), limit: p.pauseMaxTotalS } });
    } else if (open) {
      out.push({ t: 'timer', name: 'pause_budget_warning', ms: Math.ceil(warnAtMs - used) });
    }
  }
  return out;
}

/** A pause the budget refuses: the wearer feels `refused`, recording goes on, both records say which budget. */
export function refusedPauseEffects(gesture: string, reason: PauseReason, d: Extract<PauseDecision, { ok: false }>, pressedAt?: number): Effect[] {
  const press = pressedAt === undefined ? {} : { pressed_at: new Date(pressedAt).toISOString(), ack: 'haptic' };
  return [
    { t: 'journal', type: 'gesture', fields: { gesture, outcome: 'refused_pause_budget', feedback: 'refused', ...press, reason, budget: d.budget, used: d.used, limit: d.limit } },
    { t: 'journal', type: 'pause_budget', fields: { what: 'refused', budget: d.budget, reason, used: d.used, limit: d.limit } },
    { t: 'feedback', pattern: 'refused' },
  ];
}

export function pauseUseReport(u: PauseUsage, p: Policy, open: OpenPause | null, now: number): PauseUseReport {
  const per = (r: PauseReason) => ({
    pauses: u.pauses[r],
    maxPauses: maxPauses(p, r),
    pausedS: round1((u.pausedMs[r] + (open?.reason === r ? Math.max(0, now - open.since) : 0)) / 1000),
    refused: u.refused[r],
  });
  return {
    reasons: { PERSONAL_NEEDS: per('PERSONAL_NEEDS'), SENSITIVE_SITE: per('SENSITIVE_SITE') },
    pausedS: round1(pausedMsNow(u, open, now) / 1000),
    maxPausedS: p.pauseMaxTotalS,
    minRecordingS: p.pauseMinRecordingS,
    minRecordingAfterAutoS: p.pauseMinRecordingAfterAutoS,
    refused: u.refused.PERSONAL_NEEDS + u.refused.SENSITIVE_SITE,
    warned: u.warned,
  };
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
