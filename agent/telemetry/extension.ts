/**
 * The telemetry extension: retained presence, heartbeats, the lossless event outbox, and the MQTT
 * leg of signed commands (SPEC "Telemetry and commands"; README "MQTT contract"): payloads on
 * `cmd` go to the commands extension's service, and every result it reports — MQTT or dock — is
 * published on `cmd/result`.
 *
 * It never stands in the recording core's way: the journal listener only queues in memory, all
 * network and disk work happens on its own schedule, and every failure (broker down, bad payload,
 * full disk) is logged and retried, never thrown into the core.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { AgentContext, Extension } from '../extension.js';
import type { AgentConfig } from '../config/agent-config.js';
import { sectionOf } from '../config/agent-config.js';
import type { WrittenRecord } from '../evidence/journal.js';
import type { StatusSnapshot } from '../status.js';
import { createLogger } from '../lib/log.js';
import { describe } from '../lib/errors.js';
import type { MqttConfig } from './config.js';
import { Outbox } from './outbox.js';
import { reconcile } from './outbox-reconcile.js';
import { MqttLink } from './link.js';
import { HeartbeatSeq, buildHeartbeat, readSystem } from './heartbeat.js';
import type { CommandsService } from '../commands/extension.js';
import { pb, type Presence, type CommandResultProps } from './proto.js';

const log = createLogger('telemetry');

export interface Topics {
  readonly status: string;
  readonly heartbeat: string;
  readonly event: string;
  readonly cmd: string;
  readonly cmdResult: string;
}

export function topicsFor(prefix: string): Topics {
  return { status: `${prefix}status`, heartbeat: `${prefix}heartbeat`, event: `${prefix}event`, cmd: `${prefix}cmd`, cmdResult: `${prefix}cmd/result` };
}

export class TelemetryExtension implements Extension {
  readonly name = 'telemetry';
  private ctx!: AgentContext;
  private outbox!: Outbox;
  private link!: MqttLink;
  /** Absent when the commands extension failed to start: then `cmd` is not subscribed. */
  private commands: CommandsService | undefined;
  private hbSeq!: HeartbeatSeq;
  private topics!: Topics;
  private readonly runId = randomBytes(8).toString('hex');
  private readonly startedMono = performance.now();
  private hbTimer: NodeJS.Timeout | undefined;
  private lastState: string | undefined;
  /** Events published and not yet acknowledged on the current connection. */
  private readonly inflight = new Set<number>();
  private sendFrom = 0;
  /** Bumped per connection: callbacks of an earlier connection are ignored. */
  private generation = 0;
  private heartbeatsSent = 0;
  private eventsAcked = 0;
  private readonly onRecord = (shiftId: string | null, w: WrittenRecord): void => {
    if (!this.cfg.eventTypes.has(w.record.type)) return;
    this.outbox.add(shiftId ?? '', w.record, w.line, w.hash);
  };
  private readonly onStatus = (s: StatusSnapshot): void => {
    // On/off duty changes the interval and is news: report at once.
    const duty = s.state === 'OFF_DUTY' ? 'off' : 'on';
    if (this.lastState !== undefined && duty !== this.lastState) setImmediate(() => this.heartbeatNow());
    this.lastState = duty;
  };

  private readonly onResult = (r: CommandResultProps): void => void this.publishResult(r);

  constructor(private readonly cfg: MqttConfig) {}

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    const deviceId = ctx.deviceId;
    const prefix = this.cfg.topicPrefix.replaceAll('{deviceId}', deviceId);
    this.topics = topicsFor(prefix);
    const stateDir = join(ctx.dataDir, 'telemetry');
    mkdirSync(stateDir, { recursive: true, mode: 0o750 });
    const bootId = ctx.status().bootId;

    this.outbox = new Outbox({ dir: join(ctx.dataDir, 'outbox'), deviceId, bootId, maxBytes: this.cfg.outboxMaxBytes });
    this.outbox.open();
    // Scan and subscribe with no await in between: no journal append can slip between the two.
    const sinceMs = Date.now() - process.uptime() * 1000 - 1000;
    let recovered = 0;
    try {
      recovered = reconcile(this.outbox, { dataDir: ctx.dataDir, types: this.cfg.eventTypes, sinceMs });
    } catch (e) {
      // Unreadable journals are the verifier's business; live events must still flow.
      log.error('cannot re-read journals for records missing from the outbox', { error: describe(e) });
    }
    ctx.bus.on('record', this.onRecord);
    if (recovered) log.info('queued journal records not yet in the outbox', { records: recovered });
    this.outbox.on('ready', () => this.pump());

    this.commands = ctx.services.get<CommandsService>('commands');
    if (this.commands) this.commands.on('result', this.onResult);
    else log.warn('commands extension not running: not subscribing to cmd (commands stay queued at the broker)');

    this.hbSeq = new HeartbeatSeq(stateDir);
    this.hbSeq.load();
    this.lastState = ctx.status().state === 'OFF_DUTY' ? 'off' : 'on';
    ctx.bus.on('status', this.onStatus);

    this.link = new MqttLink({
      cfg: this.cfg,
      clientId: this.cfg.clientId.replaceAll('{deviceId}', deviceId),
      statusTopic: this.topics.status,
      subscribe: this.commands ? [this.topics.cmd] : [],
      will: () => this.presence(pb.Presence.PRESENCE_LOST, 'connection lost'),
      birth: () => this.presence(pb.Presence.PRESENCE_ONLINE, 'connected'),
    });
    this.link.on('up', () => {
      this.generation++;
      this.inflight.clear();
      this.sendFrom = this.outbox.firstUnacked;
      this.heartbeatNow();
      this.pump();
    });
    this.link.on('down', (reason) => {
      this.generation++;
      this.inflight.clear();
      log.warn('broker connection lost; events stay in the outbox', { reason, depth: this.outbox.depth });
    });
    this.link.on('message', (topic, payload) => {
      if (topic !== this.topics.cmd) return;
      // The result comes back through onResult (the same path as dock results).
      void this.commands?.handle(payload, 'mqtt');
    });
    if (!/^(mqtts|wss|tls|ssl):/.test(this.cfg.url)) log.warn('MQTT without TLS: telemetry and commands travel in clear text (production uses mqtts:// with client certificates)', { url: this.cfg.url });
    this.link.start();
    log.info('telemetry started', { prefix, url: this.cfg.url, outboxDepth: this.outbox.depth });
  }

  async stop(): Promise<void> {
    clearTimeout(this.hbTimer);
    this.hbTimer = undefined;
    this.ctx.bus.off('record', this.onRecord);
    this.ctx.bus.off('status', this.onStatus);
    this.commands?.off('result', this.onResult);
    await this.outbox.flush().catch(() => undefined);
    // Give in-flight events a moment to be acknowledged so they are not sent twice next time.
    const until = Date.now() + 1000;
    while (this.inflight.size && this.link.connected && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await this.link.stop(this.presence(pb.Presence.PRESENCE_OFFLINE, 'stopping'));
    await this.outbox.close();
  }

  status(): Record<string, unknown> {
    return {
      connected: this.link?.connected ?? false,
      outboxDepth: this.outbox?.depth ?? 0,
      outboxBytes: this.outbox?.bytes ?? 0,
      outboxDropped: this.outbox?.droppedPending ?? 0,
      lastEventSeq: this.outbox?.lastSeq ?? 0,
      eventsAcked: this.eventsAcked,
      heartbeats: this.heartbeatsSent,
      connects: this.link?.connects ?? 0,
      lastError: this.link?.lastError ?? null,
    };
  }

  private presence(p: Presence, reason: string): Uint8Array {
    const st = this.ctx.status();
    return pb.Status.encode({
      deviceId: this.ctx.deviceId, presence: p, at: new Date().toISOString(), bootId: st.bootId, firmware: st.firmware,
      reason, runId: this.runId, eventSeq: this.outbox.lastSeq,
    }).finish();
  }

  /** Publishes as many outbox events as the window allows. */
  private pump(): void {
    if (!this.link.connected) return;
    const room = this.cfg.inflight - this.inflight.size;
    if (room <= 0) return;
    const gen = this.generation;
    for (const ev of this.outbox.peek(this.sendFrom, room)) {
      this.sendFrom = ev.seq + 1;
      this.inflight.add(ev.seq);
      const sent = this.link.publish(this.topics.event, ev.payload, 1, (err) => {
        if (gen !== this.generation) return;
        this.inflight.delete(ev.seq);
        if (err) {
          // A PUBACK with an error code (e.g. not authorized): the event stays queued and is
          // retried after the next reconnect; it is never dropped silently.
          log.error('event not accepted by the broker', { seq: ev.seq, error: describe(err) });
          return;
        }
        this.outbox.ack(ev.seq);
        this.eventsAcked++;
        this.pump();
      });
      if (!sent) {
        this.inflight.delete(ev.seq);
        this.sendFrom = ev.seq;
        return;
      }
    }
  }

  private heartbeatNow(): void {
    clearTimeout(this.hbTimer);
    try {
      if (this.link.connected) {
        const status = this.ctx.status();
        const hb = buildHeartbeat({
          seq: this.hbSeq.take(),
          status,
          sys: readSystem(this.ctx.dataDir),
          agentUptimeS: (performance.now() - this.startedMono) / 1000,
          outboxDepth: this.outbox.depth + this.outbox.pendingCount,
          lastEventSeq: this.outbox.lastSeq,
          nowMs: Date.now(),
        });
        if (this.link.publish(this.topics.heartbeat, pb.Heartbeat.encode(hb).finish(), 0)) this.heartbeatsSent++;
      }
    } catch (e) {
      log.error('heartbeat failed', { error: describe(e) });
    }
    const p = this.ctx.policy();
    const onDuty = this.ctx.status().state !== 'OFF_DUTY';
    this.hbTimer = setTimeout(() => this.heartbeatNow(), (onDuty ? p.heartbeatOnDutyS : p.heartbeatOffDutyS) * 1000);
    this.hbTimer.unref?.();
  }

  private async publishResult(r: CommandResultProps): Promise<void> {
    try {
      this.link.publish(this.topics.cmdResult, pb.CommandResult.encode(r).finish(), 1);
    } catch (e) {
      log.warn('cannot publish command result', { error: describe(e) });
    }
  }
}

/** Extension factory (agent/extensions.ts): off unless the config has an `mqtt` section or BODYCAM_MQTT_URL is set. */
export function telemetryExtension(config: AgentConfig): Extension | undefined {
  const mqttCfg = sectionOf<MqttConfig | undefined>(config, 'mqtt');
  if (!mqttCfg) return undefined;
  return new TelemetryExtension(mqttCfg);
}
