/**
 * When a position is journaled (pure: tested without timers or a receiver). A `location` record
 * is written on every change of fix mode (none / 2d / 3d: a loss and a return are evidence), and
 * while moving at most once per `locationIntervalS`, only after `locationMinMoveM` metres from the
 * last journaled position — so a camera standing still, or a receiver's jitter, adds nothing.
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

export function decideLocation(last: JournaledFix | undefined, fix: GnssFix, p: LocationPolicy): LocationWhy | undefined {
  if (!last) return 'first';
  if (fix.mode !== last.mode) return 'fix_change';
  if (fix.mode === 'none' || fix.lat === null || fix.lon === null || last.lat === null || last.lon === null) return undefined;
  if (fix.receivedMono - last.atMono < p.locationIntervalS * 1000) return undefined;
  return distanceM({ lat: last.lat, lon: last.lon }, { lat: fix.lat, lon: fix.lon }) >= p.locationMinMoveM ? 'moved' : undefined;
}

/** Degrees rounded to 1e-7 (~1 cm): the journal does not carry float noise. */
export const roundDeg = (d: number): number => Math.round(d * 1e7) / 1e7;
