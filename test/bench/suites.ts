/**
 * Benchmark suites run by `make bench` (test/bench/run.ts). Each suite measures and returns rows;
 * the runner prints them side by side with their baselines and ratios.
 */
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

export const SUITES: Array<() => Promise<BenchSuite>> = [
  async () => (await import('./integrity.js')).integritySuite(),
  async () => (await import('./core.js')).coreSuite(),
  async () => (await import('./offload.js')).offloadSuite(),
  async () => (await import('./mqtt.js')).mqttSuite(),
  async () => (await import('./journal.js')).journalSuite(),
  async () => (await import('./faults.js')).faultsSuite(),
  async () => (await import('./fleet.js')).fleetSuite(),
  async () => (await import('./obstruction.js')).obstructionSuite(),
  async () => (await import('./long.js')).longSuite(),
];
