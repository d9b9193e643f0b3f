/**
 * Obstruction intervals of a shift (agent/obstruction): the `obstruction` record pairs
 * (`phase: start` / `phase: end`, docs/evidence-format.md) become intervals with kind, bounds,
 * duration and measures, with totals per kind. An obstruction never changes the verdict — the
 * picture or sound was useless, the evidence of that is intact — but every interval is listed.
 * A start without its end (the agent was killed) lasts to the end of the shift — or to the next
 * start of its kind — and says `open`.
 */
import { parseTime, round3, type RecLine } from './chain.js';
import type { TimelineItem } from './report.js';

export interface ObstructionInterval {
  readonly kind: string;
  readonly start: string;
  readonly end: string;
  readonly durationS: number;
  /** No `phase: end` record: the interval was cut by the shift's (or the journal's) end. */
  readonly open: boolean;
  /** Why it ended: `cleared`, `stopped` (recording stopped), or `open`. */
  readonly reason: string;
  /** 1-based journal line of the start record (of the end record when the start is missing). */
  readonly line: number;
  readonly measures: Readonly<Record<string, number>>;
}

export interface ObstructionSummary {
  readonly intervals: readonly ObstructionInterval[];
  /** Per kind: number of intervals and their total seconds. */
  readonly totals: Readonly<Record<string, { readonly count: number; readonly seconds: number }>>;
}

const measuresOf = (v: unknown): Record<string, number> =>
  typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number')) : {};

/**
 * Pairs the records; `shiftEndMs` bounds intervals left open. `align` maps a time written at a
 * journal line onto the shift's starting timebase (clock steps, track.ts alignAt).
 */
export function obstructionIntervals(recs: readonly RecLine[], shiftEndMs: number | undefined, align: (line: number, ms: number | undefined) => number | undefined = (_l, ms) => ms): { summary: ObstructionSummary; timeline: TimelineItem[] } {
  const open = new Map<string, { startMs: number; line: number; measures: Record<string, number> }>();
  const intervals: ObstructionInterval[] = [];
  const push = (kind: string, startMs: number, endMs: number, line: number, measures: Record<string, number>, reason: string): void => {
    const e = Math.max(startMs, endMs);
    intervals.push({ kind, start: new Date(startMs).toISOString(), end: new Date(e).toISOString(), durationS: round3((e - startMs) / 1000), open: reason === 'open', reason, line, measures });
  };
  for (const l of recs) {
    const r = l.rec;
    if (r.type !== 'obstruction' || typeof r.kind !== 'string') continue;
    const start = align(l.no, parseTime(r.start));
    if (start === undefined) continue;
    if (r.phase === 'start') {
      // A start while one of the kind is open: the agent died in between (its detector began
      // afresh). The earlier interval lasted at most until this one began.
      const prev = open.get(r.kind);
      if (prev) push(r.kind, prev.startMs, start, prev.line, prev.measures, 'open');
      open.set(r.kind, { startMs: start, line: l.no, measures: measuresOf(r.measures) });
    }
    else if (r.phase === 'end') {
      const end = align(l.no, parseTime(r.end) ?? l.atMs) ?? start;
      const o = open.get(r.kind);
      open.delete(r.kind);
      push(r.kind, start, end, o?.line ?? l.no, measuresOf(r.measures), typeof r.reason === 'string' ? r.reason : 'cleared');
    }
  }
  for (const [kind, o] of open) push(kind, o.startMs, shiftEndMs ?? o.startMs, o.line, o.measures, 'open');
  intervals.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const totals: Record<string, { count: number; seconds: number }> = {};
  for (const i of intervals) {
    const t = (totals[i.kind] ??= { count: 0, seconds: 0 });
    t.count++;
    t.seconds = round3(t.seconds + i.durationS);
  }
  const timeline: TimelineItem[] = intervals.map((i) => ({ kind: 'obstructed', start: Date.parse(i.start), end: Date.parse(i.end), label: i.kind, line: i.line }));
  return { summary: { intervals, totals }, timeline };
}
