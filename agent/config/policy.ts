/**
 * Policy: every duration and threshold the shift logic uses, described (bounds, defaults, what
 * each field means) by agent/config/schema/policy.schema.json. Defaults are SPEC's. A config file
 * or a signed set-policy command may change them within the schema's bounds — bounds chosen so
 * that no value helps a wearer avoid recording (pauses cannot exceed SPEC's maxima, the
 * end-of-shift confirm cannot be switched off). This file adds what a schema cannot say: the
 * rules between fields.
 */
import type { Issue } from '../lib/errors.js';
import { policySchema, type PolicyInput } from '../generated/config-schemas.js';
import { schemaCheck } from './schema.js';

/** Every field set (see the schema's descriptions, shown on PolicyInput's fields). */
export type Policy = Required<PolicyInput>;

type PolicyProperty = { readonly default: number } & ({ readonly minimum: number; readonly maximum: number } | { readonly enum: readonly number[] });
const PROPERTIES = policySchema.properties as unknown as Readonly<Record<keyof Policy, PolicyProperty>>;

/** The schema's defaults (SPEC's), frozen. */
export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze(
  Object.fromEntries(Object.entries(PROPERTIES).map(([k, p]) => [k, p.default])) as unknown as Policy,
);

/** [min, max] per field, from the schema. Pause maxima are capped at SPEC's; gestures cannot be made trivial. */
export const POLICY_BOUNDS: Readonly<Record<keyof Policy, readonly [number, number]>> = Object.freeze(
  Object.fromEntries(
    Object.entries(PROPERTIES).map(([k, p]) => [k, 'enum' in p ? [Math.min(...p.enum), Math.max(...p.enum)] as const : [p.minimum, p.maximum] as const]),
  ) as unknown as Record<keyof Policy, readonly [number, number]>,
);

const checkSchema = schemaCheck<PolicyInput>('policyValidate');

/** A policy error: the JSON pointer (e.g. `/personalNeedsMaxS`) and what is wrong. */
export type PolicyIssue = Issue;

/**
 * Checks a policy object (all or some fields) against the schema and the rules between fields,
 * merged over `base`. Every problem is returned, each naming its JSON pointer under `where`
 * (`''` for a bare policy document). The policy is valid exactly when `issues` is empty; for
 * `bodycam central sign` and anything else that must refuse a policy before sending it.
 */
export function validatePolicy(input: unknown, where = '', base: Policy = DEFAULT_POLICY): { policy: Policy; issues: PolicyIssue[] } {
  return parsePolicy(input, where, base);
}

/**
 * Merges `input` over `base`, checking every field (schema) and the rules between fields.
 * Unknown keys, wrong types and out-of-range values are all reported (not just the first); on any
 * issue the returned policy is `base` with the fields that were fine.
 */
export function parsePolicy(input: unknown, where: string, base: Policy = DEFAULT_POLICY): { policy: Policy; issues: Issue[] } {
  const issues: Issue[] = [];
  const policy: Policy = { ...base };
  if (input === undefined) return { policy, issues };
  const valid = checkSchema(input, where, issues);
  if (valid) Object.assign(policy, valid);
  else if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    // Keep the fields that passed, so a caller that logs and carries on gets the most of it.
    const bad = new Set(issues.map((i) => i.where.slice(where.length + 1).split('/')[0]));
    for (const [k, v] of Object.entries(input)) if (k in PROPERTIES && !bad.has(k)) policy[k as keyof Policy] = v as number;
  }
  if (policy.autoResumeWarningS >= Math.min(policy.personalNeedsMaxS, policy.sensitiveSiteMaxS)) {
    // Otherwise the warning would fire before (or as) the pause starts: useless to the wearer.
    policy.autoResumeWarningS = Math.max(1, Math.floor(Math.min(policy.personalNeedsMaxS, policy.sensitiveSiteMaxS) / 2));
  }
  if (policy.batteryCriticalPct >= policy.batteryLowPct) issues.push({ where: `${where}/batteryCriticalPct`, message: `must be below batteryLowPct (${policy.batteryLowPct}) (got ${policy.batteryCriticalPct})` });
  // A period must hold several segments: its boundary falls on a segment boundary (docs/custody-periods.md).
  if (policy.periodS < 3 * policy.segmentS) issues.push({ where: `${where}/periodS`, message: `must be at least 3 × segmentS (${3 * policy.segmentS} s): a custody period ends on a segment boundary (got ${policy.periodS})` });
  if (policy.tempDegradeC >= policy.tempCriticalC) issues.push({ where: `${where}/tempDegradeC`, message: `must be below tempCriticalC (${policy.tempCriticalC}) (got ${policy.tempDegradeC})` });
  return { policy, issues };
}
