/**
 * The ingest service's config file (docs/central/ingest.example.json), parsed once at the edge
 * against central/ingest/ingest-config.schema.json: every problem is reported together
 * (ConfigError, exit 2). Here: what a schema cannot say — the operator's credentials file, the
 * result prefix outside the devices' prefix, file paths readable (a typo is a start-up error,
 * not a loop of failed verifications later).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, type Issue } from '../../agent/lib/errors.js';
import { readJsonConfig } from '../../agent/config/json-file.js';
import { schemaCheck, objectOrEmpty } from '../../agent/config/schema.js';
import { ingestConfigSchema, type IngestConfigFile } from '../../agent/generated/config-schemas.js';

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
  /** Seconds between passes over open shifts (live.ts); the store listing that finds new ones stays `rescanS`. */
  readonly liveScanS: number;
  /** Live offload alerts: heartbeats stopped, or verified-through this far behind while RECORDING (s). */
  readonly darkAfterS: number;
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

type Checked = IngestConfigFile & {
  mqtt: Required<Pick<IngestConfigFile['mqtt'], 'topicRoot' | 'shareGroup'>>;
  s3: Required<Pick<IngestConfigFile['s3'], 'region' | 'forcePathStyle' | 'keyPrefix' | 'resultPrefix' | 'requestTimeoutMs'>>;
} & Required<Pick<IngestConfigFile, 'workDir' | 'rescanS' | 'liveScanS' | 'darkAfterS' | 'lookbackH' | 'claimTtlS' | 'confirmTtlS' | 'concurrency'>>;
const check = schemaCheck<Checked>('ingestConfigValidate');
const WORKER_ID = new RegExp(ingestConfigSchema.properties.workerId.pattern);

function readable(path: unknown, where: string, issues: Issue[]): void {
  if (typeof path !== 'string' || path === '') return;
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    issues.push({ where, message: `cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
  }
}

const trimSlashes = (s: string): string => s.replace(/^\/+|\/+$/g, '');
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The operator's file written by scripts/s3-setup.mjs (operator.json): credentials, and maybe endpoint, bucket, region. */
function credentialsFrom(path: string, issues: Issue[]): Record<string, string | undefined> {
  try {
    const c = objectOrEmpty(JSON.parse(readFileSync(path, 'utf8')));
    if (typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string') throw new Error('no accessKeyId/secretAccessKey in it');
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, endpoint: str(c.endpoint), bucket: str(c.bucket), region: str(c.region) };
  } catch (e) {
    issues.push({ where: '/s3/credentialsFile', message: `cannot use '${path}': ${(e as Error).message}` });
    return {};
  }
}

export function parseIngestConfig(value: unknown, source: string): IngestConfig {
  const issues: Issue[] = [];
  const c = check(value, '', issues);
  // The rules between fields run even when the schema found something: every problem at once.
  const o = objectOrEmpty(value);
  const m = objectOrEmpty(o.mqtt);
  const s = objectOrEmpty(o.s3);
  for (const k of ['ca', 'cert', 'key'] as const) readable(m[k], `/mqtt/${k}`, issues);
  for (const k of ['registryDir', 'commandKey', 'centralKey'] as const) readable(o[k], `/${k}`, issues);
  const file = str(s.credentialsFile) ? credentialsFrom(s.credentialsFile as string, issues) : {};
  // Inline values win over the operator's file.
  const fromFile = (k: string): string | undefined => str(s[k]) ?? file[k];
  if (!fromFile('endpoint')) issues.push({ where: '/s3/endpoint', message: 'required (or in credentialsFile)' });
  if (!fromFile('bucket')) issues.push({ where: '/s3/bucket', message: 'required (or in credentialsFile)' });
  if (!fromFile('accessKeyId') || !fromFile('secretAccessKey')) issues.push({ where: '/s3', message: 'credentials required: credentialsFile, or accessKeyId + secretAccessKey' });
  const keyPrefix = trimSlashes(str(s.keyPrefix) ?? ingestConfigSchema.properties.s3.properties.keyPrefix.default);
  const resultPrefix = trimSlashes(str(s.resultPrefix) ?? ingestConfigSchema.properties.s3.properties.resultPrefix.default);
  if (resultPrefix === keyPrefix || resultPrefix.startsWith(keyPrefix + '/')) {
    issues.push({ where: '/s3/resultPrefix', message: `must lie outside keyPrefix '${keyPrefix}' (devices can write there) (got '${resultPrefix}')` });
  }
  // The default worker id is the host name, which the schema never saw.
  const workerId = c?.workerId ?? hostname();
  if (c && !WORKER_ID.test(workerId)) issues.push({ where: '/workerId', message: `the host name '${workerId}' is no worker id: set workerId (${WORKER_ID.source})` });
  if (!c || issues.length) throw new ConfigError(source, issues);

  return {
    mqtt: {
      url: c.mqtt.url, ca: c.mqtt.ca, cert: c.mqtt.cert, key: c.mqtt.key,
      topicRoot: c.mqtt.topicRoot.endsWith('/') ? c.mqtt.topicRoot : `${c.mqtt.topicRoot}/`,
      shareGroup: c.mqtt.shareGroup, clientId: c.mqtt.clientId ?? `bodycam-ingest-${workerId}`,
    },
    s3: {
      endpoint: fromFile('endpoint')!, region: str(s.region) ?? file.region ?? c.s3.region, forcePathStyle: c.s3.forcePathStyle, bucket: fromFile('bucket')!,
      keyPrefix, resultPrefix, accessKeyId: fromFile('accessKeyId')!, secretAccessKey: fromFile('secretAccessKey')!,
      requestTimeoutMs: c.s3.requestTimeoutMs,
    },
    registryDir: c.registryDir,
    commandKey: c.commandKey,
    centralKey: c.centralKey,
    workDir: c.workDir,
    workerId,
    rescanS: c.rescanS,
    liveScanS: c.liveScanS,
    darkAfterS: c.darkAfterS,
    lookbackH: c.lookbackH,
    claimTtlS: c.claimTtlS,
    confirmTtlS: c.confirmTtlS,
    concurrency: Math.round(c.concurrency),
    metricsFile: c.metricsFile,
  };
}

export function loadIngestConfig(path: string): IngestConfig {
  return parseIngestConfig(readJsonConfig(path), path);
}
