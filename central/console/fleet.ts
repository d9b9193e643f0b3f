/**
 * The fleet as central sees it on MQTT: every camera's retained `status` (ONLINE / OFFLINE / LOST,
 * the Will) and its latest `heartbeat`, its recent `event`s and `cmd/result`s, and ingest's
 * `central/alert`. State is rebuilt from the retained statuses on start (nothing of it is stored);
 * the MQTT session is kept by the broker (clean: false, a stable client id) so QoS 1 events sent
 * while the console was down are delivered when it comes back. Alert rules live here too: what in
 * the telemetry needs a person (alerts.ts keeps them).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { pb } from '../../agent/telemetry/proto.js';
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import { createLogger } from '../../agent/lib/log.js';
import { describe } from '../../agent/lib/errors.js';
import type { ConsoleConfig } from './config.js';
import type { AlertStore, AlertKind } from './alerts.js';

const log = createLogger('console.fleet');
const EVENTS_KEPT = 100;

export interface CameraView {
  id: string;
  group: string | undefined;
  presence: 'ONLINE' | 'OFFLINE' | 'LOST' | 'UNKNOWN';
  presenceAt: string | undefined;
  presenceReason: string;
  /** No heartbeat for lostAfterS while ONLINE. */
  dark: boolean;
  firmware: string;
  board: string;
  state: string;
  shiftId: string;
  pauseReason: string | undefined;
  pauseLeftS: number | undefined;
  pausedS: number | undefined;
  maxPausedS: number | undefined;
  pausesRefused: number | undefined;
  startTrigger: string;
  wearer: { id: string; name: string } | undefined;
  obstructions: Array<{ kind: string; since: string }>;
  battery: { percent: number; charging: boolean; runtimeMin: number | undefined; short: boolean } | undefined;
  storage: { freeBytes: number; totalBytes: number; awaitingBytes: number; awaitingShifts: number; awaitingConfirmation: number } | undefined;
  clock: { source: string; synced: boolean } | undefined;
  /** Heartbeat `at` (the camera's clock) and when central received it (central's clock). */
  heartbeatAt: string | undefined;
  lastSeen: string | undefined;
  /** Camera clock minus central's at reception, seconds (transit included). */
  clockSkewS: number | undefined;
  heartbeatSeq: number | undefined;
  faults: Array<{ name: string; detail: string }>;
  location: { lat: number; lon: number; ageS: number } | undefined;
}

export interface EventView {
  seq: number;
  kind: string;
  type: string;
  at: string;
  shiftId: string;
  /** The journal record's own fields (no seq/prev). */
  fields: Record<string, unknown>;
}

export interface ResultView {
  at: string;
  accepted: boolean;
  reason: string;
  payloadSha256: string;
}

interface FleetEvents extends Record<string, unknown[]> {
  camera: [CameraView];
  event: [string, EventView];
  result: [string, ResultView];
}

type Obj = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const strip = (s: unknown, prefix: string): string => (typeof s === 'string' ? (s.startsWith(prefix) ? s.slice(prefix.length) : s) : '');
const DECODE = { enums: String, longs: Number, defaults: true } as const;

export class Fleet extends TypedEmitter<FleetEvents> {
  private client: MqttClient | undefined;
  private readonly cameras = new Map<string, CameraView>();
  private readonly events = new Map<string, EventView[]>();
  private readonly results = new Map<string, ResultView[]>();
  private readonly groupOf = new Map<string, string>();
  private darkTimer: NodeJS.Timeout | undefined;
  private connected = false;

  constructor(private readonly cfg: ConsoleConfig, private readonly alerts: AlertStore) {
    super();
    for (const [g, devs] of cfg.groups) for (const d of devs) this.groupOf.set(d, g);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): Promise<void> {
    const m = this.cfg.mqtt;
    const root = m.topicRoot;
    const client = mqtt.connect(m.url, {
      protocolVersion: 5,
      clientId: m.clientId,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(m.ca ? { ca: m.ca } : {}),
      ...(m.cert ? { cert: m.cert } : {}),
      ...(m.key ? { key: m.key } : {}),
    });
    this.client = client;
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (e) => log.warn('mqtt error', { error: describe(e) }));
    client.on('close', () => {
      if (this.connected) log.warn('mqtt connection lost');
      this.connected = false;
    });
    const topics = [`${root}+/status`, `${root}+/heartbeat`, `${root}+/event`, `${root}+/cmd/result`, `${root}central/alert`];
    this.darkTimer = setInterval(() => this.checkDark(), 5000);
    this.darkTimer.unref();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`cannot connect to ${m.url} within 15 s`)), 15_000);
      client.on('connect', () => {
        this.connected = true;
        log.info('mqtt connected', { url: m.url, clientId: m.clientId });
        client.subscribe(topics, { qos: 1 }, (e, granted) => {
          const refused = granted?.filter((g) => g.qos >= 128).map((g) => g.topic) ?? [];
          if (e || refused.length) log.error('subscription refused (broker ACL: user console)', { error: e ? describe(e) : undefined, topics: refused });
          clearTimeout(t);
          resolve();
        });
      });
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.darkTimer);
    await new Promise<void>((r) => (this.client ? this.client.end(false, {}, () => r()) : r()));
  }

  publish(topic: string, payload: Uint8Array): Promise<void> {
    const c = this.client;
    if (!c || !this.connected) return Promise.reject(new Error('not connected to the broker'));
    return new Promise((resolve, reject) => c.publish(topic, Buffer.from(payload), { qos: 1 }, (e) => (e ? reject(e) : resolve())));
  }

  list(group?: string): CameraView[] {
    const all = [...this.cameras.values()];
    return (group ? all.filter((c) => c.group === group) : all).sort((a, b) => a.id.localeCompare(b.id));
  }
  camera(id: string): CameraView | undefined {
    return this.cameras.get(id);
  }
  eventsOf(id: string): EventView[] {
    return [...(this.events.get(id) ?? [])].reverse();
  }
  resultsOf(id: string): ResultView[] {
    return [...(this.results.get(id) ?? [])].reverse();
  }
  groups(): string[] {
    return [...this.cfg.groups.keys()].sort();
  }
  members(group: string): readonly string[] {
    return this.cfg.groups.get(group) ?? [];
  }

  private cam(id: string): CameraView {
    let c = this.cameras.get(id);
    if (!c) {
      c = {
        id, group: this.groupOf.get(id), presence: 'UNKNOWN', presenceAt: undefined, presenceReason: '', dark: false, firmware: '', board: '', state: 'UNKNOWN', shiftId: '',
        pauseReason: undefined, pauseLeftS: undefined, pausedS: undefined, maxPausedS: undefined, pausesRefused: undefined, startTrigger: '', wearer: undefined, obstructions: [],
        battery: undefined, storage: undefined, clock: undefined, heartbeatAt: undefined, lastSeen: undefined, clockSkewS: undefined, heartbeatSeq: undefined, faults: [], location: undefined,
      };
      this.cameras.set(id, c);
    }
    return c;
  }

  private raise(kind: AlertKind, deviceId: string, key: string, title: string, detail: string): void {
    this.alerts.raise({ kind, deviceId, key: `${kind}:${deviceId}:${key}`, title, detail });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const root = this.cfg.mqtt.topicRoot;
    if (!topic.startsWith(root)) return;
    const rest = topic.slice(root.length);
    const slash = rest.indexOf('/');
    const device = rest.slice(0, slash);
    const kind = rest.slice(slash + 1);
    try {
      if (device === 'central' && kind === 'alert') return this.onIngestAlert(payload);
      switch (kind) {
        case 'status': return this.onStatus(device, pb.Status.toObject(pb.Status.decode(payload), DECODE));
        case 'heartbeat': return this.onHeartbeat(device, pb.Heartbeat.toObject(pb.Heartbeat.decode(payload), DECODE));
        case 'event': return this.onEvent(device, pb.Event.toObject(pb.Event.decode(payload), DECODE));
        case 'cmd/result': return this.onResult(device, pb.CommandResult.toObject(pb.CommandResult.decode(payload), DECODE));
      }
    } catch (e) {
      // A camera's bad payload is that camera's problem: logged, never fatal to the console.
      log.warn('undecodable message', { topic, bytes: payload.length, error: describe(e) });
    }
  }

  private onStatus(device: string, s: Obj): void {
    const c = this.cam(device);
    c.presence = (strip(s.presence, 'PRESENCE_') || 'UNKNOWN') as CameraView['presence'];
    c.presenceAt = typeof s.at === 'string' ? s.at : undefined;
    c.presenceReason = typeof s.reason === 'string' ? s.reason : '';
    if (typeof s.firmware === 'string' && s.firmware) c.firmware = s.firmware;
    if (c.presence !== 'ONLINE') c.dark = false;
    if (c.presence === 'LOST') this.raise('lost', device, String(s.runId || s.at), `${device} LOST`, `the broker published the camera's Will (connection lost without a goodbye) at ${String(s.at || 'an unknown time')}`);
    this.emit('camera', c);
  }

  private onHeartbeat(device: string, h: Obj): void {
    const c = this.cam(device);
    const now = Date.now();
    c.lastSeen = new Date(now).toISOString();
    c.dark = false;
    c.heartbeatAt = typeof h.at === 'string' ? h.at : undefined;
    const camAt = c.heartbeatAt ? Date.parse(c.heartbeatAt) : NaN;
    c.clockSkewS = Number.isFinite(camAt) ? (camAt - now) / 1000 : undefined;
    c.heartbeatSeq = num(h.seq);
    c.firmware = String(h.firmware ?? '');
    c.board = String(h.board ?? '');
    c.state = strip(h.state, 'SHIFT_STATE_') || 'UNKNOWN';
    c.shiftId = String(h.shiftId ?? '');
    c.pauseReason = c.state === 'PAUSED' ? strip(h.pauseReason, 'PAUSE_REASON_') : undefined;
    c.pauseLeftS = c.state === 'PAUSED' ? num(h.pauseLeftS) : undefined;
    const pu = h.pauseUse as Obj | null | undefined;
    c.pausedS = pu ? num(pu.pausedS) : undefined;
    c.maxPausedS = pu ? num(pu.maxPausedS) : undefined;
    c.pausesRefused = pu ? num(pu.refused) : undefined;
    const d = (h.duty ?? {}) as Obj;
    c.startTrigger = String(d.startTrigger ?? '');
    c.wearer = d.wearerId ? { id: String(d.wearerId), name: String(d.wearerName ?? '') } : undefined;
    c.obstructions = ((h.obstructions ?? []) as Obj[]).map((o) => ({ kind: strip(o.kind, 'OBSTRUCTION_KIND_').toLowerCase(), since: String(o.since ?? '') }));
    const b = h.battery as Obj | null | undefined;
    c.battery = b ? { percent: num(b.percent) ?? 0, charging: b.charging === true, runtimeMin: num(b.runtimeMin), short: d.batteryShort === true } : undefined;
    const st = h.storage as Obj | null | undefined;
    c.storage = st ? { freeBytes: num(st.freeBytes) ?? 0, totalBytes: num(st.totalBytes) ?? 0, awaitingBytes: num(st.awaitingOffloadBytes) ?? 0, awaitingShifts: num(st.awaitingOffloadShifts) ?? 0, awaitingConfirmation: Array.isArray(st.awaitingConfirmation) ? st.awaitingConfirmation.length : 0 } : undefined;
    const ck = h.clock as Obj | null | undefined;
    c.clock = ck ? { source: String(ck.source ?? ''), synced: ck.synced === true } : undefined;
    c.faults = ((h.faults ?? []) as Obj[]).map((f) => ({ name: String(f.name ?? ''), detail: String(f.detail ?? '') }));
    const loc = h.location as Obj | null | undefined;
    c.location = loc ? { lat: num(loc.lat) ?? 0, lon: num(loc.lon) ?? 0, ageS: num(loc.ageS) ?? 0 } : undefined;
    // Presence is the status topic's (birth, goodbye, Will): a heartbeat delivered late must not
    // undo a LOST. Only a camera never seen with a status is taken as online by its heartbeat.
    if (c.presence === 'UNKNOWN') c.presence = 'ONLINE';
    for (const o of c.obstructions) this.raise('obstruction', device, `${o.kind}:${o.since}`, `${device}: lens ${o.kind}`, `obstruction '${o.kind}' since ${o.since}${c.wearer ? `, worn by ${c.wearer.name || c.wearer.id}` : ''}`);
    const onDuty = c.state === 'RECORDING' || c.state === 'PAUSED';
    const rt = c.battery?.runtimeMin;
    if (onDuty && c.battery && !c.battery.charging && (c.battery.short || (rt !== undefined && rt < this.cfg.batteryShortMin))) {
      this.raise('battery_forecast', device, c.shiftId, `${device}: battery will not last`, `${c.battery.percent.toFixed(0)} %, about ${rt === undefined ? '?' : rt.toFixed(0)} min left${c.battery.short ? ' (the camera forecasts it short of the shift)' : ''}`);
    }
    this.emit('camera', c);
  }

  private onEvent(device: string, e: Obj): void {
    let fields: Obj = {};
    try {
      const { seq: _s, prev: _p, at: _a, type: _t, ...rest } = JSON.parse(String(e.journalLine ?? '{}')) as Obj;
      fields = rest;
    } catch {
      /* an event without a journal line (overflow) */
    }
    const ev: EventView = { seq: num(e.seq) ?? 0, kind: strip(e.kind, 'EVENT_KIND_').toLowerCase(), type: String(e.type ?? ''), at: String(e.at ?? ''), shiftId: String(e.shiftId ?? ''), fields };
    const list = this.events.get(device) ?? [];
    if (list.some((x) => x.seq === ev.seq)) return; // redelivered (QoS 1)
    list.push(ev);
    if (list.length > EVENTS_KEPT) list.splice(0, list.length - EVENTS_KEPT);
    this.events.set(device, list);
    this.cam(device);
    if (ev.kind === 'pause_budget') {
      this.raise('pause_budget', device, `${ev.shiftId}:${ev.seq}`, `${device}: pause budget ${String(fields.what ?? '')}`, `${String(fields.budget ?? '')}${fields.reason ? ` (${String(fields.reason)})` : ''}: used ${String(fields.used ?? '?')} of ${String(fields.limit ?? '?')}`);
    }
    if (ev.kind === 'obstruction' && fields.phase === 'start') {
      this.raise('obstruction', device, `${String(fields.kind)}:${String(fields.start)}`, `${device}: lens ${String(fields.kind)}`, `obstruction '${String(fields.kind)}' since ${String(fields.start)}`);
    }
    if (ev.kind === 'fault' && fields.fault === 'unconfirmed_backlog') {
      // The camera keeps what central has not confirmed: confirmations stopped (ingest down, a
      // store refusing) or the disk is filling with it (agent/offload/backlog.ts).
      this.raise('unconfirmed_backlog', device, `${ev.shiftId}:${ev.seq}`, `${device}: evidence not confirmed by central`, String(fields.detail ?? ''));
    }
    this.emit('event', device, ev);
  }

  private onResult(device: string, r: Obj): void {
    const v: ResultView = { at: new Date().toISOString(), accepted: r.accepted === true, reason: String(r.reason ?? ''), payloadSha256: String(r.payloadSha256 ?? '') };
    const list = this.results.get(device) ?? [];
    list.push(v);
    if (list.length > 20) list.shift();
    this.results.set(device, list);
    this.emit('result', device, v);
  }

  private onIngestAlert(payload: Buffer): void {
    const a = JSON.parse(payload.toString('utf8')) as Obj;
    const dev = String(a.deviceId ?? 'unknown');
    const reasons = Array.isArray(a.reasons) ? (a.reasons as Obj[]).map((r) => `${String(r.kind)}${r.where ? ` at ${String(r.where)}` : ''}: ${String(r.message ?? '')}`).join('; ') : '';
    this.raise('ingest_refused', dev, String(a.shiftId ?? a.at), `${dev}: shift ${String(a.shiftId ?? '?')} refused by ingest`, `${reasons || String(a.kind)} (report ${String(a.report ?? '-')}, worker ${String(a.worker ?? '-')})`);
  }

  private checkDark(): void {
    const limit = Date.now() - this.cfg.lostAfterS * 1000;
    for (const c of this.cameras.values()) {
      if (c.presence !== 'ONLINE' || c.dark || !c.lastSeen || Date.parse(c.lastSeen) > limit) continue;
      c.dark = true;
      this.raise('dark', c.id, c.lastSeen, `${c.id} went dark`, `ONLINE but no heartbeat since ${c.lastSeen}`);
      this.emit('camera', c);
    }
  }
}
