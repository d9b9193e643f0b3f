/**
 * Types the shift machine, the pause budget and status share. They live here, below all three,
 * so none of them imports another for a type: the machine imports the budget's functions, status
 * reports the budget's use, and neither edge may close a circle (issue 19).
 */
import type { StartTrigger } from '../duty/types.js';

export type PauseReason = 'PERSONAL_NEEDS' | 'SENSITIVE_SITE';

export type TimerName = 'pause_warning' | 'pause_expired' | 'end_confirm_expired' | 'pause_budget_warning';
export type FeedbackPattern = 'recording' | 'paused' | 'pause_warning' | 'end_armed' | 'shift_started' | 'shift_ended' | 'refused';

export type Effect =
  /** `trigger` absent: the button (`shift_start.trigger` "button"). */
  | { readonly t: 'open_shift'; readonly shiftId: string; readonly trigger?: Exclude<StartTrigger, 'button'> }
  | { readonly t: 'journal'; readonly type: string; readonly fields: Record<string, unknown> }
  | { readonly t: 'encoder'; readonly action: 'start' | 'stop'; readonly reason: 'start' | 'resume' | 'pause' | 'end' }
  | { readonly t: 'timer'; readonly name: TimerName; readonly ms: number | null }
  | { readonly t: 'feedback'; readonly pattern: FeedbackPattern }
  | { readonly t: 'close_shift'; readonly shiftId: string; readonly reason: string };

/** Which budget a refusal or a warning is about (journaled as `budget`). */
export type BudgetName = 'pauses_personal_needs' | 'pauses_sensitive_site' | 'paused_time' | 'min_recording';

/** What `bodycam status` and heartbeats report (and the verifier, from the journal). */
export interface PauseUseReport {
  readonly reasons: Readonly<Record<PauseReason, { pauses: number; maxPauses: number; pausedS: number; refused: number }>>;
  /** Paused seconds in all, a pause in progress included. */
  readonly pausedS: number;
  readonly maxPausedS: number;
  readonly minRecordingS: number;
  readonly minRecordingAfterAutoS: number;
  readonly refused: number;
  readonly warned: readonly BudgetName[];
}
