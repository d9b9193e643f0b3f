/**
 * Parses `chronyc -n -c tracking` (one CSV line). Field order, from chronyc's tracking report:
 * reference id (hex), reference name/address, stratum, reference time (epoch s), system time
 * (seconds the clock is being corrected by: negative = system clock fast), last offset, RMS
 * offset, frequency, residual frequency, skew, root delay, root dispersion, update interval,
 * leap status ("Normal", "Insert second", "Delete second", "Not synchronised").
 */

export interface ChronyTracking {
  readonly refId: string;
  readonly refName: string;
  readonly stratum: number;
  /** System time minus true time in seconds (positive = system ahead): chrony's value negated. */
  readonly offsetS: number;
  readonly leap: string;
  /** Leap status is not "Not synchronised" and the reference is not chrony's own local clock. */
  readonly synced: boolean;
}

/** chronyd's `local` directive: the daemon serves its own clock ("LOCL"), which is no real time. */
export const CHRONY_LOCAL_REFID = '7F7F0101';

const LEAPS = new Set(['Normal', 'Insert second', 'Delete second', 'Not synchronised']);

/** Returns undefined for anything that is not one well-formed tracking line. */
export function parseChronyTracking(text: string): ChronyTracking | undefined {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1) return undefined;
  const f = lines[0]!.trim().split(',');
  if (f.length !== 14) return undefined;
  const refId = f[0]!.toUpperCase();
  const stratum = Number(f[2]);
  const correction = Number(f[4]);
  const leap = f[13]!;
  if (!/^[0-9A-F]{8}$/.test(refId) || !Number.isInteger(stratum) || f[4]!.trim() === '' || !Number.isFinite(correction) || !LEAPS.has(leap)) {
    return undefined;
  }
  // A leap second pending still means synchronised; only "Not synchronised" says otherwise.
  const synced = leap !== 'Not synchronised' && refId !== CHRONY_LOCAL_REFID;
  return { refId, refName: f[1]!, stratum, offsetS: correction === 0 ? 0 : -correction, leap, synced };
}
