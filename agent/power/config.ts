/** Config section `power` (agent/power/power.schema.json): how often the gauge and thermal zone are read. Thresholds are per board. */
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/types.js';
import { schemaCheck } from '../config/schema.js';
import { powerSchema, type PowerSection } from '../generated/config-schemas.js';

export interface PowerConfig {
  /** Seconds between gauge/thermal readings. */
  readonly intervalS: number;
}

export const DEFAULT_POWER: PowerConfig = { intervalS: powerSchema.properties.intervalS.default };

const check = schemaCheck<Required<PowerSection>>('powerValidate');

export const powerSection: SectionParser<PowerConfig> = {
  name: 'power',
  parse(value, where, issues: Issue[]): PowerConfig {
    if (value === undefined) return DEFAULT_POWER;
    const c = check(value, where, issues);
    return c ? { intervalS: c.intervalS } : DEFAULT_POWER;
  },
};
