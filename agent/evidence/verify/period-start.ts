/**
 * A custody period opened by a rotation (`shift_start.continues.cause` `period_rotation`) numbers
 * its segments on from the closing period — the encoder ran on across the boundary — so its first
 * segment number is in its signed `shift_start` (docs/custody-periods.md). Every other shift
 * starts at 1. Shared by the whole-shift verifier and the live (incremental) one.
 */
export function periodFirstSegment(start: Record<string, unknown> | undefined): number {
  const c = start?.continues as { cause?: unknown; first_segment?: unknown } | undefined;
  const n = c?.cause === 'period_rotation' ? c.first_segment : undefined;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : 1;
}
