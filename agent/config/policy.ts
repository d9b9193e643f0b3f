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
  locationIntervalS: [1, 3600],
  locationMinMoveM: [0, 10_000],
});

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
  if (policy.tempDegradeC >= policy.tempCriticalC) issues.push({ where: `${where}/tempDegradeC`, message: 'must be below tempCriticalC' });
  return { policy, issues };
}
