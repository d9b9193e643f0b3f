/** The duty vocabulary shared by the triggers, the store, the controller and the verifier. */

/** What started a shift (`shift_start.trigger`). */
/** `recovery`: the agent itself, continuing a shift it had to close (its journal was found damaged). */
/** `custody`: the agent itself, in custody mode (policy `custody`): duty starts when the agent does. */
export type StartTrigger = 'button' | 'dock' | 'central' | 'schedule' | 'recovery' | 'custody';
export const START_TRIGGERS: readonly StartTrigger[] = ['button', 'dock', 'central', 'schedule', 'recovery', 'custody'];

/**
 * Why a shift ended (`shift_end.reason`): `wearer` (confirmed gesture), `dock` (the policy's dock
 * rule), `central` (a signed end_duty), or a forced end such as `battery_critical`.
 */
export type EndTrigger = 'dock' | 'central';

/** A person bound to the camera by a signed `assign_wearer` (journaled as `wearer: {id, name}`). */
export interface Wearer {
  readonly id: string;
  readonly name: string;
}

/** A wearer assignment: valid until the camera is docked again. */
export interface Assignment extends Wearer {
  /** The command that made it (hex nonce). */
  readonly commandId: string;
  readonly at: number;
}

/** A duty window from `schedule_duty`. */
export interface DutyWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly commandId: string;
  /** The start has been acted on (shift started, or already on duty then). */
  readonly started: boolean;
}

/** The duty of the open shift, kept so status and heartbeats can say it after a restart. */
export interface CurrentDuty {
  readonly shiftId: string;
  readonly trigger: StartTrigger;
  readonly wearer: Wearer | null;
  readonly batteryShort: boolean;
  /** When the shift opened (wall ms): a duty end issued before it was meant for an earlier shift. */
  readonly startedAtMs?: number;
}
