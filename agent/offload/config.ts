/**
 * The `offload` config section (agent/offload/offload.schema.json): where closed shifts go and
 * with which (write-only) credentials. The schema checks the shape; here the rules between fields
 * and the CIDRs (net.BlockList) are checked and the credentials file is read. Every problem is
 * reported together with the rest of the config.
 * Absent section = offload off (the extension factory returns undefined).
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/types.js';
import { schemaCheck, objectOrEmpty } from '../config/schema.js';
import { offloadSchema, type OffloadSection } from '../generated/config-schemas.js';

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
  | { readonly kind: 'cidr'; readonly text: string; readonly family: 4 | 6; readonly address: string; readonly bits: number }
  | { readonly kind: 'interface'; readonly text: string; readonly name: string };

export const OFFLOAD_SECTION = 'offload';

const P = offloadSchema.properties;
/** Smallest part accepted by config: S3/AWS needs 5 MiB for all but the last part; Ceph's minimum is configurable. */
export const MIN_PART_BYTES = P.partSizeMb.minimum * 1048576;
export const MAX_PART_BYTES = P.partSizeMb.maximum * 1048576;

type CheckedOffload = OffloadSection & Required<Pick<OffloadSection,
  'region' | 'keyPrefix' | 'partSizeMb' | 'concurrency' | 'forcePathStyle' | 'retryInitialMs' | 'retryMaxMs' | 'requestTimeoutMs' | 'nice' | 'networkPollS'>>;
const check = schemaCheck<CheckedOffload>('offloadValidate');

/**
 * A CIDR (`10.20.0.0/16`, `fd00::/8`) or an interface name (`eth0`); the schema already allowed
 * only these two shapes. A CIDR's address and prefix length are checked by net.BlockList itself.
 */
export function parseNetwork(v: string, where: string, issues: Issue[]): ApprovedNetwork | undefined {
  const slash = v.indexOf('/');
  if (slash < 0) return { kind: 'interface', text: v, name: v };
  const address = v.slice(0, slash);
  const family = isIP(address);
  const bits = Number(v.slice(slash + 1));
  try {
    if (family !== 4 && family !== 6) throw new Error(`'${address}' is not an IPv4 or IPv6 address`);
    new BlockList().addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
  } catch (e) {
    issues.push({ where, message: `'${v}' is not a valid CIDR: ${(e as Error).message}` });
    return undefined;
  }
  return { kind: 'cidr', text: v, family, address, bits };
}

/** The approved CIDRs as one net.BlockList (`check(address)` is true inside any of them). */
export function cidrList(nets: readonly ApprovedNetwork[]): BlockList {
  const list = new BlockList();
  for (const n of nets) if (n.kind === 'cidr') list.addSubnet(n.address, n.bits, n.family === 4 ? 'ipv4' : 'ipv6');
  return list;
}

function readCredentialsFile(path: string, where: string, issues: Issue[]): OffloadCredentials | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    issues.push({ where, message: `cannot read credentials file ${path}: ${(e as Error).message}` });
    return undefined;
  }
  const o = objectOrEmpty(value);
  if (typeof o.accessKeyId !== 'string' || typeof o.secretAccessKey !== 'string' || !o.accessKeyId || !o.secretAccessKey) {
    issues.push({ where, message: `${path} must be a JSON object with non-empty "accessKeyId" and "secretAccessKey"` });
    return undefined;
  }
  return { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey };
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseOffloadConfig(value: unknown, where: string, issues: Issue[]): OffloadConfig | undefined {
  if (value === undefined) return undefined;
  const before = issues.length;
  const c = check(value, where, issues);
  // The rules between fields run even when the schema found something: every problem at once.
  const o = objectOrEmpty(value);
  const accessKeyId = nonEmpty(o.accessKeyId);
  const secretAccessKey = nonEmpty(o.secretAccessKey);
  const credentialsFile = nonEmpty(o.credentialsFile);
  let credentials: OffloadCredentials | undefined;
  let credentialsSource = '';
  if (credentialsFile !== undefined) {
    if (accessKeyId !== undefined || secretAccessKey !== undefined) issues.push({ where: `${where}/credentialsFile`, message: 'give either credentialsFile or accessKeyId+secretAccessKey, not both' });
    credentials = readCredentialsFile(credentialsFile, `${where}/credentialsFile`, issues);
    credentialsSource = credentialsFile;
  } else if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    credentials = { accessKeyId, secretAccessKey };
    credentialsSource = 'config';
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    issues.push({ where, message: 'credentials are required: credentialsFile, or accessKeyId and secretAccessKey' });
  }
  const approvedNetworks: ApprovedNetwork[] = [];
  if (Array.isArray(o.approvedNetworks)) {
    o.approvedNetworks.forEach((n, i) => {
      const net = typeof n === 'string' ? parseNetwork(n, `${where}/approvedNetworks/${i}`, issues) : undefined;
      if (net) approvedNetworks.push(net);
    });
  }
  if (typeof o.retryInitialMs === 'number' || typeof o.retryMaxMs === 'number') {
    const initial = typeof o.retryInitialMs === 'number' ? o.retryInitialMs : P.retryInitialMs.default;
    const max = typeof o.retryMaxMs === 'number' ? o.retryMaxMs : P.retryMaxMs.default;
    if (max < initial) issues.push({ where: `${where}/retryMaxMs`, message: `must not be below retryInitialMs (${initial}) (got ${max})` });
  }

  if (issues.length > before || !c || !credentials) return undefined;
  return {
    endpoint: c.endpoint, region: c.region, bucket: c.bucket, keyPrefix: c.keyPrefix.replace(/^\/+|\/+$/g, ''), credentials, credentialsSource,
    approvedNetworks,
    partSizeBytes: Math.round(c.partSizeMb * 1048576), concurrency: c.concurrency, forcePathStyle: c.forcePathStyle,
    retryInitialMs: c.retryInitialMs, retryMaxMs: c.retryMaxMs, requestTimeoutMs: c.requestTimeoutMs,
    nice: Math.round(c.nice), networkPollS: c.networkPollS,
  };
}

export const offloadSection: SectionParser<OffloadConfig | undefined> = { name: OFFLOAD_SECTION, parse: parseOffloadConfig };
