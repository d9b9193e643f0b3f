/**
 * Validation of config inputs against their JSON Schemas (ajv, every error reported), turned into
 * Issues that name the JSON pointer and what is allowed: `/policy/personalNeedsMaxS: must be <= 900
 * (got 3600; range [5, 900])`, `/mqtt/nosuch: unknown key (allowed: url, ca, …)`. The schemas live
 * beside the code that owns them (`*.schema.json`); codegen/gen-config-schemas.mjs turns them into
 * types and schema values (agent/generated/config-schemas.ts) and into validators compiled ahead of
 * time (agent/generated/config-validators.js: section validators fill in the schema's defaults, the
 * policy validator does not, as a policy is merged over a base).
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Issue } from '../lib/errors.js';
import * as validators from '../generated/config-validators.js';

/** The compiled validator of one schema (see codegen/gen-config-schemas.mjs for the names). */
export function validatorOf<T>(name: keyof typeof validators): ValidateFunction<T> {
  return validators[name] as unknown as ValidateFunction<T>;
}

function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One ajv error as an Issue; `where` is the pointer of the validated value in its file. */
export function issueOf(e: ErrorObject, where: string): Issue {
  const at = `${where}${e.instancePath}`;
  const got = ` (got ${shown(e.data)})`;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty.replace(/~/g, '~0').replace(/\//g, '~1');
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return { where: `${at}/${key}`, message: `unknown key (allowed: ${allowed.join(', ')})` };
    }
    case 'required':
      return { where: `${at}/${(e.params as { missingProperty: string }).missingProperty}`, message: 'required' };
    case 'enum':
      return { where: at || '/', message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map(shown).join(', ')}${got}` };
    case 'type':
      return { where: at || '/', message: `must be ${[(e.params as { type: string | string[] }).type].flat().join(' or ')}${got}` };
    case 'pattern':
      return { where: at || '/', message: `must match ${(e.params as { pattern: string }).pattern}${got}` };
    case 'minimum':
    case 'maximum': {
      const ps = e.parentSchema as { minimum?: number; maximum?: number } | undefined;
      const range = ps?.minimum !== undefined && ps.maximum !== undefined ? `; range [${ps.minimum}, ${ps.maximum}]` : '';
      return { where: at || '/', message: `${e.message ?? 'out of range'} (got ${shown(e.data)}${range})` };
    }
    default:
      return { where: at || '/', message: `${e.message ?? 'invalid'}${got}` };
  }
}

export interface SchemaCheck<T> {
  /**
   * Checks `value` (located at JSON pointer `where`): pushes every problem to `issues` and returns
   * a copy of the value (with the schema's defaults filled in, for section schemas), or undefined
   * when it does not match.
   */
  (value: unknown, where: string, issues: Issue[]): T | undefined;
}

/** A check through the compiled validator `name` (e.g. 'mqttValidate'). */
export function schemaCheck<T>(name: keyof typeof validators): SchemaCheck<T> {
  const validate = validatorOf<T>(name);
  return (value, where, issues) => {
    // A copy: defaults are filled into it, never into the caller's object.
    const copy = structuredClone(value);
    if (validate(copy)) return copy;
    for (const e of validate.errors ?? []) issues.push(issueOf(e, where));
    return undefined;
  };
}

/**
 * `value` as a plain object, or `{}` when it is none (the schema reported that): for the rules
 * between fields, which run even when the schema found problems so that every problem is listed.
 */
export const objectOrEmpty = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
