/**
 * Policy: every duration and threshold the shift logic uses. Defaults are SPEC's. A config file
 * or a signed set-policy command may change them within the bounds below — bounds chosen so that
 * no value helps a wearer avoid recording (pauses cannot exceed SPEC's maxima, the end-of-shift
 * confirm cannot be switched off).
 */
import type { Issue } from '../lib/errors.js';

export interface Policy {
  /** Hold `shift` this long (s) while off duty to start a shift. */
  shiftStartHoldS: number;
  /** Hold `shift` this long (s) while on duty to arm the end of shift… */
  shiftEndHoldS: number;
  /** …then press `shift` again within this window (s) to confirm. */
  shiftEndConfirmS: number;
  /** Two `privacy` presses within this window (s) are a double press. */
  doublePressS: number;
  /** Maximum pause for the wearer's personal needs (s). */
  personalNeedsMaxS: number;
  /** Maximum pause at a military object / sensitive site (s). */
  sensitiveSiteMaxS: number;
  /** Haptic warning this long (s) before a pause ends by itself. */
  autoResumeWarningS: number;
  /** Media segment length (s). */
  segmentS: number;
  /** Heartbeat interval on duty / off duty (s). */
  heartbeatOnDutyS: number;
  heartbeatOffDutyS: number;
  /** Sign the journal head at least every this many segments. */
  signEverySegments: number;
  /** The encoder is unhealthy when no fresh segment appeared for this long (s). */
  encoderStallS: number;
  /** Battery thresholds (%): warn, then finalize before brown-out. */
  batteryLowPct: number;
  batteryCriticalPct: number;
  /** Temperature thresholds (°C): degrade (lower bitrate/fps), then critical. */
  tempDegradeC: number;
  tempCriticalC: number;
  /** Offload upload bandwidth limit (kbit/s); 0 = unlimited. */
  offloadBandwidthKbps: number;
  /** Expected length of a shift (h): the storage forecast at shift start uses it. */
  expectedShiftH: number;
  /**
   * Free space (MiB) below which the encoder is stopped (a `storage_full` gap) instead of
   * crashing against a full disk; recording resumes by itself above twice this.
   */
  storageFloorMb: number;
  /** Duty triggers (1 on, 0 off; the button always works): taking the camera off its dock starts the shift… */
  dutyDockStart: number;
  /** …docking it again ends the shift (journaled `shift_end.reason` "dock"). */
  dutyDockEnd: number;
  /** Central's signed start_duty / end_duty / schedule_duty are obeyed. */
  dutyCentral: number;
  /** The dock line must stay in its new level this long (s) before a dock trigger acts. */
  dockDebounceS: number;
  /** Obstruction detection (agent/obstruction): 1 = on, 0 = off (no analysis side stream). */
  obstructionDetect: number;
  /** A covered/frozen/silent condition must last this long (s) to be a finding… */
  obstructionOnsetS: number;
  /** …and be gone this long (s) to end it (debounce both ways). */
  obstructionClearS: number;
  /** Haptic nag to the wearer every this many seconds while an obstruction lasts. */
  obstructionNagS: number;
  /** Lens covered/dark: luma mean (0–255) at or below this AND spread at or below the next. */
  coveredLumaMax: number;
  coveredSpreadMax: number;
  /** Frozen picture: mean absolute frame difference (0–255, 64x36 at 2 fps) at or below this. */
  frozenDiffMax: number;
  /** Microphone blocked or dead: RMS level (dBFS) at or below this. */
  silentDbfsMax: number;
  /**
   * Pause budget per shift (issue 10; agent/shift/pause-budget.ts). Defaults are the loosest
   * allowed, like the pause maxima: a config or central may only tighten them.
   * Pauses per shift for each reason…
   */
  pauseMaxPersonalNeeds: number;
  pauseMaxSensitiveSite: number;
  /** …paused time per shift, all reasons (s)… */
  pauseMaxTotalS: number;
  /** …recording (s) between the end of one pause and the next, and after a pause that ended by itself. */
  pauseMinRecordingS: number;
  pauseMinRecordingAfterAutoS: number;
  /** While moving, a `location` record at most every this many seconds (fix changes: at once). */
  locationIntervalS: number;
  /** …and only after moving at least this many metres from the last journaled position. */
  locationMinMoveM: number;
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  shiftStartHoldS: 2,
  shiftEndHoldS: 3,
  shiftEndConfirmS: 5,
  doublePressS: 1,
  personalNeedsMaxS: 15 * 60,
  sensitiveSiteMaxS: 30 * 60,
  autoResumeWarningS: 60,
  segmentS: 2,
  heartbeatOnDutyS: 15,
  heartbeatOffDutyS: 60,
  signEverySegments: 15,
  encoderStallS: 6,
  batteryLowPct: 15,
  batteryCriticalPct: 5,
  tempDegradeC: 70,
  tempCriticalC: 85,
  offloadBandwidthKbps: 0,
  expectedShiftH: 12,
  storageFloorMb: 16,
  dutyDockStart: 0,
  dutyDockEnd: 0,
  dutyCentral: 1,
  dockDebounceS: 0.5,
  obstructionDetect: 1,
  obstructionOnsetS: 5,
  obstructionClearS: 5,
  obstructionNagS: 30,
  coveredLumaMax: 24,
  coveredSpreadMax: 10,
  frozenDiffMax: 0.05,
  silentDbfsMax: -70,
  pauseMaxPersonalNeeds: 10,
  pauseMaxSensitiveSite: 10,
  pauseMaxTotalS: 4 * 3600,
  pauseMinRecordingS: 0,
  pauseMinRecordingAfterAutoS: 300,
  locationIntervalS: 10,
  locationMinMoveM: 10,
});

/** [min, max] per field. Pause maxima are capped at SPEC's; gestures cannot be made trivial. */
export const POLICY_BOUNDS: Readonly<Record<keyof Policy, readonly [number, number]>> = Object.freeze({
  shiftStartHoldS: [0.5, 10],
  shiftEndHoldS: [1, 10],
  shiftEndConfirmS: [1, 30],
  doublePressS: [0.2, 3],
  personalNeedsMaxS: [5, 15 * 60],
  sensitiveSiteMaxS: [5, 30 * 60],
  autoResumeWarningS: [1, 300],
  segmentS: [1, 10],
  heartbeatOnDutyS: [1, 300],
  heartbeatOffDutyS: [1, 3600],
  signEverySegments: [1, 600],
  encoderStallS: [2, 60],
  batteryLowPct: [1, 50],
  batteryCriticalPct: [1, 30],
  tempDegradeC: [30, 120],
  tempCriticalC: [40, 130],
  offloadBandwidthKbps: [0, 10_000_000],
  expectedShiftH: [0.5, 24],
  storageFloorMb: [2, 4096],
  dutyDockStart: [0, 1],
  dutyDockEnd: [0, 1],
  dutyCentral: [0, 1],
  dockDebounceS: [0.1, 10],
  obstructionDetect: [0, 1],
  obstructionOnsetS: [1, 120],
  obstructionClearS: [1, 120],
  obstructionNagS: [5, 600],
  coveredLumaMax: [0, 128],
  coveredSpreadMax: [0, 64],
  frozenDiffMax: [0, 5],
  silentDbfsMax: [-120, -20],
  // The looser end of each pause-budget range is its default: nobody can widen the budget.
  pauseMaxPersonalNeeds: [1, 10],
  pauseMaxSensitiveSite: [1, 10],
  pauseMaxTotalS: [60, 4 * 3600],
  pauseMinRecordingS: [0, 3600],
  pauseMinRecordingAfterAutoS: [300, 3600],
  locationIntervalS: [1, 3600],
  locationMinMoveM: [0, 10_000],
});

/** Policy fields that are switches: 0 or 1, nothing in between. */
const SWITCHES: readonly (keyof Policy)[] = ['dutyDockStart', 'dutyDockEnd', 'dutyCentral'];

/**
 * Merges `input` over `base`, checking every field. Unknown keys, wrong types and out-of-range
 * values are all reported (not just the first).
 */
export function parsePolicy(input: unknown, where: string, base: Policy = DEFAULT_POLICY): { policy: Policy; issues: Issue[] } {
  const issues: Issue[] = [];
  const policy: Policy = { ...base };
  if (input === undefined) return { policy, issues };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { policy, issues: [{ where, message: 'must be an object' }] };
  }
  for (const [k, v] of Object.entries(input)) {
    if (!(k in POLICY_BOUNDS)) {
      issues.push({ where: `${where}/${k}`, message: `unknown policy field (known: ${Object.keys(POLICY_BOUNDS).join(', ')})` });
      continue;
    }
    const key = k as keyof Policy;
    const [min, max] = POLICY_BOUNDS[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      issues.push({ where: `${where}/${k}`, message: `must be a number, got ${JSON.stringify(v)}` });
    } else if (v < min || v > max) {
      issues.push({ where: `${where}/${k}`, message: `${v} is out of range [${min}, ${max}]` });
    } else {
      policy[key] = v;
    }
  }
  if (policy.autoResumeWarningS >= Math.min(policy.personalNeedsMaxS, policy.sensitiveSiteMaxS)) {
    // Otherwise the warning would fire before (or as) the pause starts: useless to the wearer.
    policy.autoResumeWarningS = Math.max(1, Math.floor(Math.min(policy.personalNeedsMaxS, policy.sensitiveSiteMaxS) / 2));
  }
  if (policy.batteryCriticalPct >= policy.batteryLowPct) issues.push({ where: `${where}/batteryCriticalPct`, message: 'must be below batteryLowPct' });
  for (const k of SWITCHES) if (policy[k] !== 0 && policy[k] !== 1) issues.push({ where: `${where}/${k}`, message: 'must be 0 (off) or 1 (on)' });
  if (policy.tempDegradeC >= policy.tempCriticalC) issues.push({ where: `${where}/tempDegradeC`, message: 'must be below tempCriticalC' });
  return { policy, issues };
}
