/**
 * Parsers of the encoder's analysis side outputs (hal/encoder/args.ts `analysis`): bytes in
 * arrival order → measurements. Chunks split frames anywhere; a parser keeps the remainder.
 * - video: raw 8-bit gray frames of width×height → luma mean, spread (standard deviation) and
 *   the mean absolute difference to the previous frame;
 * - audio: mono s16le → RMS and peak level in dBFS per window (half a second by default).
 * Stamping with time is the caller's: the live room uses arrival time, an offline run media time.
 */
export interface FrameStats {
  readonly index: number;
  readonly mean: number;
  readonly spread: number;
  readonly diff: number | undefined;
  /**
   * Spatial structure: mean absolute difference between horizontally and vertically adjacent
   * pixels (0–255). Edges, lit windows and point lights give structure; a hand or fabric on the
   * lens is out of focus and smooth (docs/obstruction.md has the measured values).
   */
  readonly grad: number;
  /** Largest difference between adjacent pixels: one point light is enough to raise it. */
  readonly edgeMax: number;
  /** Pixels that differ at all from the previous frame; 0 = a bit-identical repeat. undefined for the first. */
  readonly changed: number | undefined;
}

export interface LevelStats {
  readonly index: number;
  readonly rmsDbfs: number;
  readonly peakDbfs: number;
  /** Samples of the window that are exactly zero (0–1): a gone microphone delivers all zeros. */
  readonly zeroFrac: number;
}

/** Level reported for digital silence (log of zero). */
export const SILENCE_DBFS = -120;

const dbfs = (ratio: number): number => (ratio <= 0 ? SILENCE_DBFS : Math.max(SILENCE_DBFS, 20 * Math.log10(ratio)));

export class GrayFrameParser {
  private readonly size: number;
  private pending: Buffer = Buffer.alloc(0);
  private prev: Buffer | undefined;
  private n = 0;

  constructor(
    private readonly width: number,
    height: number,
  ) {
    this.size = width * height;
  }

  feed(chunk: Buffer): FrameStats[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: FrameStats[] = [];
    while (this.pending.length >= this.size) {
      const f = this.pending.subarray(0, this.size);
      this.pending = this.pending.subarray(this.size);
      let sum = 0;
      let sq = 0;
      let d = 0;
      let changed = 0;
      let g = 0;
      let gn = 0;
      let edgeMax = 0;
      const w = this.width;
      const prev = this.prev;
      for (let i = 0; i < f.length; i++) {
        const v = f[i]!;
        sum += v;
        sq += v * v;
        if (prev) {
          const dd = Math.abs(v - prev[i]!);
          d += dd;
          if (dd) changed++;
        }
        if ((i + 1) % w !== 0) {
          const e = Math.abs(v - f[i + 1]!);
          g += e;
          gn++;
          if (e > edgeMax) edgeMax = e;
        }
        if (i + w < f.length) {
          const e = Math.abs(v - f[i + w]!);
          g += e;
          gn++;
          if (e > edgeMax) edgeMax = e;
        }
      }
      const mean = sum / f.length;
      out.push({
        index: this.n++, mean, spread: Math.sqrt(Math.max(0, sq / f.length - mean * mean)), diff: prev ? d / f.length : undefined,
        grad: gn ? g / gn : 0, edgeMax, changed: prev ? changed : undefined,
      });
      // A copy: the chunk's memory belongs to the stream.
      this.prev = Buffer.from(f);
    }
    return out;
  }
}

export class LevelParser {
  private readonly windowBytes: number;
  private pending: Buffer = Buffer.alloc(0);
  private n = 0;

  /** `windowS` of mono s16le at `rate` per reported level. */
  constructor(rate: number, windowS = 0.5) {
    this.windowBytes = Math.max(2, Math.round(rate * windowS)) * 2;
  }

  feed(chunk: Buffer): LevelStats[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: LevelStats[] = [];
    while (this.pending.length >= this.windowBytes) {
      const w = this.pending.subarray(0, this.windowBytes);
      this.pending = this.pending.subarray(this.windowBytes);
      let sq = 0;
      let peak = 0;
      let zeros = 0;
      const samples = w.length / 2;
      for (let i = 0; i < samples; i++) {
        const raw = w.readInt16LE(i * 2);
        if (raw === 0) zeros++;
        const v = raw / 32768;
        sq += v * v;
        const a = Math.abs(v);
        if (a > peak) peak = a;
      }
      out.push({ index: this.n++, rmsDbfs: dbfs(Math.sqrt(sq / samples)), peakDbfs: dbfs(peak), zeroFrac: zeros / samples });
    }
    return out;
  }
}
