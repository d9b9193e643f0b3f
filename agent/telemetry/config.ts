/**
 * Config section `mqtt` (the broker link; agent/telemetry/mqtt.schema.json). Central's command key is the `central` section of the
 * commands extension (agent/commands/config.ts). Parsed once at the edge; every problem is
 * reported. File paths are checked for readability here so a typo in a certificate path is a
 * config error at start, not a reconnect loop later.
 */
import { accessSync, constants } from 'node:fs';
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/types.js';
import { schemaCheck, objectOrEmpty } from '../config/schema.js';
import { mqttSchema, type MqttSection } from '../generated/config-schemas.js';

export interface MqttConfig {
  /** mqtt://host:port, mqtts://host:port (TLS), ws(s)://… */
  readonly url: string;
  /** PEM file paths for TLS: CA that signed the broker's certificate, our client cert + key. */
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** Expected broker certificate name when it differs from the URL's host. */
  readonly servername: string | undefined;
  /** Topic prefix; `{deviceId}` is replaced. Always ends with '/'. */
  readonly topicPrefix: string;
  /** MQTT client id; `{deviceId}` is replaced. */
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** 5 (default) or 4 (MQTT 3.1.1). With 5 the agent falls back to 4 when the broker refuses 5. */
  readonly protocolVersion: 4 | 5;
  readonly keepaliveS: number;
  /** How long the broker keeps our session (subscription + queued commands) while we are away. */
  readonly sessionExpiryS: number;
  /** Outbox bound (bytes of queued events); beyond it events are dropped and counted (overflow event). */
  readonly outboxMaxBytes: number;
  /** Events in flight (published, PUBACK pending) at once. */
  readonly inflight: number;
  /** Journal record types sent as events. */
  readonly eventTypes: ReadonlySet<string>;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly connectTimeoutMs: number;
}

/** Journal record types that matter to central (everything but per-segment records and notes). */
export const DEFAULT_EVENT_TYPES: readonly string[] = [
  'shift_start', 'shift_end', 'pause', 'resume', 'gap', 'fault', 'recovery', 'gesture', 'signature',
  'time_sync', 'policy', 'command', 'degrade', 'power', 'offload', 'duty',
  'obstruction', 'pause_budget',
];

type CheckedMqtt = MqttSection & Required<Pick<MqttSection, 'topicPrefix' | 'clientId' | 'protocolVersion' | 'keepaliveS' | 'sessionExpiryS' | 'outboxMaxBytes' | 'inflight' | 'reconnectMinMs' | 'reconnectMaxMs' | 'connectTimeoutMs'>>;
const check = schemaCheck<CheckedMqtt>('mqttValidate');
const URL_RE = new RegExp(mqttSchema.properties.url.pattern);

function readable(path: string, where: string, issues: Issue[]): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    issues.push({ where, message: `cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
  }
}

/** Parses the `mqtt` section. Absent section: undefined (telemetry off unless BODYCAM_MQTT_URL is set). */
export function parseMqttConfig(value: unknown, where: string, issues: Issue[], urlOverride?: string): MqttConfig | undefined {
  if (value === undefined && urlOverride === undefined) return undefined;
  const before = issues.length;
  const c = check(value === undefined ? {} : value, where, issues);
  // What a schema cannot say: the environment's URL, files that must be readable, fields that go together.
  const o = objectOrEmpty(value);
  if (urlOverride !== undefined && !URL_RE.test(urlOverride)) {
    issues.push({ where: 'BODYCAM_MQTT_URL', message: `'${urlOverride}' is not an MQTT URL (mqtt://host:port or mqtts://host:port)` });
  }
  if (urlOverride === undefined && o.url === undefined && typeof value === 'object' && value !== null) issues.push({ where: `${where}/url`, message: 'required (or set BODYCAM_MQTT_URL)' });
  for (const k of ['ca', 'cert', 'key'] as const) if (typeof o[k] === 'string' && o[k] !== '') readable(o[k], `${where}/${k}`, issues);
  if ((o.cert === undefined) !== (o.key === undefined)) issues.push({ where: `${where}/${o.cert !== undefined ? 'key' : 'cert'}`, message: 'cert and key go together (mutual TLS)' });
  if (!c || issues.length > before) return undefined;
  return {
    url: urlOverride ?? c.url ?? '',
    ca: c.ca,
    cert: c.cert,
    key: c.key,
    servername: c.servername,
    topicPrefix: c.topicPrefix.endsWith('/') ? c.topicPrefix : `${c.topicPrefix}/`,
    clientId: c.clientId,
    username: c.username,
    password: c.password,
    protocolVersion: c.protocolVersion,
    keepaliveS: c.keepaliveS,
    sessionExpiryS: c.sessionExpiryS,
    outboxMaxBytes: c.outboxMaxBytes,
    inflight: c.inflight,
    eventTypes: new Set(c.eventTypes ?? DEFAULT_EVENT_TYPES),
    reconnectMinMs: c.reconnectMinMs,
    reconnectMaxMs: c.reconnectMaxMs,
    connectTimeoutMs: c.connectTimeoutMs,
  };
}

export const mqttSection: SectionParser<MqttConfig | undefined> = {
  name: 'mqtt',
  parse: (value, where, issues) => parseMqttConfig(value, where, issues, process.env.BODYCAM_MQTT_URL || undefined),
};
