/**
 * Config section `central` (agent/commands/central.schema.json): central's Ed25519 key(s) that
 * sign commands, and the limits the device applies to them. Its own section (not part of `mqtt`):
 * commands also reach a camera through the dock, with no broker configured at all. The schema
 * checks the shape; here the keys are loaded, so a bad key file is a config error at start.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/types.js';
import { schemaCheck, objectOrEmpty } from '../config/schema.js';
import { centralSchema, type CentralSection } from '../generated/config-schemas.js';

export interface CentralConfig {
  /** Central's Ed25519 public key(s) that sign commands. Empty: every command is refused (NO_KEY). */
  readonly commandKeys: readonly KeyObject[];
  readonly commandKeyPaths: readonly string[];
  /** Payloads above this are refused before decoding. */
  readonly maxCommandBytes: number;
  /** Longest accepted validity (expiry − issue): bounds the replay cache. */
  readonly maxTtlS: number;
  /** Accepted clock difference between central and device for the issue time. */
  readonly clockSkewS: number;
  /** The team (notification group) this camera belongs to: duty commands addressed to it apply here. */
  readonly groupId: string | undefined;
}

const check = schemaCheck<CentralSection & Required<Pick<CentralSection, 'maxCommandBytes' | 'maxTtlS' | 'clockSkewS'>>>('centralValidate');
const P = centralSchema.properties;
const NONE: CentralConfig = { commandKeys: [], commandKeyPaths: [], maxCommandBytes: P.maxCommandBytes.default, maxTtlS: P.maxTtlS.default, clockSkewS: P.clockSkewS.default, groupId: undefined };

export function parseCentralConfig(value: unknown, where: string, issues: Issue[]): CentralConfig {
  if (value === undefined) return NONE;
  const c = check(value, where, issues);
  // Keys are loaded even when another field is wrong: every problem is reported at once.
  // One path, or several during a key rotation (old and new key both accepted for a while).
  const raw = objectOrEmpty(value).commandPublicKey;
  const paths = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const keys: KeyObject[] = [];
  paths.forEach((p, i) => {
    if (typeof p !== 'string' || p === '') return; // the schema said so
    const w = Array.isArray(raw) ? `${where}/commandPublicKey/${i}` : `${where}/commandPublicKey`;
    try {
      const k = createPublicKey(readFileSync(p));
      if (k.asymmetricKeyType !== 'ed25519') issues.push({ where: w, message: `'${p}' is a ${k.asymmetricKeyType} key; central signs with Ed25519` });
      else keys.push(k);
    } catch (e) {
      issues.push({ where: w, message: `cannot load '${p}': ${(e as Error).message}` });
    }
  });
  if (!c) return { ...NONE, commandKeys: keys, commandKeyPaths: paths.filter((p): p is string => typeof p === 'string') };
  return {
    groupId: c.groupId,
    commandKeys: keys,
    commandKeyPaths: paths as string[],
    maxCommandBytes: c.maxCommandBytes,
    maxTtlS: c.maxTtlS,
    clockSkewS: c.clockSkewS,
  };
}

/** True when central's key is configured: commands can be verified at all. */
export const hasCommandKeys = (c: CentralConfig | undefined): boolean => (c?.commandKeys.length ?? 0) > 0;

export const centralSection: SectionParser<CentralConfig> = {
  name: 'central',
  parse: parseCentralConfig,
};
