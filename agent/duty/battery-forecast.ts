/**
 * Battery forecast at shift start: the gauge's runtime estimate against the expected duty length
 * (the duty window's end, or policy.expectedShiftH). Pure. It only ever warns: a camera with a
 * weak battery still records (SPEC: never refuse to record).
 */
export interface BatteryForecast {
  /** true: lasts; false: will not last; null: the gauge gives no estimate (charging, no gauge). */
  readonly lasts: boolean | null;
  readonly runtimeS: number | null;
  readonly expectedS: number;
  /** How much longer the duty is than the battery (s); 0 when it lasts or is unknown. */
  readonly shortS: number;
}

export function forecastBattery(runtimeMin: number | null | undefined, expectedS: number): BatteryForecast {
  const exp = Math.max(0, Math.round(expectedS));
  if (runtimeMin === null || runtimeMin === undefined || !Number.isFinite(runtimeMin)) return { lasts: null, runtimeS: null, expectedS: exp, shortS: 0 };
  const runtimeS = Math.max(0, Math.round(runtimeMin * 60));
  return runtimeS >= exp ? { lasts: true, runtimeS, expectedS: exp, shortS: 0 } : { lasts: false, runtimeS, expectedS: exp, shortS: exp - runtimeS };
}

/** Seconds of duty still expected from `now`: the window's end when there is one, else the policy's shift length. */
export function expectedDutyS(now: number, windowEndMs: number | null, expectedShiftH: number): number {
  if (windowEndMs !== null && windowEndMs > now) return (windowEndMs - now) / 1000;
  return expectedShiftH * 3600;
}
