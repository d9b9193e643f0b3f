/**
 * When a position is journaled (pure: tested without timers or a receiver). A `location` record
 * is written on every change of fix mode (none / 2d / 3d: a loss and a return are evidence), and
 * while moving at most once per `locationIntervalS`, only after `locationMinMoveM` metres from the
 * last journaled position — so a camera standing still, or a receiver's jitter, adds nothing.
 *
 * A loss or return of the fix (none ↔ 2d/3d) is journaled at once. A 2d ↔ 3d flip only once the
 * new mode has held for FIX_FLIP_HOLD_MS: a receiver at the edge of a 3D fix flips every few
 * seconds under trees, and each record is an fdatasync on the evidence card.
 */
import { distanceM } from '../../hal/gnss/track.js';
import type { FixMode, GnssFix } from '../../hal/gnss/types.js';

export interface LocationPolicy {
  readonly locationIntervalS: number;
  readonly locationMinMoveM: number;
}

/** What was last journaled (the decision compares against it, not against the last report). */
export interface JournaledFix {
  readonly mode: FixMode;
  readonly lat: number | null;
  readonly lon: number | null;
  /** Monotonic ms of the report that was journaled. */
  readonly atMono: number;
}

export type LocationWhy = 'first' | 'fix_change' | 'moved';

export const FIX_FLIP_HOLD_MS = 5000;

/**
 * `modeSinceMono`: monotonic ms since the receiver has reported `fix.mode` without a break (the
 * caller tracks it; defaults to the report itself, i.e. a flip that has not held yet).
 */
export function decideLocation(last: JournaledFix | undefined, fix: GnssFix, p: LocationPolicy, modeSinceMono = fix.receivedMono): LocationWhy | undefined {
  if (!last) return 'first';
  if (fix.mode !== last.mode) {
    if (fix.mode === 'none' || last.mode === 'none') return 'fix_change';
    // A 2d/3d flip that has not held yet is no record at all (not a `moved` one in the new mode).
    return fix.receivedMono - modeSinceMono >= FIX_FLIP_HOLD_MS ? 'fix_change' : undefined;
  }
  if (fix.mode === 'none' || fix.lat === null || fix.lon === null || last.lat === null || last.lon === null) return undefined;
  if (fix.receivedMono - last.atMono < p.locationIntervalS * 1000) return undefined;
  return distanceM({ lat: last.lat, lon: last.lon }, { lat: fix.lat, lon: fix.lon }) >= p.locationMinMoveM ? 'moved' : undefined;
}

/** Degrees rounded to 1e-7 (~1 cm): the journal does not carry float noise. */
export const roundDeg = (d: number): number => Math.round(d * 1e7) / 1e7;
