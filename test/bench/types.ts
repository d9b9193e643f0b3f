/** What a benchmark suite returns (its own module: suites.ts loads the suites, which import this). */
export interface BenchRow {
  /** What was measured, e.g. 'shift start latency (median of 5)'. */
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The same measurement for the baseline (bare ffmpeg, sha256sum, single-stream upload…). */
  readonly baseline?: number;
  readonly baselineLabel?: string;
  /** Target from the issue, for the reader (never asserted). */
  readonly target?: string;
  readonly note?: string;
}

export interface BenchSuite {
  readonly name: string;
  run(): Promise<BenchRow[]>;
}
