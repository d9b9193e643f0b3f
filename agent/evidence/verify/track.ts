/**
 * Where and on which clock (docs/evidence-format.md "Location" and "Provable time"): the shift's
 * `location` records as a track, and its clock steps (`time_sync` records with `step_ms`).
 *
 * The agent writes every time on evidence time (agent/lib/evidence-clock.ts), which moves only
 * where a step's record stands: every time written after that record — a record's `at`, a
 * segment's or gap's bounds, shift_end.end, an obstruction's bounds — is on the clock after the
 * step, every time before it on the clock before. `alignAt` maps a time written at a line back onto
 * the shift's starting timebase, so a step is neither a hole nor an overlap in the coverage.
 */
import type { RecLine } from './chain.js';

export interface TrackPoint {
  /** 1-based journal line. */
  readonly line: number;
  /** The record's `at` (ms), on the shift's starting timebase. */
  readonly at: number | null;
  /** "3d", "2d" or "none" (no fix: no position, never an invented one). */
  readonly fix: string;
  readonly lat: number | null;
  readonly lon: number | null;
  readonly accuracyM: number | null;
  /** The receiver's time of the fix (RFC 3339) or null. */
  readonly fixTime: string | null;
  /** Without a fix: "no_fix" or "receiver_lost". */
  readonly cause: string | null;
}

export interface ClockStepItem {
  readonly line: number;
  readonly stepMs: number;
  readonly before: string | null;
  readonly after: string | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function clockSteps(recs: readonly RecLine[]): ClockStepItem[] {
  const out: ClockStepItem[] = [];
  for (const l of recs) {
    const step = num(l.rec.step_ms);
    if (l.rec.type === 'time_sync' && step !== null) out.push({ line: l.no, stepMs: step, before: str(l.rec.before), after: str(l.rec.after) });
  }
  return out;
}

/** A time written at journal line `line` on the clock of that moment, mapped to the shift's starting timebase. */
export function alignAt(steps: readonly ClockStepItem[], line: number, ms: number | undefined): number | undefined {
  if (ms === undefined) return undefined;
  let off = 0;
  for (const s of steps) if (s.line < line) off += s.stepMs;
  return ms - off;
}

export function collectTrack(recs: readonly RecLine[], steps: readonly ClockStepItem[]): TrackPoint[] {
  const out: TrackPoint[] = [];
  for (const l of recs) {
    const r = l.rec;
    if (r.type !== 'location') continue;
    const fix = str(r.fix) ?? 'none';
    const lat = num(r.lat);
    const lon = num(r.lon);
    const has = fix !== 'none' && lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
    out.push({
      line: l.no,
      at: alignAt(steps, l.no, l.atMs) ?? null,
      fix: has ? fix : 'none',
      lat: has ? lat : null,
      lon: has ? lon : null,
      accuracyM: has ? num(r.accuracy_m) : null,
      fixTime: str(r.fix_time),
      cause: has ? null : str(r.cause),
    });
  }
  return out;
}

