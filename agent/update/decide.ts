/**
 * The update room's decisions, pure: plain values in, a verdict out. No clock, no I/O, so every
 * rule is a unit test (test/unit/update-decide.test.ts):
 *   - installGate:   may a bundle be installed (and the camera rebooted) now?
 *   - checkVersion:  is the offered version an upgrade, or a downgrade the request allows?
 *   - trialVerdict:  after booting the new slot, mark it good, bad, or wait?
 */

/** What the gate looks at: the shift, the dock, the charger, the battery, the policy floor. */
export interface GateInput {
  /** The shift state as status reports it (OFF_DUTY, RECORDING, PAUSED, CLOSING, OFFLOADING, FAULT). */
  readonly shiftState: string;
  /** null: the board has no dock detect. */
  readonly docked: boolean | null;
  /** null: no battery reading (yet). */
  readonly battery: { readonly percent: number; readonly charging: boolean } | null;
  /** Policy `updateMinBatteryPct`. */
  readonly minBatteryPct: number;
}

export type GateVerdict = { readonly go: true } | { readonly go: false; readonly wait: WaitReason; readonly detail: string };
export type WaitReason = 'shift_active' | 'not_docked' | 'not_charging' | 'battery_low' | 'battery_unknown';

/**
 * An install ends in a reboot, so it may start only when no shift can be cut short: off duty (an
 * OFFLOADING camera is off duty too; CLOSING and FAULT still belong to a shift), in the dock and
 * charging (power cannot fail halfway through writing a slot), and with the battery above the
 * policy floor (a dock contact that drops mid-install must not leave an empty camera).
 */
export function installGate(i: GateInput): GateVerdict {
  if (i.shiftState !== 'OFF_DUTY' && i.shiftState !== 'OFFLOADING') return { go: false, wait: 'shift_active', detail: `a shift is active (${i.shiftState}): the update waits for its end` };
  if (i.docked === false) return { go: false, wait: 'not_docked', detail: 'the camera is not in its dock' };
  if (!i.battery) return { go: false, wait: 'battery_unknown', detail: 'no battery reading yet' };
  if (!i.battery.charging) return { go: false, wait: 'not_charging', detail: `not charging (${i.battery.percent}%)` };
  if (!(i.battery.percent >= i.minBatteryPct)) return { go: false, wait: 'battery_low', detail: `battery ${i.battery.percent}% below the policy floor of ${i.minBatteryPct}%` };
  return { go: true };
}

/** A version as firmware images carry it: MAJOR.MINOR.PATCH, optionally -prerelease (ignored for order beyond "a prerelease is older"). */
const SEMVER = /^v?(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]{1,64}))?(?:\+[0-9A-Za-z.-]{1,64})?$/;

export function parseVersion(v: string): { nums: [number, number, number]; pre: string | undefined } | undefined {
  const m = SEMVER.exec(v.trim());
  if (!m) return undefined;
  return { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] };
}

/** -1, 0, 1 like a comparator; undefined when either side is not a version. */
export function compareVersions(a: string, b: string): number | undefined {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return undefined;
  for (let k = 0; k < 3; k++) if (x.nums[k] !== y.nums[k]) return x.nums[k]! < y.nums[k]! ? -1 : 1;
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

export type VersionVerdict = { readonly ok: true; readonly kind: 'upgrade' | 'downgrade' } | { readonly ok: false; readonly reason: string };

/**
 * An offered version must be newer than the running one; an older one only when the request says
 * so (allowDowngrade, e.g. to leave a bad release). The same version is refused either way: it
 * would spend a slot write and a reboot on nothing.
 */
export function checkVersion(running: string, offered: string, allowDowngrade: boolean): VersionVerdict {
  const c = compareVersions(offered, running);
  if (c === undefined) return { ok: false, reason: parseVersion(offered) ? `running version '${running}' is not MAJOR.MINOR.PATCH` : `'${offered}' is not a version (MAJOR.MINOR.PATCH)` };
  if (c > 0) return { ok: true, kind: 'upgrade' };
  if (c === 0) return { ok: false, reason: `version ${offered} is already running` };
  if (!allowDowngrade) return { ok: false, reason: `${offered} is older than the running ${running}: a downgrade needs allow_downgrade` };
  return { ok: true, kind: 'downgrade' };
}

/** What the agent knows after a boot that follows an install. */
export interface TrialInput {
  /** The slot RAUC says was booted (bootname), and the one the install wrote. */
  readonly bootedSlot: string;
  readonly installedSlot: string;
  /** undefined: not run yet. */
  readonly selftestOk: boolean | undefined;
  readonly ready: boolean;
  /** undefined: not recorded yet; false: recording it failed. */
  readonly testSegmentSealed: boolean | undefined;
}

export type TrialVerdict =
  | { readonly action: 'mark_good' }
  | { readonly action: 'mark_bad'; readonly reason: string }
  | { readonly action: 'wait' }
  /** The bootloader did not boot the new slot: it fell back (or never switched). Nothing to mark. */
  | { readonly action: 'fell_back'; readonly reason: string };

/**
 * The new slot is good only when all three held on it: the self-test passed, the agent reached
 * READY, and a test segment was recorded and sealed. Any failure is final (mark bad, reboot into
 * the old slot); anything not known yet waits.
 */
export function trialVerdict(t: TrialInput): TrialVerdict {
  if (t.bootedSlot !== t.installedSlot) return { action: 'fell_back', reason: `booted slot ${t.bootedSlot}, not the updated slot ${t.installedSlot}` };
  if (t.selftestOk === false) return { action: 'mark_bad', reason: 'self-test failed' };
  if (t.testSegmentSealed === false) return { action: 'mark_bad', reason: 'the test segment could not be recorded and sealed' };
  if (t.selftestOk === undefined || !t.ready || t.testSegmentSealed === undefined) return { action: 'wait' };
  return { action: 'mark_good' };
}
