/** Config section `power`: how often the gauge and thermal zone are read. Thresholds are per board. */
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/agent-config.js';

export interface PowerConfig {
  /** Seconds between gauge/thermal readings. */
  readonly intervalS: number;
}

export const DEFAULT_POWER: PowerConfig = { intervalS: 5 };

export const powerSection: SectionParser<PowerConfig> = {
  name: 'power',
  parse(value, where, issues: Issue[]): PowerConfig {
    if (value === undefined) return DEFAULT_POWER;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ where, message: 'must be an object' });
      return DEFAULT_POWER;
    }
    const v = value as Record<string, unknown>;
    for (const k of Object.keys(v)) if (k !== 'intervalS') issues.push({ where: `${where}/${k}`, message: 'unknown setting (known: intervalS)' });
    let intervalS = DEFAULT_POWER.intervalS;
    if (v.intervalS !== undefined) {
      if (typeof v.intervalS !== 'number' || !Number.isFinite(v.intervalS) || v.intervalS < 0.2 || v.intervalS > 300) {
        issues.push({ where: `${where}/intervalS`, message: 'must be a number of seconds in [0.2, 300]' });
      } else intervalS = v.intervalS;
    }
    return { intervalS };
  },
};
