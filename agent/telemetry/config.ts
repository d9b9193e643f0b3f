/**
 * Config section `mqtt` (the broker link). Central's command key is the `central` section of the
 * commands extension (agent/commands/config.ts). Parsed once at the edge; every problem is
 * reported. File paths are checked for readability here so a typo in a certificate path is a
 * config error at start, not a reconnect loop later.
 */
import { accessSync, constants } from 'node:fs';
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/agent-config.js';
import { numberField } from '../config/fields.js';

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

const MQTT_KEYS = [
  'url', 'ca', 'cert', 'key', 'servername', 'topicPrefix', 'clientId', 'username', 'password', 'protocolVersion',
  'keepaliveS', 'sessionExpiryS', 'outboxMaxBytes', 'inflight', 'eventTypes', 'reconnectMinMs', 'reconnectMaxMs', 'connectTimeoutMs',
];

function readable(path: string, where: string, issues: Issue[]): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    issues.push({ where, message: `cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
  }
}


function str(obj: Record<string, unknown>, k: string, where: string, issues: Issue[]): string | undefined {
  const v = obj[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') {
    issues.push({ where: `${where}/${k}`, message: `must be a non-empty string, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return v;
}

/** Parses the `mqtt` section. Absent section: undefined (telemetry off unless BODYCAM_MQTT_URL is set). */
export function parseMqttConfig(value: unknown, where: string, issues: Issue[], urlOverride?: string): MqttConfig | undefined {
  if (value === undefined && urlOverride === undefined) return undefined;
  const obj = (value ?? {}) as Record<string, unknown>;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    issues.push({ where, message: 'must be an object' });
    return undefined;
  }
  const before = issues.length;
  for (const k of Object.keys(obj)) if (!MQTT_KEYS.includes(k)) issues.push({ where: `${where}/${k}`, message: `unknown field (known: ${MQTT_KEYS.join(', ')})` });
  const url = urlOverride ?? str(obj, 'url', where, issues);
  if (url === undefined) {
    if (obj.url === undefined) issues.push({ where: `${where}/url`, message: 'required (or set BODYCAM_MQTT_URL)' });
  } else if (!/^(mqtts?|wss?|tcp|tls|ssl):\/\/[^/\s]+/.test(url)) {
    issues.push({ where: urlOverride ? 'BODYCAM_MQTT_URL' : `${where}/url`, message: `'${url}' is not an MQTT URL (mqtt://host:port or mqtts://host:port)` });
  }
  const ca = str(obj, 'ca', where, issues);
  const cert = str(obj, 'cert', where, issues);
  const key = str(obj, 'key', where, issues);
  if (ca) readable(ca, `${where}/ca`, issues);
  if (cert) readable(cert, `${where}/cert`, issues);
  if (key) readable(key, `${where}/key`, issues);
  if ((cert === undefined) !== (key === undefined)) issues.push({ where: `${where}/${cert ? 'key' : 'cert'}`, message: 'cert and key go together (mutual TLS)' });
  let topicPrefix = str(obj, 'topicPrefix', where, issues) ?? 'bodycam/v1/{deviceId}/';
  if (/[+#]/.test(topicPrefix)) issues.push({ where: `${where}/topicPrefix`, message: 'must not contain MQTT wildcards (+ #)' });
  if (!topicPrefix.endsWith('/')) topicPrefix += '/';
  const pv = obj.protocolVersion ?? 5;
  if (pv !== 4 && pv !== 5) issues.push({ where: `${where}/protocolVersion`, message: 'must be 4 (MQTT 3.1.1) or 5' });
  let eventTypes = new Set(DEFAULT_EVENT_TYPES);
  if (obj.eventTypes !== undefined) {
    if (!Array.isArray(obj.eventTypes) || obj.eventTypes.some((t) => typeof t !== 'string' || !/^[a-z_]{1,32}$/.test(t))) {
      issues.push({ where: `${where}/eventTypes`, message: 'must be an array of journal record types (e.g. ["pause","resume"])' });
    } else eventTypes = new Set(obj.eventTypes as string[]);
  }
  const cfg: MqttConfig = {
    url: url ?? '',
    ca,
    cert,
    key,
    servername: str(obj, 'servername', where, issues),
    topicPrefix,
    clientId: str(obj, 'clientId', where, issues) ?? 'bodycam-{deviceId}',
    username: str(obj, 'username', where, issues),
    password: str(obj, 'password', where, issues),
    protocolVersion: pv === 4 ? 4 : 5,
    keepaliveS: numberField(obj, 'keepaliveS', where, 30, 5, 3600, issues),
    sessionExpiryS: numberField(obj, 'sessionExpiryS', where, 3600, 0, 7 * 86400, issues),
    outboxMaxBytes: numberField(obj, 'outboxMaxBytes', where, 8 * 1024 * 1024, 4096, 1024 * 1024 * 1024, issues),
    inflight: numberField(obj, 'inflight', where, 32, 1, 1000, issues),
    eventTypes,
    reconnectMinMs: numberField(obj, 'reconnectMinMs', where, 1000, 50, 600_000, issues),
    reconnectMaxMs: numberField(obj, 'reconnectMaxMs', where, 60_000, 100, 3_600_000, issues),
    connectTimeoutMs: numberField(obj, 'connectTimeoutMs', where, 15_000, 1000, 300_000, issues),
  };
  return issues.length > before ? undefined : cfg;
}

export const mqttSection: SectionParser<MqttConfig | undefined> = {
  name: 'mqtt',
  parse: (value, where, issues) => parseMqttConfig(value, where, issues, process.env.BODYCAM_MQTT_URL || undefined),
};
