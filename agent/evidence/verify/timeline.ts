/**
 * The verifier's timeline and coverage (verify.ts): every record placed on the shift's starting
 * timebase (clock steps mapped back), pauses closed and checked against their maximum, gaps and
 * their causes, the holes no segment, pause or gap covers (and the damaged line that presumably
 * held what is missing), how far an open shift is verified, and the totals.
 */
import { round3, parseTime, type Findings, type Line, type RecLine, type Rec } from './chain.js';
import { holes, type Interval } from './coverage.js';
import { obstructionIntervals } from './obstruction.js';
import { coveredThrough } from './open-prefix.js';
import type { TimelineItem } from './report.js';
import type { Seg } from './segments.js';
import { alignAt, type ClockStepItem } from './track.js';

export const PAUSE_REASONS = ['PERSONAL_NEEDS', 'SENSITIVE_SITE'] as const;
export const GAP_CAUSES = ['encoder_start', 'encoder_crash', 'encoder_stall', 'encoder_reconfigure', 'encoder_stop', 'agent_restart', 'power_loss', 'agent_stopped', 'camera_lost', 'storage_full'] as const;
/** Holes up to this long are clock granularity, not missing evidence (docs: "Coverage rule"). */
export const COVERAGE_TOLERANCE_MS = 250;
/** Pauses may overrun their maximum by this much (timer latency, resume to first frame). */
const PAUSE_OVERRUN_S = 5;

export interface TimelineInputs {
  readonly J: string;
  readonly lines: readonly Line[];
  readonly recs: readonly RecLine[];
  readonly F: Findings;
  readonly steps: readonly ClockStepItem[];
  readonly policy: Record<string, unknown>;
  readonly shiftEnd: RecLine | undefined;
  readonly open: boolean;
  readonly segs: readonly Seg[];
  readonly segProblem: ReadonlyMap<Seg, 'altered' | 'missing'>;
  readonly awaited: ReadonlySet<string>;
  readonly unsealed: readonly string[];
  readonly unaccounted: ReadonlyMap<number, number>;
  readonly damaged: readonly number[];
}

export interface TimelineBuilt {
  readonly timeline: TimelineItem[];
  /** The shift's start and end on its starting timebase (ms). */
  readonly t0: number | undefined;
  readonly t1: number | undefined;
  readonly mediaS: number;
  readonly bytes: number;
  readonly faults: number;
  readonly gestures: number;
  readonly pauseS: Record<string, number>;
  readonly gapS: Record<string, number>;
  readonly uncoveredS: number;
  /** Open shift: how far the timeline is covered by verified evidence (RFC 3339), else null. */
  readonly verifiedThrough: string | null;
  readonly obstructions: ReturnType<typeof obstructionIntervals>;
}

export function buildTimeline(x: TimelineInputs): TimelineBuilt {
  const { J, lines, recs, F, steps, policy, shiftEnd, open, segs, segProblem, awaited, unsealed, unaccounted, damaged } = x;
  const segOfLine = new Map(segs.map((x) => [x.line.no, x]));
  const timeline: TimelineItem[] = [];
  const t0 = lines[0]?.atMs;
  const lastLine = [...recs].reverse().find((l) => l.atMs !== undefined);
  const lastAt = lastLine ? alignAt(steps, lastLine.no, lastLine.atMs) : undefined;
  // The shift ends when the end was decided (`shift_end.end`); the record itself is written after
  // the encoder has drained, so its `at` is later.
  const t1 = (shiftEnd ? alignAt(steps, shiftEnd.no, parseTime(shiftEnd.rec.end) ?? shiftEnd.atMs) : undefined) ?? lastAt;
  const covered: Interval[] = [];
  const unverifiedCover = new Set<Interval>(); // a segment not verified (awaited, altered): verified-through stops there
  const pauseS: Record<string, number> = {};
  const gapS: Record<string, number> = {};
  let mediaS = 0;
  let bytes = 0;
  let faults = 0;
  let gestures = 0;
  let openPause: { at: number; reason: string; line: Line & { rec: Rec }; maxS: number | undefined } | undefined;
  const closePause = (closeAt: number): void => {
    if (!openPause) return;
    const p = openPause;
    const endMs = Math.max(closeAt, p.at);
    openPause = undefined;
    const allowed = (PAUSE_REASONS as readonly string[]).includes(p.reason);
    if (allowed) covered.push({ start: p.at, end: endMs });
    pauseS[p.reason] = (pauseS[p.reason] ?? 0) + (endMs - p.at) / 1000;
    timeline.push({ kind: 'pause', start: p.at, end: endMs, label: p.reason, line: p.line.no });
    if (p.maxS !== undefined && (endMs - p.at) / 1000 > p.maxS + PAUSE_OVERRUN_S) {
      F.add('warning', 'policy', 'pause_over_max', `${J}:${p.line.no}`, `${p.reason} pause lasted ${round3((endMs - p.at) / 1000)} s, its maximum is ${p.maxS} s`);
    }
  };
  for (const l of recs) {
    const r = l.rec;
    const at = alignAt(steps, l.no, l.atMs);
    const where = `${J}:${l.no}`;
    switch (r.type) {
      case 'segment': {
        const s = segOfLine.get(l.no)!;
        if (s.start !== undefined && s.end !== undefined) {
          const iv = { start: s.start, end: s.end };
          covered.push(iv);
          if (awaited.has(s.file) || segProblem.has(s)) unverifiedCover.add(iv);
          timeline.push({ kind: 'media', start: s.start, end: s.end, label: s.file, line: l.no });
        }
        mediaS += s.mediaStart !== undefined && s.mediaEnd !== undefined ? s.mediaEnd - s.mediaStart : s.start !== undefined && s.end !== undefined ? (s.end - s.start) / 1000 : 0;
        bytes += Math.max(0, s.bytes);
        break;
      }
      case 'pause': {
        if (at === undefined) break;
        if (openPause) closePause(at);
        const reason = typeof r.reason === 'string' ? r.reason : '(none)';
        if (!(PAUSE_REASONS as readonly string[]).includes(reason)) {
          F.tampered('pause_reason', where, `pause reason ${JSON.stringify(r.reason)} is not one of ${PAUSE_REASONS.join(', ')}: the pause does not cover the timeline`);
        }
        const maxS = typeof r.max_s === 'number' ? r.max_s : reason === 'PERSONAL_NEEDS' ? (policy.personalNeedsMaxS as number | undefined) : (policy.sensitiveSiteMaxS as number | undefined);
        openPause = { at, reason, line: l, maxS };
        break;
      }
      case 'resume':
        if (at !== undefined) {
          if (openPause) closePause(at);
          else {
            const w = F.add('warning', 'note', 'resume_without_pause', where, 'resume without a preceding pause');
            // The pause may have been on a damaged line since the last pause or resume.
            const since = [...recs].reverse().find((x) => x.no < l.no && (x.rec.type === 'resume' || x.rec.type === 'pause'))?.no ?? 0;
            const d = damaged.find((no) => no > since && no < l.no);
            if (d !== undefined) F.follow(w, F.onLine(J, d));
          }
        }
        break;
      case 'gap': {
        const gs = alignAt(steps, l.no, parseTime(r.start));
        const ge = alignAt(steps, l.no, parseTime(r.end));
        const cause = typeof r.cause === 'string' && r.cause !== '' ? r.cause : undefined;
        if (gs === undefined || ge === undefined || ge < gs) {
          F.tampered('gap_record', where, 'gap start/end are not an interval of RFC 3339 ms times');
          break;
        }
        if (!cause) F.tampered('gap_cause', where, 'gap without a cause: it does not cover the timeline');
        else {
          covered.push({ start: gs, end: ge });
          if (!(GAP_CAUSES as readonly string[]).includes(cause)) F.add('warning', 'note', 'gap_cause_unknown', where, `gap cause ${JSON.stringify(cause)} is not one of the documented causes`);
        }
        gapS[cause ?? '(none)'] = (gapS[cause ?? '(none)'] ?? 0) + (ge - gs) / 1000;
        timeline.push({ kind: 'gap', start: gs, end: ge, label: cause ?? '(none)', line: l.no });
        break;
      }
      case 'fault':
        faults++;
        if (at !== undefined) timeline.push({ kind: 'fault', start: at, end: at, label: String(r.fault ?? 'fault'), line: l.no });
        break;
      case 'gesture':
        gestures++;
        if (at !== undefined) {
          const what = [r.button, r.gesture].filter((v) => typeof v === 'string').join(' ');
          timeline.push({ kind: 'gesture', start: at, end: at, label: `${what || 'gesture'}${typeof r.outcome === 'string' ? ` → ${r.outcome}` : ''}`, line: l.no });
        }
        break;
      case 'signature':
        if (at !== undefined) timeline.push({ kind: 'signature', start: at, end: at, label: String(r.why ?? 'signature'), line: l.no });
        break;
      case 'recovery':
      case 'degrade':
        if (at !== undefined) timeline.push({ kind: r.type, start: at, end: at, label: String(r.what ?? r.source ?? r.type), line: l.no });
        break;
      case 'shift_end':
        if (t1 !== undefined) closePause(t1);
        break;
      default:
        break;
    }
  }
  if (openPause && t1 !== undefined) closePause(t1);
  let uncoveredS = 0;
  const holesTo = open && t1 !== undefined ? Math.min(t1, covered.reduce((m, c) => Math.max(m, c.end), t0 ?? t1)) : t1;
  // Capped at the `at` of the last line the final signature covers (its own `at` is signed by nothing yet).
  const signedAt = alignAt(steps, lines.length - 1, lines[lines.length - 2]?.atMs) ?? t1;
  const verifiedThrough = open && t0 !== undefined && signedAt !== undefined ? new Date(coveredThrough(covered.filter((c) => !unverifiedCover.has(c)), t0, signedAt, COVERAGE_TOLERANCE_MS)).toISOString() : null;
  if (t0 !== undefined && t1 !== undefined && holesTo !== undefined) {
    for (const h of holes(covered, t0, holesTo, COVERAGE_TOLERANCE_MS)) {
      uncoveredS += (h.end - h.start) / 1000;
      timeline.push({ kind: 'hole', start: h.start, end: h.end, label: 'not covered', line: 0 });
      const before = [...recs].reverse().find((l) => l.atMs !== undefined && l.atMs <= h.start);
      const hole = F.incomplete(
        'coverage_hole',
        before ? `${J}:${before.no}` : J,
        `${round3((h.end - h.start) / 1000)} s from ${new Date(h.start).toISOString()} to ${new Date(h.end).toISOString()} are covered by no segment, pause or gap`,
      );
      // A hole between the records around a damaged line is what that line held (a segment, a pause…).
      const d = damaged.find((no) => {
        const prevAt = [...recs].reverse().find((x) => x.no < no && x.atMs !== undefined)?.atMs;
        const nextAt = recs.find((x) => x.no > no && x.atMs !== undefined)?.atMs;
        return prevAt !== undefined && nextAt !== undefined && h.start >= prevAt - COVERAGE_TOLERANCE_MS && h.end <= nextAt + COVERAGE_TOLERANCE_MS;
      });
      if (d !== undefined) {
        F.follow(hole, F.onLine(J, d));
        const segsThere = [...unaccounted].filter(([, line]) => line === d).map(([k]) => `seg-${String(k).padStart(6, '0')}`);
        timeline.push({ kind: 'missing', start: h.start, end: h.end, label: `record on damaged line ${d}${segsThere.length ? ` (${segsThere.join(', ')} unaccounted)` : ''}`, line: d });
      }
    }
    if (!shiftEnd && lastAt !== undefined) {
      // After the last record nothing is known; show it as unsealed when files trail.
      if (unsealed.length) timeline.push({ kind: 'unsealed', start: lastAt, end: lastAt + 2000, label: unsealed.join(', '), line: 0 });
    }
  }
  const obstructions = obstructionIntervals(recs, t1, (line, ms) => alignAt(steps, line, ms));
  timeline.push(...obstructions.timeline);
  timeline.sort((a, b) => a.start - b.start || a.end - b.end);

  return { timeline, t0, t1, mediaS, bytes, faults, gestures, pauseS, gapS, uncoveredS, verifiedThrough, obstructions };
}
