/**
 * Config section `central`: central's Ed25519 key(s) that sign commands, and the limits the
 * device applies to them. Its own section (not part of `mqtt`): commands also reach a camera
 * through the dock, with no broker configured at all. Parsed once at the edge; every problem is
 * reported.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/agent-config.js';
import { numberField } from '../config/fields.js';

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


const CENTRAL_KEYS = ['commandPublicKey', 'maxCommandBytes', 'maxTtlS', 'clockSkewS', 'groupId'];
const GROUP_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function parseCentralConfig(value: unknown, where: string, issues: Issue[]): CentralConfig {
  const none: CentralConfig = { commandKeys: [], commandKeyPaths: [], maxCommandBytes: 4096, maxTtlS: 86400, clockSkewS: 300, groupId: undefined };
  if (value === undefined) return none;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ where, message: 'must be an object' });
    return none;
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!CENTRAL_KEYS.includes(k)) issues.push({ where: `${where}/${k}`, message: `unknown field (known: ${CENTRAL_KEYS.join(', ')})` });
  // One path, or several during a key rotation (old and new key both accepted for a while).
  const raw = obj.commandPublicKey;
  const paths = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const keys: KeyObject[] = [];
  paths.forEach((p, i) => {
    const w = Array.isArray(raw) ? `${where}/commandPublicKey/${i}` : `${where}/commandPublicKey`;
    if (typeof p !== 'string' || p === '') return issues.push({ where: w, message: 'must be a path to a PEM public key' });
    try {
      const k = createPublicKey(readFileSync(p));
      if (k.asymmetricKeyType !== 'ed25519') issues.push({ where: w, message: `'${p}' is a ${k.asymmetricKeyType} key; central signs with Ed25519` });
      else keys.push(k);
    } catch (e) {
      issues.push({ where: w, message: `cannot load '${p}': ${(e as Error).message}` });
    }
  });
  const groupId = obj.groupId;
  if (groupId !== undefined && (typeof groupId !== 'string' || !GROUP_ID.test(groupId))) issues.push({ where: `${where}/groupId`, message: 'must be 1-64 characters [A-Za-z0-9._:-]' });
  return {
    groupId: typeof groupId === 'string' && GROUP_ID.test(groupId) ? groupId : undefined,
    commandKeys: keys,
    commandKeyPaths: paths.filter((p): p is string => typeof p === 'string'),
    maxCommandBytes: numberField(obj, 'maxCommandBytes', where, 4096, 256, 1024 * 1024, issues),
    maxTtlS: numberField(obj, 'maxTtlS', where, 86400, 10, 7 * 86400, issues),
    clockSkewS: numberField(obj, 'clockSkewS', where, 300, 0, 86400, issues),
  };
}

/** True when central's key is configured: commands can be verified at all. */
export const hasCommandKeys = (c: CentralConfig | undefined): boolean => (c?.commandKeys.length ?? 0) > 0;

export const centralSection: SectionParser<CentralConfig> = {
  name: 'central',
  parse: parseCentralConfig,
};
