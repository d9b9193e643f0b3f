/**
 * Is a gauge reading believable for a single Li-ion cell? A gauge that answers with garbage (a
 * wrong address, an unconfigured chip, a bus glitch) must not end a shift for "battery critical".
 */
import type { GaugeReading } from '../types.js';

export function gaugeProblems(r: GaugeReading): string[] {
  const p: string[] = [];
  if (!Number.isFinite(r.percent) || r.percent < 0 || r.percent > 100) p.push(`state of charge ${r.percent}% is outside 0-100`);
  if (!Number.isFinite(r.voltageV) || r.voltageV < 2.5 || r.voltageV > 4.6) p.push(`cell voltage ${r.voltageV} V is outside 2.5-4.6 V`);
  if (r.currentMa !== undefined && Math.abs(r.currentMa) > 10_000) p.push(`current ${r.currentMa} mA is beyond 10 A`);
  return p;
}
