/**
 * Benchmark suites run by `make bench` (test/bench/run.ts), by name. Each suite measures and
 * returns rows; the runner prints them side by side with their baselines and ratios. A suite is
 * loaded only when it runs (BENCH_ONLY).
 */
import type { BenchSuite } from './types.js';

export type { BenchRow, BenchSuite } from './types.js';

export const SUITES: ReadonlyArray<{ readonly name: string; load(): Promise<BenchSuite> }> = [
  { name: 'integrity', load: async () => (await import('./integrity.js')).integritySuite() },
  { name: 'core', load: async () => (await import('./core.js')).coreSuite() },
  { name: 'offload', load: async () => (await import('./offload.js')).offloadSuite() },
  { name: 'live', load: async () => (await import('./live.js')).liveSuite() },
  { name: 'mqtt', load: async () => (await import('./mqtt.js')).mqttSuite() },
  { name: 'journal', load: async () => (await import('./journal.js')).journalSuite() },
  { name: 'faults', load: async () => (await import('./faults.js')).faultsSuite() },
  { name: 'fleet', load: async () => (await import('./fleet.js')).fleetSuite() },
  { name: 'obstruction', load: async () => (await import('./obstruction.js')).obstructionSuite() },
  { name: 'console', load: async () => (await import('./console.js')).consoleSuite() },
  { name: 'live-view', load: async () => (await import('./live-view.js')).liveViewSuite() },
  { name: 'long', load: async () => (await import('./long.js')).longSuite() },
  { name: 'custody', load: async () => (await import('./custody.js')).custodySuite() },
];
