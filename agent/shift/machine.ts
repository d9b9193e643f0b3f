/**
 * The shift state machine as a pure function: (state, event, policy, now) → (state, effects).
 * No timers, processes or files here; the daemon executes the effects. The table is the whole
 * policy of SPEC's "Wearer interaction" and "States" sections:
 *
 *   OFF_DUTY  --shift_hold-->                 RECORDING  (open shift, start encoder)
 *   RECORDING --privacy_single-->             PAUSED(PERSONAL_NEEDS)  (stop encoder)
 *   RECORDING --privacy_double-->             PAUSED(SENSITIVE_SITE)
 *   RECORDING --privacy_* over the budget-->  RECORDING (refused; journaled with the budget)
 *   PAUSED    --privacy_*  | pause_expired--> RECORDING  (resume manual | auto)
 *   RECORDING|PAUSED --shift_hold-->          same state, end armed for shiftEndConfirmS
 *   (armed)   --shift_press-->                CLOSING    (stop encoder, seal)
 *   (armed)   --end_confirm_expired-->        disarmed, shift goes on
 *   RECORDING|PAUSED --force_end(reason)-->   CLOSING    (battery critical…)
 *   CLOSING   --closed-->                     OFF_DUTY
 *   OFF_DUTY  --duty_start(trigger)-->        RECORDING  (dock / central / schedule; on duty: ignored, journaled)
 *   RECORDING|PAUSED --duty_end(reason)-->    CLOSING    (dock rule / signed end_duty; off duty: ignored, journaled)
 * Everything else is ignored — and journaled as an ignored gesture, so the record shows the wearer
 * tried. Nothing a wearer can do stops recording during a shift except the confirmed end.
 *
 * Custody mode (policy `custody` 1, a custody suite's fixed camera): duty never ends and never
 * pauses. The end gesture and pause presses are refused (gesture records with outcome
 * `refused_custody_*`, the `refused` buzz), central's end_duty is refused (`duty` trigger_refused);
 * a forced end (battery critical) still closes the shift, and the next duty opens at once:
 *   RECORDING --shift_hold | privacy_*-->     RECORDING (refused, journaled)
 *   RECORDING|PAUSED --duty_end-->            same state (refused, journaled)
 *   OFF_DUTY  --duty_start(custody)-->        RECORDING (the agent starts duty itself)
 *   CLOSING   --closed-->                     RECORDING (a new duty, trigger custody)
 */
import type { Policy } from '../config/policy.js';
import type { PauseReason, FeedbackPattern, Effect } from './types.js';
import type { GestureKind } from './gestures.js';
import type { EndTrigger, StartTrigger } from '../duty/types.js';
import { NO_PAUSES, budgetWarningEffects, decidePause, refusedPauseEffects, withPause, type PauseUsage } from './pause-budget.js';

export type ShiftState =
  | { readonly name: 'OFF_DUTY' }
  | { readonly name: 'RECORDING'; readonly shiftId: string; readonly endArmedUntil: number | null }
  | {
      readonly name: 'PAUSED';
      readonly shiftId: string;
      readonly reason: PauseReason;
      /** Wall-clock ms the pause started and when it ends by itself. */
      readonly since: number;
      readonly until: number;
      readonly endArmedUntil: number | null;
    }
  | { readonly name: 'CLOSING'; readonly shiftId: string; readonly reason: string };

export type ShiftEvent =
  | { readonly type: 'gesture'; readonly gesture: GestureKind; readonly heldS?: number; /** Wall ms of the first press (privacy gestures resolve later). */ readonly pressedAt?: number }
  | { readonly type: 'pause_warning' }
  | { readonly type: 'pause_expired' }
  | { readonly type: 'end_confirm_expired' }
  | { readonly type: 'force_end'; readonly reason: string }
  | { readonly type: 'closed' }
  | { readonly type: 'duty_start'; readonly trigger: Exclude<StartTrigger, 'button'> }
  | { readonly type: 'duty_end'; readonly reason: EndTrigger }
  | { readonly type: 'pause_budget_warning' };

export type { TimerName, FeedbackPattern, Effect } from './types.js';

export interface Transition {
  readonly state: ShiftState;
  readonly effects: readonly Effect[];
}

const maxFor = (p: Policy, r: PauseReason): number => (r === 'PERSONAL_NEEDS' ? p.personalNeedsMaxS : p.sensitiveSiteMaxS);

function gestureRecord(gesture: GestureKind, outcome: string, feedback: FeedbackPattern, heldS?: number, pressedAt?: number): Effect {
  // pressed_at: a privacy press resolves only after the double-press window; recording ran until then.
  return { t: 'journal', type: 'gesture', fields: { gesture, outcome, feedback, held_s: heldS === undefined ? undefined : Math.round(heldS * 1000) / 1000, pressed_at: pressedAt === undefined ? undefined : new Date(pressedAt).toISOString(), ack: pressedAt === undefined ? undefined : 'haptic' } };
}

/**
 * `newShiftId` is injected so the function stays pure (the id embeds the wall clock); `pauses` is
 * the shift's pause-budget use, folded from its journal (shift/pause-budget.ts).
 */
export function transition(s: ShiftState, e: ShiftEvent, p: Policy, now: number, newShiftId: () => string, pauses: PauseUsage = NO_PAUSES): Transition {
  const same = (effects: Effect[] = []): Transition => ({ state: s, effects });

  if (e.type === 'closed') {
    if (s.name !== 'CLOSING') return same();
    if (p.custody === 1) {
      // Duty never ends: the closed shift's successor opens at once.
      const shiftId = newShiftId();
      return {
        state: { name: 'RECORDING', shiftId, endArmedUntil: null },
        effects: [{ t: 'feedback', pattern: 'shift_ended' }, { t: 'open_shift', shiftId, trigger: 'custody' }, { t: 'encoder', action: 'start', reason: 'start' }, { t: 'feedback', pattern: 'shift_started' }],
      };
    }
    return { state: { name: 'OFF_DUTY' }, effects: [{ t: 'feedback', pattern: 'shift_ended' }] };
  }

  if (e.type === 'force_end') {
    if (s.name !== 'RECORDING' && s.name !== 'PAUSED') return same();
    return close(s.shiftId, e.reason);
  }

  if (e.type === 'duty_start') {
    if (s.name !== 'OFF_DUTY') return same([{ t: 'journal', type: 'duty', fields: { what: 'trigger_ignored', trigger: e.trigger, state: s.name } }]);
    const shiftId = newShiftId();
    return {
      state: { name: 'RECORDING', shiftId, endArmedUntil: null },
      effects: [{ t: 'open_shift', shiftId, trigger: e.trigger }, { t: 'encoder', action: 'start', reason: 'start' }, { t: 'feedback', pattern: 'shift_started' }],
    };
  }

  if (e.type === 'duty_end') {
    if (s.name !== 'RECORDING' && s.name !== 'PAUSED') return same([{ t: 'journal', type: 'duty', fields: { what: 'trigger_ignored', trigger: e.reason, state: s.name } }]);
    if (p.custody === 1) return same([{ t: 'journal', type: 'duty', fields: { what: 'trigger_refused', trigger: e.reason, state: s.name, why: 'custody: duty never ends' } }]);
    return close(s.shiftId, e.reason);
  }

  if (e.type === 'end_confirm_expired') {
    if ((s.name === 'RECORDING' || s.name === 'PAUSED') && s.endArmedUntil !== null && now >= s.endArmedUntil - 1) {
      return {
        state: { ...s, endArmedUntil: null },
        effects: [{ t: 'journal', type: 'gesture', fields: { gesture: 'shift_end_confirm', outcome: 'not_confirmed_shift_continues', feedback: s.name === 'PAUSED' ? 'paused' : 'recording' } }, { t: 'feedback', pattern: s.name === 'PAUSED' ? 'paused' : 'recording' }],
      };
    }
    return same();
  }

  if (e.type === 'pause_warning') {
    if (s.name !== 'PAUSED') return same();
    return same([
      { t: 'journal', type: 'note', fields: { what: 'pause_ending_soon', reason: s.reason, left_s: Math.round((s.until - now) / 1000) } },
      { t: 'feedback', pattern: 'pause_warning' },
    ]);
  }

  if (e.type === 'pause_budget_warning') {
    return s.name === 'PAUSED' ? same(budgetWarningEffects(pauses, p, { reason: s.reason, since: s.since }, now)) : same();
  }

  if (e.type === 'pause_expired') {
    if (s.name !== 'PAUSED') return same();
    return resume(s, 'auto', now);
  }

  // Gestures.
  const g = e.gesture;
  switch (s.name) {
    case 'OFF_DUTY': {
      if (g === 'shift_hold') {
        const shiftId = newShiftId();
        return {
          state: { name: 'RECORDING', shiftId, endArmedUntil: null },
          effects: [
            { t: 'open_shift', shiftId },
            gestureRecord(g, 'shift_started', 'shift_started', e.heldS),
            { t: 'encoder', action: 'start', reason: 'start' },
            { t: 'feedback', pattern: 'shift_started' },
          ],
        };
      }
      return same([gestureRecord(g, 'ignored_off_duty', 'refused', e.heldS), { t: 'feedback', pattern: 'refused' }]);
    }
    case 'RECORDING':
    case 'PAUSED': {
      if (p.custody === 1 && (g === 'shift_hold' || (s.name === 'RECORDING' && g !== 'shift_press'))) {
        // Custody: nobody at the camera ends or pauses duty. The attempt is on the record.
        const outcome = g === 'shift_hold' ? 'refused_custody_duty_never_ends' : 'refused_custody_no_pauses';
        return same([gestureRecord(g, outcome, 'refused', e.heldS, g === 'shift_hold' ? undefined : e.pressedAt), { t: 'feedback', pattern: 'refused' }]);
      }
      if (g === 'shift_hold') {
        const until = now + p.shiftEndConfirmS * 1000;
        return {
          state: { ...s, endArmedUntil: until },
          effects: [gestureRecord(g, 'end_armed_awaiting_confirm', 'end_armed', e.heldS), { t: 'timer', name: 'end_confirm_expired', ms: p.shiftEndConfirmS * 1000 }, { t: 'feedback', pattern: 'end_armed' }],
        };
      }
      if (g === 'shift_press') {
        if (s.endArmedUntil !== null && now <= s.endArmedUntil) {
          return close(s.shiftId, 'wearer', [gestureRecord('shift_press', 'shift_end_confirmed', 'shift_ended', e.heldS)]);
        }
        return same([gestureRecord(g, 'ignored_no_end_armed', 'refused', e.heldS), { t: 'feedback', pattern: 'refused' }]);
      }
      if (s.name === 'RECORDING') {
        const reason: PauseReason = g === 'privacy_double' ? 'SENSITIVE_SITE' : 'PERSONAL_NEEDS';
        const budget = decidePause(pauses, reason, p, now, maxFor(p, reason));
        if (!budget.ok) return same(refusedPauseEffects(g, reason, budget, e.pressedAt));
        const maxS = budget.maxS;
        const warnMs = Math.max(0, (maxS - p.autoResumeWarningS) * 1000);
        return {
          state: { name: 'PAUSED', shiftId: s.shiftId, reason, since: now, until: now + maxS * 1000, endArmedUntil: s.endArmedUntil },
          effects: [
            gestureRecord(g, `pause_${reason.toLowerCase()}`, 'paused', undefined, e.pressedAt),
            { t: 'journal', type: 'pause', fields: { reason, max_s: maxS, via: 'gesture' } },
            { t: 'encoder', action: 'stop', reason: 'pause' },
            { t: 'timer', name: 'pause_warning', ms: warnMs },
            { t: 'timer', name: 'pause_expired', ms: maxS * 1000 },
            { t: 'feedback', pattern: 'paused' },
            ...budgetWarningEffects(withPause(pauses, reason), p, { reason, since: now }, now),
          ],
        };
      }
      // PAUSED: any privacy gesture resumes.
      return resume(s, 'manual', now, [gestureRecord(g, 'resume', 'recording')]);
    }
    case 'CLOSING':
      return same([gestureRecord(g, 'ignored_closing', 'refused', e.heldS)]);
  }
}

function resume(s: Extract<ShiftState, { name: 'PAUSED' }>, cause: 'manual' | 'auto', now: number, pre: Effect[] = []): Transition {
  return {
    state: { name: 'RECORDING', shiftId: s.shiftId, endArmedUntil: s.endArmedUntil },
    effects: [
      ...pre,
      { t: 'timer', name: 'pause_warning', ms: null },
      { t: 'timer', name: 'pause_expired', ms: null },
      { t: 'timer', name: 'pause_budget_warning', ms: null },
      { t: 'journal', type: 'resume', fields: { cause, reason: s.reason, paused_s: Math.round((now - s.since) / 100) / 10 } },
      { t: 'encoder', action: 'start', reason: 'resume' },
      { t: 'feedback', pattern: 'recording' },
    ],
  };
}

function close(shiftId: string, reason: string, pre: Effect[] = []): Transition {
  return {
    state: { name: 'CLOSING', shiftId, reason },
    effects: [
      ...pre,
      { t: 'timer', name: 'pause_warning', ms: null },
      { t: 'timer', name: 'pause_expired', ms: null },
      { t: 'timer', name: 'end_confirm_expired', ms: null },
      { t: 'timer', name: 'pause_budget_warning', ms: null },
      { t: 'encoder', action: 'stop', reason: 'end' },
      { t: 'close_shift', shiftId, reason },
    ],
  };
}

/**
 * Evidence time stepped by `stepMs` (a journaled wall-clock step): the state's wall-clock instants
 * move with it, so a pause's `paused_s` and its deadline stay true on the new clock (durations are
 * unchanged; the timers that end them run on the monotonic clock already).
 */
export function shiftStateTimes(s: ShiftState, stepMs: number): ShiftState {
  const armed = (v: number | null): number | null => (v === null ? null : v + stepMs);
  switch (s.name) {
    case 'RECORDING':
      return { ...s, endArmedUntil: armed(s.endArmedUntil) };
    case 'PAUSED':
      return { ...s, since: s.since + stepMs, until: s.until + stepMs, endArmedUntil: armed(s.endArmedUntil) };
    default:
      return s;
  }
}
