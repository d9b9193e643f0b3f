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
}

export interface LevelStats {
  readonly index: number;
  readonly rmsDbfs: number;
  readonly peakDbfs: number;
}

/** Level reported for digital silence (log of zero). */
export const SILENCE_DBFS = -120;

const dbfs = (ratio: number): number => (ratio <= 0 ? SILENCE_DBFS : Math.max(SILENCE_DBFS, 20 * Math.log10(ratio)));

export class GrayFrameParser {
  private readonly size: number;
  private pending: Buffer = Buffer.alloc(0);
  private prev: Buffer | undefined;
  private n = 0;

  constructor(width: number, height: number) {
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
      const prev = this.prev;
      for (let i = 0; i < f.length; i++) {
        const v = f[i]!;
        sum += v;
        sq += v * v;
        if (prev) d += Math.abs(v - prev[i]!);
      }
      const mean = sum / f.length;
      out.push({ index: this.n++, mean, spread: Math.sqrt(Math.max(0, sq / f.length - mean * mean)), diff: prev ? d / f.length : undefined });
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
      const samples = w.length / 2;
      for (let i = 0; i < samples; i++) {
        const v = w.readInt16LE(i * 2) / 32768;
        sq += v * v;
        const a = Math.abs(v);
        if (a > peak) peak = a;
      }
      out.push({ index: this.n++, rmsDbfs: dbfs(Math.sqrt(sq / samples)), peakDbfs: dbfs(peak) });
    }
    return out;
  }
}
