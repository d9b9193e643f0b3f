/**
 * The `offload` config section: where closed shifts go and with which (write-only) credentials.
 * Parsed once at the edge; every problem is reported together with the rest of the config.
 * Absent section = offload off (the extension factory returns undefined).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/agent-config.js';
import { numberField } from '../config/fields.js';

export interface OffloadCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface OffloadConfig {
  /** S3 endpoint URL, e.g. `https://evidence.example.org` or `http://127.0.0.1:7480`. */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /** Objects go to `<keyPrefix>/<deviceId>/<shiftId>/<file>` (no leading or trailing slash). */
  readonly keyPrefix: string;
  readonly credentials: OffloadCredentials;
  /** Where the credentials came from (for messages; never the secret itself). */
  readonly credentialsSource: string;
  /** CIDRs (`10.20.0.0/16`, `fd00::/8`) or interface names (`eth0`) on which offload may run undocked. */
  readonly approvedNetworks: readonly ApprovedNetwork[];
  /** Multipart part size in bytes (one part is held in memory at a time). */
  readonly partSizeBytes: number;
  /** Files uploaded at once, each with one part in memory (memory bound = concurrency × part size). */
  readonly concurrency: number;
  /** Path-style URLs (`endpoint/bucket/key`): what Ceph RGW and most on-premise stores expect. */
  readonly forcePathStyle: boolean;
  /** Retry pacing for failed requests (through agent/lib/backoff.ts). */
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** Per-request socket inactivity timeout. */
  readonly requestTimeoutMs: number;
  /** CPU niceness of the upload worker process (0-19): recording always wins. */
  readonly nice: number;
  /** How often the network condition is re-checked while shifts wait (s). */
  readonly networkPollS: number;
}

export type ApprovedNetwork =
  | { readonly kind: 'cidr'; readonly text: string; readonly family: 4 | 6; readonly addr: bigint; readonly bits: number }
  | { readonly kind: 'interface'; readonly text: string; readonly name: string };

export const OFFLOAD_SECTION = 'offload';

/** Smallest part accepted by config: S3/AWS needs 5 MiB for all but the last part; Ceph's minimum is configurable. */
export const MIN_PART_BYTES = 64 * 1024;
export const MAX_PART_BYTES = 512 * 1024 * 1024;
const KNOWN = [
  'endpoint', 'region', 'bucket', 'keyPrefix', 'accessKeyId', 'secretAccessKey', 'credentialsFile', 'approvedNetworks',
  'partSizeMb', 'concurrency', 'forcePathStyle', 'retryInitialMs', 'retryMaxMs', 'requestTimeoutMs', 'nice', 'networkPollS',
];

/** Parses an IPv4/IPv6 address to a bigint (undefined when it is not one). */
export function ipToBigInt(ip: string): { family: 4 | 6; value: bigint } | undefined {
  const fam = isIP(ip);
  if (fam === 4) {
    const parts = ip.split('.').map(Number);
    return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (fam === 6) {
    let s = ip.toLowerCase();
    const pct = s.indexOf('%');
    if (pct >= 0) s = s.slice(0, pct);
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    if (v4) {
      const n = ipToBigInt(v4[1]!)!.value;
      s = s.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
  }
  return undefined;
}

function parseNetwork(v: unknown, where: string, issues: Issue[]): ApprovedNetwork | undefined {
  if (typeof v !== 'string' || v.length === 0) {
    issues.push({ where, message: 'must be a CIDR (10.0.0.0/8) or an interface name (eth0)' });
    return undefined;
  }
  const slash = v.indexOf('/');
  if (slash > 0) {
    const ip = ipToBigInt(v.slice(0, slash));
    const bits = Number(v.slice(slash + 1));
    const max = ip?.family === 6 ? 128 : 32;
    if (!ip || !Number.isInteger(bits) || bits < 0 || bits > max) {
      issues.push({ where, message: `'${v}' is not a valid CIDR` });
      return undefined;
    }
    return { kind: 'cidr', text: v, family: ip.family, addr: ip.value, bits };
  }
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(v)) {
    issues.push({ where, message: `'${v}' is neither a CIDR nor an interface name` });
    return undefined;
  }
  return { kind: 'interface', text: v, name: v };
}

function str(obj: Record<string, unknown>, key: string, where: string, issues: Issue[], required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined) {
    if (required) issues.push({ where: `${where}/${key}`, message: 'is required' });
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0) {
    issues.push({ where: `${where}/${key}`, message: 'must be a non-empty string' });
    return undefined;
  }
  return v;
}

function readCredentialsFile(path: string, where: string, issues: Issue[]): OffloadCredentials | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    issues.push({ where, message: `cannot read credentials file ${path}: ${(e as Error).message}` });
    return undefined;
  }
  const o = value as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || typeof o.accessKeyId !== 'string' || typeof o.secretAccessKey !== 'string' || !o.accessKeyId || !o.secretAccessKey) {
    issues.push({ where, message: `${path} must be a JSON object with non-empty "accessKeyId" and "secretAccessKey"` });
    return undefined;
  }
  return { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey };
}

export function parseOffloadConfig(value: unknown, where: string, issues: Issue[]): OffloadConfig | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ where, message: 'must be an object' });
    return undefined;
  }
  const o = value as Record<string, unknown>;
  const before = issues.length;
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) issues.push({ where: `${where}/${k}`, message: `unknown field (known: ${KNOWN.join(', ')})` });

  const endpoint = str(o, 'endpoint', where, issues, true);
  if (endpoint !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(endpoint);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) issues.push({ where: `${where}/endpoint`, message: `'${endpoint}' is not an http(s) URL` });
  }
  const region = str(o, 'region', where, issues, false) ?? 'us-east-1';
  const bucket = str(o, 'bucket', where, issues, true);
  if (bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) issues.push({ where: `${where}/bucket`, message: `'${bucket}' is not a valid S3 bucket name` });
  const keyPrefix = (str(o, 'keyPrefix', where, issues, false) ?? 'bodycam').replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9._/-]*$/.test(keyPrefix)) issues.push({ where: `${where}/keyPrefix`, message: 'may contain only A-Z a-z 0-9 . _ - /' });

  const accessKeyId = str(o, 'accessKeyId', where, issues, false);
  const secretAccessKey = str(o, 'secretAccessKey', where, issues, false);
  const credentialsFile = str(o, 'credentialsFile', where, issues, false);
  let credentials: OffloadCredentials | undefined;
  let credentialsSource = '';
  if (credentialsFile !== undefined) {
    if (accessKeyId !== undefined || secretAccessKey !== undefined) issues.push({ where: `${where}/credentialsFile`, message: 'give either credentialsFile or accessKeyId+secretAccessKey, not both' });
    credentials = readCredentialsFile(credentialsFile, `${where}/credentialsFile`, issues);
    credentialsSource = credentialsFile;
  } else if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    credentials = { accessKeyId, secretAccessKey };
    credentialsSource = 'config';
  } else {
    issues.push({ where, message: 'credentials are required: credentialsFile, or accessKeyId and secretAccessKey' });
  }

  const approvedNetworks: ApprovedNetwork[] = [];
  if (o.approvedNetworks !== undefined) {
    if (!Array.isArray(o.approvedNetworks)) issues.push({ where: `${where}/approvedNetworks`, message: 'must be an array of CIDRs or interface names' });
    else o.approvedNetworks.forEach((n, i) => {
      const p = parseNetwork(n, `${where}/approvedNetworks/${i}`, issues);
      if (p) approvedNetworks.push(p);
    });
  }
  const partSizeMb = numberField(o, 'partSizeMb', where, 8, MIN_PART_BYTES / 1048576, MAX_PART_BYTES / 1048576, issues);
  const concurrency = numberField(o, 'concurrency', where, 4, 1, 16, issues);
  if (!Number.isInteger(concurrency)) issues.push({ where: `${where}/concurrency`, message: 'must be an integer' });
  let forcePathStyle = true;
  if (o.forcePathStyle !== undefined) {
    if (typeof o.forcePathStyle !== 'boolean') issues.push({ where: `${where}/forcePathStyle`, message: 'must be true or false' });
    else forcePathStyle = o.forcePathStyle;
  }
  const retryInitialMs = numberField(o, 'retryInitialMs', where, 1000, 10, 600_000, issues);
  const retryMaxMs = numberField(o, 'retryMaxMs', where, 60_000, 10, 3_600_000, issues);
  if (retryMaxMs < retryInitialMs) issues.push({ where: `${where}/retryMaxMs`, message: 'must not be below retryInitialMs' });
  const requestTimeoutMs = numberField(o, 'requestTimeoutMs', where, 60_000, 1000, 3_600_000, issues);
  const nice = numberField(o, 'nice', where, 19, 0, 19, issues);
  const networkPollS = numberField(o, 'networkPollS', where, 15, 1, 3600, issues);

  if (issues.length > before || !endpoint || !bucket || !credentials) return undefined;
  return {
    endpoint, region, bucket, keyPrefix, credentials, credentialsSource, approvedNetworks,
    partSizeBytes: Math.round(partSizeMb * 1048576), concurrency, forcePathStyle, retryInitialMs, retryMaxMs, requestTimeoutMs,
    nice: Math.round(nice), networkPollS,
  };
}

export const offloadSection: SectionParser<OffloadConfig | undefined> = { name: OFFLOAD_SECTION, parse: parseOffloadConfig };
