/**
 * The console's config file (docs/central/console.example.json), parsed once at the edge against
 * central/console/console-config.schema.json (validator compiled ahead of time by codegen, as
 * ingest's): every problem is reported together (ConfigError, exit 2). Here: what a schema cannot
 * say — every key and certificate file readable, both signing keys really Ed25519, and a device in
 * at most one team (a camera has one central.groupId).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { ConfigError, type Issue } from '../../agent/lib/errors.js';
import { readJsonConfig } from '../../agent/config/json-file.js';
import { schemaCheck, objectOrEmpty } from '../../agent/config/schema.js';
import type { ConsoleConfigFile } from '../../agent/generated/config-schemas.js';
import type { IngestS3Config } from '../ingest/config.js';

export interface ConsoleConfig {
  readonly host: string;
  readonly port: number;
  readonly tlsCert: Buffer;
  readonly tlsKey: Buffer;
  readonly mqtt: { readonly url: string; readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer; readonly topicRoot: string; readonly clientId: string };
  /** The evidence store with the operator's credentials (shifts); absent: no shifts shown. */
  readonly s3: IngestS3Config | undefined;
  readonly usersFile: string;
  readonly commandKey: KeyObject;
  readonly consoleKey: KeyObject;
  readonly stateDir: string;
  readonly instance: string;
  readonly sessionTtlS: number;
  /** Login attempts per client address and minute. */
  readonly loginPerMinute: number;
  readonly auditSignS: number;
  readonly commandTtlS: number;
  readonly lostAfterS: number;
  readonly batteryShortMin: number;
  /** group id → device ids. */
  readonly groups: ReadonlyMap<string, readonly string[]>;
  /** Live view through Janus (central/console/live-view.ts); absent = none. */
  readonly liveView?: LiveViewGateway;
}

export interface LiveViewGateway {
  readonly janusUrl: string;
  readonly apiSecret: string;
  readonly adminKey: string;
  readonly rtpHost: string;
  readonly maxS: number;
}

type Checked = ConsoleConfigFile & Required<Pick<ConsoleConfigFile, 'instance' | 'loginPerMinute' | 'sessionTtlS' | 'auditSignS' | 'commandTtlS' | 'lostAfterS' | 'batteryShortMin' | 'groups'>> & {
  listen: Required<ConsoleConfigFile['listen']>;
  mqtt: Required<Pick<ConsoleConfigFile['mqtt'], 'topicRoot'>>;
};
const check = schemaCheck<Checked>('consoleConfigValidate');

function readFile(path: unknown, where: string, issues: Issue[]): Buffer | undefined {
  if (typeof path !== 'string' || path === '') return undefined;
  try {
    accessSync(path, constants.R_OK);
    return readFileSync(path);
  } catch (e) {
    issues.push({ where, message: `cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    return undefined;
  }
}

function ed25519(path: unknown, where: string, issues: Issue[]): KeyObject | undefined {
  const pem = readFile(path, where, issues);
  if (!pem) return undefined;
  try {
    const k = createPrivateKey(pem);
    if (k.asymmetricKeyType === 'ed25519') return k;
    issues.push({ where, message: `'${String(path)}' is a ${k.asymmetricKeyType} key, not Ed25519` });
  } catch (e) {
    issues.push({ where, message: `'${String(path)}' is no private key: ${(e as Error).message}` });
  }
  return undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const trimSlashes = (s: string): string => s.replace(/^\/+|\/+$/g, '');

/** `s3`: inline values win over the operator's file (scripts/s3-setup.mjs operator.json), as for ingest. */
function s3Config(value: unknown, issues: Issue[]): IngestS3Config | undefined {
  if (value === undefined) return undefined;
  const s = objectOrEmpty(value);
  let file: Record<string, unknown> = {};
  const credPath = str(s.credentialsFile);
  if (credPath) {
    try {
      file = objectOrEmpty(JSON.parse(readFileSync(credPath, 'utf8')));
    } catch (e) {
      issues.push({ where: '/s3/credentialsFile', message: `cannot use '${credPath}': ${(e as Error).message}` });
    }
  }
  const pick = (k: string): string | undefined => str(s[k]) ?? str(file[k]);
  const endpoint = pick('endpoint');
  const bucket = pick('bucket');
  const accessKeyId = str(file.accessKeyId);
  const secretAccessKey = str(file.secretAccessKey);
  if (!endpoint) issues.push({ where: '/s3/endpoint', message: 'required (or in credentialsFile)' });
  if (!bucket) issues.push({ where: '/s3/bucket', message: 'required (or in credentialsFile)' });
  if (credPath && (!accessKeyId || !secretAccessKey)) issues.push({ where: '/s3/credentialsFile', message: `no accessKeyId/secretAccessKey in '${credPath}'` });
  if (!endpoint || !bucket || !accessKeyId || !secretAccessKey) return undefined;
  return {
    endpoint, bucket, accessKeyId, secretAccessKey,
    region: pick('region') ?? 'default',
    forcePathStyle: s.forcePathStyle !== false,
    keyPrefix: trimSlashes(str(s.keyPrefix) ?? 'bodycam'),
    resultPrefix: trimSlashes(str(s.resultPrefix) ?? 'ingest'),
    requestTimeoutMs: typeof s.requestTimeoutMs === 'number' ? s.requestTimeoutMs : 20_000,
  };
}

export function parseConsoleConfig(value: unknown, source: string): ConsoleConfig {
  const issues: Issue[] = [];
  const c = check(value, '', issues);
  // The rules between fields run even when the schema found something: every problem at once.
  const o = objectOrEmpty(value);
  const t = objectOrEmpty(o.tls);
  const m = objectOrEmpty(o.mqtt);
  const tlsCert = readFile(t.cert, '/tls/cert', issues);
  const tlsKey = readFile(t.key, '/tls/key', issues);
  const ca = readFile(m.ca, '/mqtt/ca', issues);
  const cert = readFile(m.cert, '/mqtt/cert', issues);
  const key = readFile(m.key, '/mqtt/key', issues);
  const commandKey = ed25519(o.commandKey, '/commandKey', issues);
  const consoleKey = ed25519(o.consoleKey, '/consoleKey', issues);
  const s3 = s3Config(o.s3, issues);
  const owner = new Map<string, string>();
  for (const [g, devs] of Object.entries(objectOrEmpty(o.groups))) {
    if (!Array.isArray(devs)) continue;
    for (const d of devs) {
      if (typeof d !== 'string') continue;
      const first = owner.get(d);
      if (first !== undefined && first !== g) issues.push({ where: `/groups/${g}`, message: `device '${d}' is already in group '${first}' (a camera has one central.groupId)` });
      else owner.set(d, g);
    }
  }
  if (!c || issues.length || !tlsCert || !tlsKey || !commandKey || !consoleKey) throw new ConfigError(source, issues);
  const root = c.mqtt.topicRoot.endsWith('/') ? c.mqtt.topicRoot : `${c.mqtt.topicRoot}/`;
  return {
    host: c.listen.host,
    port: c.listen.port,
    tlsCert,
    tlsKey,
    mqtt: { url: c.mqtt.url, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), topicRoot: root, clientId: c.mqtt.clientId ?? `bodycam-console-${c.instance}` },
    s3,
    usersFile: c.usersFile,
    commandKey,
    consoleKey,
    stateDir: c.stateDir,
    instance: c.instance,
    sessionTtlS: c.sessionTtlS,
    loginPerMinute: c.loginPerMinute,
    auditSignS: c.auditSignS,
    commandTtlS: c.commandTtlS,
    lostAfterS: c.lostAfterS,
    batteryShortMin: c.batteryShortMin,
    groups: new Map(Object.entries(c.groups)),
    ...(c.liveView ? { liveView: { janusUrl: c.liveView.janusUrl.replace(/\/+$/, ''), apiSecret: c.liveView.apiSecret, adminKey: c.liveView.adminKey, rtpHost: c.liveView.rtpHost, maxS: c.liveView.maxS ?? 600 } } : {}),
  };
}

export function loadConsoleConfig(path: string): ConsoleConfig {
  return parseConsoleConfig(readJsonConfig(path), path);
}
