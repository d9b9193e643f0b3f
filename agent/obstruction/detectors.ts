/**
 * Obstruction detectors: pure functions of measurement sequences (no timers, no I/O), so they are
 * tested on synthetic sequences with a fake clock and run unchanged over a recorded scene.
 *
 * Three kinds, each from the running encoder's analysis side stream (agent/obstruction/
 * analysis-stream.ts):
 * - `covered`: the lens is covered or the picture is dark — luma mean AND spread both low
 *   (a taped lens, a pocket, a hand). A night street has lights: its spread stays high.
 * - `frozen`: frames keep arriving but do not change (mean absolute difference of consecutive
 *   64x36 frames near zero). A covered picture is trivially unchanging: it counts as `covered` only.
 * - `silent`: the microphone level stays below a floor (blocked, dead or muted).
 *
 * Hysteresis: a kind becomes *bad* at its threshold but only *good* again beyond the threshold
 * plus a margin (CLEAR_MARGIN), so a measure hovering at the threshold cannot flap. Debounce: an
 * onset needs `onsetS` of continuously bad samples and a clear `clearS` of continuously good
 * ones (policy, 5 s each by default) — walking through a dark stairwell is not a finding. The
 * interval's bounds are the first bad / first good sample, not the moment the debounce decided.
 */
export type ObstructionKind = 'covered' | 'frozen' | 'silent';
export const OBSTRUCTION_KINDS: readonly ObstructionKind[] = ['covered', 'frozen', 'silent'];

export interface VideoMeasure {
  readonly atMs: number;
  /** Mean luma 0–255 of the analysis frame. */
  readonly mean: number;
  /** Standard deviation of luma. */
  readonly spread: number;
  /** Mean absolute luma difference to the previous frame; undefined for a run's first frame. */
  readonly diff: number | undefined;
}

export interface AudioMeasure {
  readonly atMs: number;
  /** RMS level of the window, dBFS (−120 for digital silence). */
  readonly rmsDbfs: number;
  readonly peakDbfs: number;
}

export interface DetectorPolicy {
  readonly onsetS: number;
  readonly clearS: number;
  readonly coveredLumaMax: number;
  readonly coveredSpreadMax: number;
  readonly frozenDiffMax: number;
  readonly silentDbfsMax: number;
}

/** How far beyond its threshold a measure must go before it counts as good again. */
export const CLEAR_MARGIN = { lumaMean: 8, lumaSpread: 4, frameDiff: 0.1, levelDb: 6 } as const;

export type Measures = Readonly<Record<string, number>>;

export type Finding =
  | { readonly t: 'onset'; readonly kind: ObstructionKind; readonly startMs: number; readonly atMs: number; readonly measures: Measures }
  | { readonly t: 'clear'; readonly kind: ObstructionKind; readonly startMs: number; readonly endMs: number; readonly atMs: number; readonly measures: Measures; readonly reason: 'cleared' | 'stopped' };

type Verdict = 'bad' | 'good' | 'between';

/** Running averages of the interval's measures (reported with the record pair). */
class MeasureSum {
  private readonly sums = new Map<string, number>();
  private n = 0;
  add(m: Measures): void {
    this.n++;
    for (const [k, v] of Object.entries(m)) this.sums.set(k, (this.sums.get(k) ?? 0) + v);
  }
  mean(): Measures {
    const out: Record<string, number> = {};
    for (const [k, v] of this.sums) out[k] = Math.round((v / Math.max(1, this.n)) * 1000) / 1000;
    return out;
  }
}

/** One kind's debounced state: clear ⇄ active, each way after a continuous hold. */
export class KindDetector {
  private candidateFrom: number | undefined;
  private candidate = new MeasureSum();
  private activeFrom: number | undefined;
  private interval = new MeasureSum();
  private clearFrom: number | undefined;
  private lastAt: number | undefined;

  constructor(readonly kind: ObstructionKind) {}

  get active(): boolean {
    return this.activeFrom !== undefined;
  }
  get since(): number | undefined {
    return this.activeFrom;
  }
  get current(): Measures {
    return this.interval.mean();
  }

  feed(atMs: number, verdict: Verdict, measures: Measures, p: DetectorPolicy): Finding | undefined {
    this.lastAt = atMs;
    if (this.activeFrom === undefined) {
      if (verdict !== 'bad') {
        this.candidateFrom = undefined;
        return undefined;
      }
      if (this.candidateFrom === undefined) {
        this.candidateFrom = atMs;
        this.candidate = new MeasureSum();
      }
      this.candidate.add(measures);
      if (atMs - this.candidateFrom < p.onsetS * 1000) return undefined;
      this.activeFrom = this.candidateFrom;
      this.interval = this.candidate;
      this.candidateFrom = undefined;
      this.clearFrom = undefined;
      return { t: 'onset', kind: this.kind, startMs: this.activeFrom, atMs, measures: this.interval.mean() };
    }
    if (verdict !== 'good') {
      this.clearFrom = undefined;
      this.interval.add(measures);
      return undefined;
    }
    if (this.clearFrom === undefined) this.clearFrom = atMs;
    if (atMs - this.clearFrom < p.clearS * 1000) return undefined;
    return this.end(this.clearFrom, atMs, 'cleared');
  }

  /** The stream ended (encoder stopped, pause, shift end): an active interval ends at its last sample. */
  stop(atMs?: number): Finding | undefined {
    this.candidateFrom = undefined;
    if (this.activeFrom === undefined) return undefined;
    const end = this.clearFrom ?? this.lastAt ?? atMs ?? this.activeFrom;
    return this.end(end, atMs ?? end, 'stopped');
  }

  private end(endMs: number, atMs: number, reason: 'cleared' | 'stopped'): Finding {
    const f: Finding = { t: 'clear', kind: this.kind, startMs: this.activeFrom!, endMs, atMs, measures: this.interval.mean(), reason };
    this.activeFrom = undefined;
    this.clearFrom = undefined;
    return f;
  }
}

export function coveredVerdict(v: VideoMeasure, p: DetectorPolicy): Verdict {
  if (v.mean <= p.coveredLumaMax && v.spread <= p.coveredSpreadMax) return 'bad';
  if (v.mean > p.coveredLumaMax + CLEAR_MARGIN.lumaMean || v.spread > p.coveredSpreadMax + CLEAR_MARGIN.lumaSpread) return 'good';
  return 'between';
}

export function frozenVerdict(v: VideoMeasure, p: DetectorPolicy): Verdict {
  if (v.diff === undefined) return 'between';
  // A covered (flat, dark) picture does not change either: that is the covered finding, not a freeze.
  const covered = coveredVerdict(v, p);
  if (covered === 'bad') return 'good';
  if (covered === 'between') return 'between';
  if (v.diff <= p.frozenDiffMax) return 'bad';
  if (v.diff > p.frozenDiffMax + CLEAR_MARGIN.frameDiff) return 'good';
  return 'between';
}

export function silentVerdict(a: AudioMeasure, p: DetectorPolicy): Verdict {
  if (a.rmsDbfs <= p.silentDbfsMax) return 'bad';
  if (a.rmsDbfs > p.silentDbfsMax + CLEAR_MARGIN.levelDb) return 'good';
  return 'between';
}

/** All three kinds over one analysis stream. */
export class ObstructionDetector {
  readonly kinds: Readonly<Record<ObstructionKind, KindDetector>> = {
    covered: new KindDetector('covered'),
    frozen: new KindDetector('frozen'),
    silent: new KindDetector('silent'),
  };

  constructor(private readonly policy: () => DetectorPolicy) {}

  video(v: VideoMeasure): Finding[] {
    const p = this.policy();
    const out: Finding[] = [];
    const lumaMeasures = { luma_mean: v.mean, luma_spread: v.spread };
    const c = this.kinds.covered.feed(v.atMs, coveredVerdict(v, p), lumaMeasures, p);
    if (c) out.push(c);
    const f = this.kinds.frozen.feed(v.atMs, frozenVerdict(v, p), { frame_diff: v.diff ?? 0, luma_mean: v.mean }, p);
    if (f) out.push(f);
    return out;
  }

  audio(a: AudioMeasure): Finding[] {
    const p = this.policy();
    const s = this.kinds.silent.feed(a.atMs, silentVerdict(a, p), { level_dbfs: a.rmsDbfs, peak_dbfs: a.peakDbfs }, p);
    return s ? [s] : [];
  }

  /** The analysis stream ended: active intervals end at their last sample. */
  stop(atMs?: number): Finding[] {
    return OBSTRUCTION_KINDS.map((k) => this.kinds[k].stop(atMs)).filter((f): f is Finding => f !== undefined);
  }

  active(): Array<{ kind: ObstructionKind; sinceMs: number; measures: Measures }> {
    return OBSTRUCTION_KINDS.filter((k) => this.kinds[k].active).map((k) => ({ kind: k, sinceMs: this.kinds[k].since!, measures: this.kinds[k].current }));
  }
}
