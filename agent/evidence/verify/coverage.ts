/**
 * The coverage rule (docs/evidence-format.md): from shift start to shift end every instant is
 * covered by a segment, a pause with an allowed reason, or a gap with a cause. Intervals may
 * overlap; what none covers is a hole.
 */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

/** Holes in [from, to] not covered by the union of `covered`, longer than `toleranceMs`. */
export function holes(covered: readonly Interval[], from: number, to: number, toleranceMs: number): Interval[] {
  const sorted = covered
    .map((c) => ({ start: Math.max(from, c.start), end: Math.min(to, c.end) }))
    .filter((c) => c.end > c.start)
    .sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  let cursor = from;
  for (const c of sorted) {
    if (c.start > cursor && c.start - cursor > toleranceMs) out.push({ start: cursor, end: c.start });
    cursor = Math.max(cursor, c.end);
  }
  if (to > cursor && to - cursor > toleranceMs) out.push({ start: cursor, end: to });
  return out;
}
