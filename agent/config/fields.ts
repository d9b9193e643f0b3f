/** Field readers shared by the config sections' parsers: every problem goes to `issues`. */
import type { Issue } from '../lib/errors.js';

/** A number in [min, max], `def` when absent; anything else is reported and `def` used. */
export function numberField(obj: Record<string, unknown>, k: string, where: string, def: number, min: number, max: number, issues: Issue[]): number {
  const v = obj[k];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    issues.push({ where: `${where}/${k}`, message: `must be a number in [${min}, ${max}], got ${JSON.stringify(v)}` });
    return def;
  }
  return v;
}
