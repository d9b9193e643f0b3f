/**
 * The ingest service's config file (docs/central/ingest.example.json), parsed once at the edge:
 * every problem is reported together (ConfigError, exit 2), file paths are checked for
 * readability here so a typo is a start-up error, not a loop of failed verifications later.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, type Issue } from '../../agent/lib/errors.js';
import { numberField } from '../../agent/config/fields.js';
import { readJsonConfig } from '../../agent/config/json-file.js';

export interface IngestMqttConfig {
  /** mqtts://host:8883 (mutual TLS, certificate CN `ingest`). */
  readonly url: string;
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** Topic root the cameras publish under (`bodycam/v1/`); device topics are `<root><id>/…`. */
  readonly topicRoot: string;
  /** MQTT 5 shared subscription group: workers of one group split the events between them. */
  readonly shareGroup: string;
  readonly clientId: string;
}

export interface IngestS3Config {
  readonly endpoint: string;
  readonly region: string;
  readonly forcePathStyle: boolean;
  readonly bucket: string;
  /** Where devices upload: `<keyPrefix>/<deviceId>/<shiftId>/…` (the devices' `offload.keyPrefix`). */
  readonly keyPrefix: string;
  /**
   * Where ingest writes its results: `<resultPrefix>/<deviceId>/<shiftId>/…`. Outside keyPrefix
   * on purpose: a device may write anything under its own prefix, so a report stored there could
   * be forged by the very camera it judges.
   */
  readonly resultPrefix: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly requestTimeoutMs: number;
}

export interface IngestConfig {
  readonly mqtt: IngestMqttConfig;
  readonly s3: IngestS3Config;
  /** Directory of `<deviceId>/device.pub.pem`, filled at provisioning. */
  readonly registryDir: string;
  /** Central's Ed25519 command key (PKCS#8 PEM): signs `confirm_offload`. */
  readonly commandKey: string;
  /** Central's X25519 private key: optional; with it media is decrypted and checked too. */
  readonly centralKey: string | undefined;
  /** Scratch space for the shift being verified (one shift at a time per worker). */
  readonly workDir: string;
  /** Names this worker in claims and logs; stable across restarts (a restart resumes its own claims). */
  readonly workerId: string;
  /** Seconds between listings of recent uploads (catches what no event announced). */
  readonly rescanS: number;
  /** How far back a listing looks (shift ids begin with their UTC start time). */
  readonly lookbackH: number;
  /** A claim older than this belongs to a dead worker: another may take the shift over. Must exceed the longest verification. */
  readonly claimTtlS: number;
  /** Validity of the signed confirm_offload (the device's `central.maxTtlS` bounds it; default 86400). */
  readonly confirmTtlS: number;
  /** Shifts verified at once by this worker (each in its own scratch dir). */
  readonly concurrency: number;
  /** Prometheus text file (node_exporter textfile collector), rewritten after every shift. */
  readonly metricsFile: string | undefined;
}

const TOP = ['mqtt', 's3', 'registryDir', 'commandKey', 'centralKey', 'workDir', 'workerId', 'rescanS', 'lookbackH', 'claimTtlS', 'confirmTtlS', 'concurrency', 'metricsFile'];
const MQTT = ['url', 'ca', 'cert', 'key', 'topicRoot', 'shareGroup', 'clientId'];
const S3 = ['endpoint', 'region', 'forcePathStyle', 'bucket', 'keyPrefix', 'resultPrefix', 'credentialsFile', 'accessKeyId', 'secretAccessKey', 'requestTimeoutMs'];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Record<string, unknown>, k: string, where: string, issues: Issue[], required = false): string | undefined {
  const v = o[k];
  if (v === undefined) {
    if (required) issues.push({ where: `${where}/${k}`, message: 'required' });
    return undefined;
  }
  if (typeof v !== 'string' || v === '') {
    issues.push({ where: `${where}/${k}`, message: `must be a non-empty string, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return v;
}

function readable(path: string | undefined, where: string, issues: Issue[]): void {
  if (path === undefined) return;
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    issues.push({ where, message: `cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
  }
}

function unknownKeys(o: Record<string, unknown>, known: string[], where: string, issues: Issue[]): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) issues.push({ where: `${where}/${k}`, message: `unknown field (known: ${known.join(', ')})` });
}

const trimSlashes = (s: string): string => s.replace(/^\/+|\/+$/g, '');

export function parseIngestConfig(value: unknown, source: string): IngestConfig {
  const issues: Issue[] = [];
  const o = isObj(value) ? value : (issues.push({ where: '', message: 'must be a JSON object' }), {});
  unknownKeys(o, TOP, '', issues);
  const m = isObj(o.mqtt) ? o.mqtt : (issues.push({ where: '/mqtt', message: 'required object' }), {});
  const s = isObj(o.s3) ? o.s3 : (issues.push({ where: '/s3', message: 'required object' }), {});
  unknownKeys(m, MQTT, '/mqtt', issues);
  unknownKeys(s, S3, '/s3', issues);

  const url = str(m, 'url', '/mqtt', issues, true);
  if (url && !/^(mqtts?|tls|ssl|wss?):\/\/[^/\s]+/.test(url)) issues.push({ where: '/mqtt/url', message: `'${url}' is not an MQTT URL` });
  const ca = str(m, 'ca', '/mqtt', issues);
  const cert = str(m, 'cert', '/mqtt', issues);
  const key = str(m, 'key', '/mqtt', issues);
  readable(ca, '/mqtt/ca', issues);
  readable(cert, '/mqtt/cert', issues);
  readable(key, '/mqtt/key', issues);
  let topicRoot = str(m, 'topicRoot', '/mqtt', issues) ?? 'bodycam/v1/';
  if (!topicRoot.endsWith('/')) topicRoot += '/';
  if (/[+#]/.test(topicRoot)) issues.push({ where: '/mqtt/topicRoot', message: 'must not contain wildcards' });
  const shareGroup = str(m, 'shareGroup', '/mqtt', issues) ?? 'ingest';
  if (!/^[A-Za-z0-9_-]+$/.test(shareGroup)) issues.push({ where: '/mqtt/shareGroup', message: 'letters, digits, _ and - only' });
  const workerId = str(o, 'workerId', '', issues) ?? hostname();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(workerId)) issues.push({ where: '/workerId', message: `'${workerId}' must match [A-Za-z0-9._-]{1,64}` });

  // Credentials: inline, or the operator's file written by scripts/s3-setup.mjs (operator.json).
  let accessKeyId = str(s, 'accessKeyId', '/s3', issues);
  let secretAccessKey = str(s, 'secretAccessKey', '/s3', issues);
  let endpoint = str(s, 'endpoint', '/s3', issues);
  let bucket = str(s, 'bucket', '/s3', issues);
  let region = str(s, 'region', '/s3', issues);
  const credentialsFile = str(s, 'credentialsFile', '/s3', issues);
  if (credentialsFile) {
    try {
      const c = JSON.parse(readFileSync(credentialsFile, 'utf8')) as Record<string, unknown>;
      if (typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string') throw new Error('no accessKeyId/secretAccessKey in it');
      accessKeyId ??= c.accessKeyId;
      secretAccessKey ??= c.secretAccessKey;
      if (typeof c.endpoint === 'string') endpoint ??= c.endpoint;
      if (typeof c.bucket === 'string') bucket ??= c.bucket;
      if (typeof c.region === 'string') region ??= c.region;
    } catch (e) {
      issues.push({ where: '/s3/credentialsFile', message: `cannot use '${credentialsFile}': ${(e as Error).message}` });
    }
  }
  if (!endpoint) issues.push({ where: '/s3/endpoint', message: 'required (or in credentialsFile)' });
  if (!bucket) issues.push({ where: '/s3/bucket', message: 'required (or in credentialsFile)' });
  if (!accessKeyId || !secretAccessKey) issues.push({ where: '/s3', message: 'credentials required: credentialsFile, or accessKeyId + secretAccessKey' });
  if (s.forcePathStyle !== undefined && typeof s.forcePathStyle !== 'boolean') issues.push({ where: '/s3/forcePathStyle', message: 'must be true or false' });
  const keyPrefix = trimSlashes(str(s, 'keyPrefix', '/s3', issues) ?? 'bodycam');
  const resultPrefix = trimSlashes(str(s, 'resultPrefix', '/s3', issues) ?? 'ingest');
  if (resultPrefix === keyPrefix || resultPrefix.startsWith(keyPrefix + '/')) {
    issues.push({ where: '/s3/resultPrefix', message: `must lie outside keyPrefix '${keyPrefix}' (devices can write there)` });
  }

  const registryDir = str(o, 'registryDir', '', issues, true);
  readable(registryDir, '/registryDir', issues);
  const commandKey = str(o, 'commandKey', '', issues, true);
  readable(commandKey, '/commandKey', issues);
  const centralKey = str(o, 'centralKey', '', issues);
  readable(centralKey, '/centralKey', issues);
  const workDir = str(o, 'workDir', '', issues) ?? '/var/lib/bodycam-ingest';
  const metricsFile = str(o, 'metricsFile', '', issues);

  const cfg: IngestConfig = {
    mqtt: { url: url ?? '', ca, cert, key, topicRoot, shareGroup, clientId: str(m, 'clientId', '/mqtt', issues) ?? `bodycam-ingest-${workerId}` },
    s3: {
      endpoint: endpoint ?? '', region: region ?? 'default', forcePathStyle: (s.forcePathStyle as boolean | undefined) ?? true, bucket: bucket ?? '',
      keyPrefix, resultPrefix, accessKeyId: accessKeyId ?? '', secretAccessKey: secretAccessKey ?? '',
      requestTimeoutMs: numberField(s, 'requestTimeoutMs', '/s3', 60_000, 1000, 600_000, issues),
    },
    registryDir: registryDir ?? '',
    commandKey: commandKey ?? '',
    centralKey,
    workDir,
    workerId,
    rescanS: numberField(o, 'rescanS', '', 300, 1, 86400, issues),
    lookbackH: numberField(o, 'lookbackH', '', 168, 1, 24 * 365, issues),
    claimTtlS: numberField(o, 'claimTtlS', '', 900, 1, 86400, issues),
    confirmTtlS: numberField(o, 'confirmTtlS', '', 86400, 60, 86400, issues),
    concurrency: Math.round(numberField(o, 'concurrency', '', 4, 1, 64, issues)),
    metricsFile,
  };
  if (issues.length) throw new ConfigError(source, issues);
  return cfg;
}

export function loadIngestConfig(path: string): IngestConfig {
  return parseIngestConfig(readJsonConfig(path), path);
}
