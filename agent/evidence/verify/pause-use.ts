/**
 * The verifier's view of the pause budget (issue 10): pauses and paused time per reason against
 * the limits of the policy the shift ran under (shift_start's, then each `policy` record), and
 * every pause the device refused or warned about, with its journal line. The counts come from the
 * same fold the device enforced them with (agent/shift/pause-budget.ts), so they agree.
 */
import { PAUSE_REASONS, foldPauseRecord, NO_PAUSES, type BudgetRecord } from '../../shift/pause-budget.js';
import type { Line, Rec } from './chain.js';
import type { PauseBudgetReport } from './report.js';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string => (typeof v === 'string' ? v : '?');

/** `pauseS`: paused seconds per reason as the timeline measured them (open pauses closed at the end). */
export function pauseBudgetOf(recs: readonly (Line & { rec: Rec })[], pauseS: Readonly<Record<string, number>>): PauseBudgetReport {
  let usage = NO_PAUSES;
  let policy: Record<string, unknown> = {};
  const refused: PauseBudgetReport['refused'][number][] = [];
  const warnings: PauseBudgetReport['warnings'][number][] = [];
  for (const l of recs) {
    const r = l.rec;
    if (typeof r.type !== 'string') continue;
    if ((r.type === 'shift_start' || r.type === 'policy') && typeof r.policy === 'object' && r.policy !== null) policy = r.policy as Record<string, unknown>;
    usage = foldPauseRecord(usage, r as BudgetRecord);
    if (r.type === 'pause_budget') {
      const item = { line: l.no, at: str(r.at), budget: str(r.budget), reason: typeof r.reason === 'string' ? r.reason : null, used: num(r.used), limit: num(r.limit) };
      if (r.what === 'refused') refused.push(item);
      else if (r.what === 'warning') warnings.push(item);
    }
  }
  const maxOf = (reason: string): number | null => num(reason === 'PERSONAL_NEEDS' ? policy.pauseMaxPersonalNeeds : policy.pauseMaxSensitiveSite);
  const reasons: PauseBudgetReport['reasons'] = Object.fromEntries(
    PAUSE_REASONS.map((reason) => [reason, { pauses: usage.pauses[reason], maxPauses: maxOf(reason), pausedS: pauseS[reason] ?? 0, refused: usage.refused[reason] }]),
  );
  const pausedS = Math.round(PAUSE_REASONS.reduce((a, reason) => a + (pauseS[reason] ?? 0), 0) * 1000) / 1000;
  return { reasons, pausedS, maxPausedS: num(policy.pauseMaxTotalS), refused, warnings };
}
