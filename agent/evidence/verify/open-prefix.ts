/**
 * A shift still recording: its journal cut at a signature record (docs/live-offload.md) is a
 * verifiable prefix. What it proves is "covered from the start through T": T is the end of the
 * longest stretch from shift start that the prefix's verified segments, allowed pauses and caused
 * gaps cover without a hole (within the coverage tolerance), capped at the `at` of the last
 * signature record (nothing after it is signed). A segment the prefix names whose file has not
 * arrived yet ("awaited") covers nothing until it has been hashed, so T stops where it begins.
 * The stretch after T (the segment being recorded, awaited ones) is not a hole: the shift goes on.
 */
import type { Interval } from './coverage.js';

/** The end of the covered stretch that starts at `from`, capped at `cap` (ms). */
export function coveredThrough(covered: readonly Interval[], from: number, cap: number, toleranceMs: number): number {
  let cursor = from;
  for (const c of [...covered].sort((a, b) => a.start - b.start)) {
    if (c.start > cursor + toleranceMs) break;
    cursor = Math.max(cursor, c.end);
  }
  return Math.min(cursor, cap);
}

/** Adds an interval to a sorted list of disjoint intervals, merging what touches (within tolerance). */
export function mergeInterval(list: readonly Interval[], add: Interval, toleranceMs: number): Interval[] {
  const all = [...list, add].sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const c of all) {
    const last = out[out.length - 1];
    if (last && c.start <= last.end + toleranceMs) out[out.length - 1] = { start: last.start, end: Math.max(last.end, c.end) };
    else out.push({ start: c.start, end: c.end });
  }
  return out;
}

/** The one sentence every rendering of an open prefix begins with. */
export const openSentence = (verifiedThrough: string | null): string =>
  `intact, covered from start through ${verifiedThrough ?? '(nothing yet)'}, shift still open`;
