/**
 * Obstruction detectors: pure functions of measurement sequences (no timers, no I/O), so they are
 * tested on synthetic sequences with a fake clock and run unchanged over a recorded scene.
 *
 * Three kinds, each from the running encoder's analysis side stream (agent/obstruction/
 * analysis-stream.ts), each decided from more than "dark" / "still" / "quiet" — those fired on
 * night streets, desks and quiet rooms (issue 25; the numbers are in docs/obstruction.md):
 * - `covered`: dark (luma mean and spread low) AND without spatial structure. A night street has
 *   point lights and edges (adjacent-pixel contrast); a hand, fabric or a table on the lens is out
 *   of focus and smooth.
 * - `frozen`: the pipeline repeats frames — bit-identical consecutive analysis frames, or, where
 *   the board is calibrated, a frame difference below a quarter of the sensor's own noise floor.
 *   A still scene is not frozen: the sensor's noise changes pixels every frame. A covered picture
 *   is trivially unchanging: it counts as `covered` only.
 * - `silent` (dead microphone): digital silence (all-zero samples, ≤ −100 dBFS). A quieter level
 *   counts only where the board's calibration gives the microphone's sensitivity: below its own
 *   self-noise, which a working microphone never goes under.
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
  /** Mean absolute difference of adjacent pixels (spatial structure). */
  readonly grad: number;
  /** Largest difference of adjacent pixels (a point light or an edge). */
  readonly edgeMax: number;
  /** Pixels that changed since the previous frame (0 = bit-identical); undefined for a run's first frame. */
  readonly changed: number | undefined;
}

export interface AudioMeasure {
  readonly atMs: number;
  /** RMS level of the window, dBFS (−120 for digital silence). */
  readonly rmsDbfs: number;
  readonly peakDbfs: number;
  /** Fraction of the window's samples that are exactly zero. */
  readonly zeroFrac: number;
}

/** Per-board calibration (board config `calibration`, measured by `bodycam selftest --calibrate`). */
export interface Calibration {
  /**
   * Mean absolute difference of consecutive analysis frames with the lens uncovered on a still
   * scene: the sensor's own noise through the analysis graph (0–255).
   */
  readonly noiseFloorFrameDiff?: number;
  /** Microphone sensitivity: dBFS for a 1 kHz tone at 94 dB SPL (data sheet; typically −26 to −42). */
  readonly micSensitivityDbfsAt94DbSpl?: number;
  /** The microphone's self-noise, dB SPL (A); a data sheet's 94 − SNR. Default 33 (SNR 61 dB). */
  readonly micSelfNoiseDbSpl?: number;
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
export const CLEAR_MARGIN = { lumaMean: 8, lumaSpread: 4, levelDb: 6, edgeMax: 4 } as const;
/** A calibrated freeze clears when the frame difference is beyond this multiple of its limit. */
const FROZEN_CLEAR_FACTOR = 2;

/**
 * Structure a covered lens does not have: the largest difference between adjacent pixels of the
 * 64x36 analysis frame (0–255). Measured over the corpus (docs/obstruction.md): covered scenes
 * 2–8 (8 = face down with the gain at maximum), the darkest normal scenes 21–26 (a dim room's
 * furniture edges) and 120–152 (night street, point lights). The mean adjacent difference
 * (`grad`) does not separate them — high-gain noise on a covered lens (0.95–1.05) reads above a
 * dim room (0.86–0.96) — so it is recorded, not decided on.
 */
export const COVERED_EDGE_MAX = 13;

/** Digital silence: a gone microphone or a broken link delivers zeros (dither at most). */
export const DIGITAL_SILENCE_DBFS = -100;
/** A window is zeros when this share of its samples is exactly 0. */
const ZERO_FRAC_DEAD = 0.99;
/** Calibrated silence lies this far below the microphone's self-noise level. */
const SELF_NOISE_MARGIN_DB = 6;
const DEFAULT_SELF_NOISE_DB_SPL = 33;
/** Calibrated freeze: a frame difference under this share of the sensor's noise floor. */
const FROZEN_NOISE_SHARE = 0.25;
/** Pixels that must change (of 2304) for a picture to count as moving again (hysteresis). */
const UNFROZEN_CHANGED_MIN = 8;

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
  const dark = v.mean <= p.coveredLumaMax && v.spread <= p.coveredSpreadMax;
  if (dark && v.edgeMax <= COVERED_EDGE_MAX) return 'bad';
  if (
    v.mean > p.coveredLumaMax + CLEAR_MARGIN.lumaMean ||
    v.spread > p.coveredSpreadMax + CLEAR_MARGIN.lumaSpread ||
    v.edgeMax > COVERED_EDGE_MAX + CLEAR_MARGIN.edgeMax
  )
    return 'good';
  return 'between';
}

/** The frame difference at or below which a picture is frozen: none without a calibrated noise floor. */
export function frozenDiffLimit(p: DetectorPolicy, c: Calibration | undefined): number | undefined {
  const floor = c?.noiseFloorFrameDiff;
  return floor === undefined ? undefined : Math.min(p.frozenDiffMax, floor * FROZEN_NOISE_SHARE);
}

export function frozenVerdict(v: VideoMeasure, p: DetectorPolicy, c?: Calibration): Verdict {
  if (v.diff === undefined || v.changed === undefined) return 'between';
  // A covered (flat, dark) picture does not change either: that is the covered finding, not a freeze.
  const covered = coveredVerdict(v, p);
  if (covered === 'bad') return 'good';
  if (covered === 'between') return 'between';
  const limit = frozenDiffLimit(p, c);
  if (v.changed === 0 || (limit !== undefined && v.diff <= limit)) return 'bad';
  if (v.changed >= UNFROZEN_CHANGED_MIN && (limit === undefined || v.diff > limit * FROZEN_CLEAR_FACTOR)) return 'good';
  return 'between';
}

/** The level at or below which a working microphone never is: digital silence, or its calibrated self-noise. */
export function silentDbfsLimit(p: DetectorPolicy, c: Calibration | undefined): number {
  const sens = c?.micSensitivityDbfsAt94DbSpl;
  if (sens === undefined) return DIGITAL_SILENCE_DBFS;
  const selfNoiseDbfs = sens - 94 + (c?.micSelfNoiseDbSpl ?? DEFAULT_SELF_NOISE_DB_SPL);
  return Math.max(DIGITAL_SILENCE_DBFS, Math.min(p.silentDbfsMax, selfNoiseDbfs - SELF_NOISE_MARGIN_DB));
}

export function silentVerdict(a: AudioMeasure, p: DetectorPolicy, c?: Calibration): Verdict {
  const limit = silentDbfsLimit(p, c);
  if (a.zeroFrac >= ZERO_FRAC_DEAD || a.rmsDbfs <= limit) return 'bad';
  if (a.zeroFrac < 0.5 && a.rmsDbfs > limit + CLEAR_MARGIN.levelDb) return 'good';
  return 'between';
}

/** All three kinds over one analysis stream. */
export class ObstructionDetector {
  readonly kinds: Readonly<Record<ObstructionKind, KindDetector>> = {
    covered: new KindDetector('covered'),
    frozen: new KindDetector('frozen'),
    silent: new KindDetector('silent'),
  };

  constructor(
    private readonly policy: () => DetectorPolicy,
    private readonly calibration?: Calibration,
  ) {}

  video(v: VideoMeasure): Finding[] {
    const p = this.policy();
    const out: Finding[] = [];
    const lumaMeasures = { luma_mean: v.mean, luma_spread: v.spread, luma_grad: v.grad, luma_edge_max: v.edgeMax };
    const c = this.kinds.covered.feed(v.atMs, coveredVerdict(v, p), lumaMeasures, p);
    if (c) out.push(c);
    const f = this.kinds.frozen.feed(v.atMs, frozenVerdict(v, p, this.calibration), { frame_diff: v.diff ?? 0, changed_px: v.changed ?? 0, luma_mean: v.mean }, p);
    if (f) out.push(f);
    return out;
  }

  audio(a: AudioMeasure): Finding[] {
    const p = this.policy();
    const s = this.kinds.silent.feed(a.atMs, silentVerdict(a, p, this.calibration), { level_dbfs: a.rmsDbfs, peak_dbfs: a.peakDbfs, zero_frac: a.zeroFrac }, p);
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
