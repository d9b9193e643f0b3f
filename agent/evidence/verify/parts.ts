/**
 * The shift's length split into parts that add up to it: every instant of the shift counted once,
 * as recorded, paused, in a gap, or not covered (in that order where they overlap), and what is
 * left: slivers between records below the coverage tolerance (clock granularity).
 */
import type { TimelineItem, VerifyReport } from './report.js';

export interface ShiftParts {
  readonly totalS: number;
  readonly recordedS: number;
  readonly pausedS: number;
  readonly gapS: number;
  readonly uncoveredS: number;
  /** Below the coverage tolerance between records: not a finding. */
  readonly slackS: number;
}

const ORDER = ['media', 'pause', 'gap', 'hole'] as const;

export function shiftParts(r: VerifyReport): ShiftParts {
  const t0 = r.start ? Date.parse(r.start) : NaN;
  const t1 = r.end ? Date.parse(r.end) : NaN;
  const zero = { totalS: 0, recordedS: 0, pausedS: 0, gapS: 0, uncoveredS: 0, slackS: 0 };
  if (!Number.isFinite(t0) || !Number.isFinite(t1) || t1 <= t0) return zero;
  const items = r.timeline.filter((t): t is TimelineItem & { kind: (typeof ORDER)[number] } => (ORDER as readonly string[]).includes(t.kind));
  const cuts = [...new Set([t0, t1, ...items.flatMap((t) => [t.start, t.end])])].filter((v) => v >= t0 && v <= t1).sort((a, b) => a - b);
  const ms = { media: 0, pause: 0, gap: 0, hole: 0, slack: 0 };
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i]!;
    const b = cuts[i + 1]!;
    const kinds = new Set(items.filter((t) => t.start <= a && t.end >= b).map((t) => t.kind));
    const k = ORDER.find((o) => kinds.has(o));
    ms[k ?? 'slack'] += b - a;
  }
  const s = (v: number): number => Math.round(v) / 1000;
  return { totalS: s(t1 - t0), recordedS: s(ms.media), pausedS: s(ms.pause), gapS: s(ms.gap), uncoveredS: s(ms.hole), slackS: s(ms.slack) };
}
