/** Config section `update` (agent/update/update.schema.json): how the agent reaches RAUC and reboots. */
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/types.js';
import { schemaCheck } from '../config/schema.js';
import type { UpdateSection } from '../generated/config-schemas.js';

export interface UpdateConfig {
  readonly raucCommand: readonly string[];
  readonly dbusSystemBusAddress: string | undefined;
  readonly rebootCommand: readonly string[];
  readonly maxBundleBytes: number;
}

const check = schemaCheck<Required<Omit<UpdateSection, 'dbusSystemBusAddress'>> & Pick<UpdateSection, 'dbusSystemBusAddress'>>('updateValidate');

/** Absent section: undefined — this image has no RAUC, and updates are refused as unavailable. */
export const updateSection: SectionParser<UpdateConfig | undefined> = {
  name: 'update',
  parse(value, where, issues: Issue[]): UpdateConfig | undefined {
    if (value === undefined) return undefined;
    const c = check(value, where, issues);
    if (!c) return undefined;
    return { raucCommand: c.raucCommand, dbusSystemBusAddress: c.dbusSystemBusAddress, rebootCommand: c.rebootCommand, maxBundleBytes: Math.round(c.maxBundleMb * 1048576) };
  },
};
