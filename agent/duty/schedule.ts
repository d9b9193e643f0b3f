/**
 * The duty window as a pure step function: (window, now, on duty) → (window, what to do, when to
 * look again). The controller runs it on a timer and whenever the window changes; tests run it on
 * plain numbers.
 *
 *   before start                    nothing; wake at start
 *   start ≤ now < end, not started  `start` (when off duty), started; wake at end
 *   now ≥ end, on duty              `overrun` (warn wearer and central), window done
 *   now ≥ end, off duty             window done, silently (the shift ended in time or never ran)
 * The window never ends a shift: only a confirmed gesture, a signed end_duty or the dock rule do.
 */
import type { DutyWindow } from './types.js';

export type ScheduleAction = 'start' | 'overrun';

export interface ScheduleStep {
  readonly window: DutyWindow | null;
  readonly actions: readonly ScheduleAction[];
  /** Wall-clock ms of the next step, or null when nothing is left to do. */
  readonly wakeAt: number | null;
}

export function scheduleStep(w: DutyWindow | null, now: number, onDuty: boolean): ScheduleStep {
  if (!w) return { window: null, actions: [], wakeAt: null };
  if (now >= w.endMs) return { window: null, actions: onDuty ? ['overrun'] : [], wakeAt: null };
  if (now < w.startMs) return { window: w, actions: [], wakeAt: w.startMs };
  if (!w.started) return { window: { ...w, started: true }, actions: onDuty ? [] : ['start'], wakeAt: w.endMs };
  return { window: w, actions: [], wakeAt: w.endMs };
}
