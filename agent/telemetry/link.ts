/**
 * The broker connection. One mqtt.js client per connection attempt, with mqtt.js's own reconnect
 * and offline queue turned off: its store is in memory only and re-sends one message per round
 * trip (NOTES-DEPS), while our outbox is durable and windowed. Reconnects are paced by the
 * project's Backoff (exponential, jitter, cap).
 *
 * Presence: the Will (retained LOST) is registered at every connect; after CONNACK the agent
 * publishes the retained birth (ONLINE); a clean stop publishes retained OFFLINE and then sends
 * DISCONNECT, which makes the broker discard the Will.
 */
import { readFileSync } from 'node:fs';
import { MqttClient, type IClientOptions } from 'mqtt';
import { brokerEndpoint, brokerStreamBuilder } from './broker-stream.js';
import { Backoff } from '../lib/backoff.js';
import { createLogger } from '../lib/log.js';
import { describe } from '../lib/errors.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { MqttConfig } from './config.js';

const log = createLogger('telemetry.mqtt');

export interface LinkEvents extends Record<string, unknown[]> {
  /** Connected (CONNACK received, subscriptions requested, birth published). */
  up: [];
  /** Connection lost or closed. */
  down: [reason: string];
  /** A message on a subscribed topic. */
  message: [topic: string, payload: Buffer];
}

export interface LinkOptions {
  readonly cfg: MqttConfig;
  readonly clientId: string;
  /** Retained status topic (Will, birth, OFFLINE). */
  readonly statusTopic: string;
  /** Topics to subscribe at QoS 1 on every connect. */
  readonly subscribe: readonly string[];
  /** Will payload (LOST), built once per connect. */
  readonly will: () => Uint8Array;
  /** Birth payload (ONLINE). */
  readonly birth: () => Uint8Array;
}

export class MqttLink extends TypedEmitter<LinkEvents> {
  private client: MqttClient | undefined;
  private current: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private protocolVersion: 4 | 5;
  private readonly backoff: Backoff;
  private tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  /** Connection attempts and successful connects (status, tests). */
  attempts = 0;
  connects = 0;
  lastError: string | undefined;

  constructor(private readonly o: LinkOptions) {
    super();
    this.protocolVersion = o.cfg.protocolVersion;
    this.backoff = new Backoff({ initialMs: o.cfg.reconnectMinMs, maxMs: o.cfg.reconnectMaxMs, jitter: 0.5 });
  }

  get connected(): boolean {
    return this.client !== undefined && this.client.connected;
  }

  start(): void {
    const c = this.o.cfg;
    // Read once: a certificate renewal takes effect at the next agent start (systemd reload).
    this.tls = {
      ...(c.ca ? { ca: readFileSync(c.ca) } : {}),
      ...(c.cert ? { cert: readFileSync(c.cert) } : {}),
      ...(c.key ? { key: readFileSync(c.key) } : {}),
    };
    this.stopped = false;
    this.connectOnce();
  }

  private connectOnce(): void {
    if (this.stopped) return;
    this.timer = undefined;
    this.attempts++;
    const c = this.o.cfg;
    const opts: IClientOptions = {
      clientId: this.o.clientId,
      protocolVersion: this.protocolVersion,
      keepalive: c.keepaliveS,
      // A persistent session keeps our `cmd` subscription and queues commands while we are away.
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: c.connectTimeoutMs,
      queueQoSZero: false,
      resubscribe: false,
      // mqtt-packet otherwise pre-builds 65,536 two-byte Buffers for message ids at the first
      // connect: 6 MB of heap on a camera that sends a few messages a second (heap snapshot,
      // docs/benchmarks.md "Agent memory").
      writeCache: false,
      ...(c.username ? { username: c.username } : {}),
      ...(c.password ? { password: c.password } : {}),
      ...(this.protocolVersion === 5 ? { properties: { sessionExpiryInterval: c.sessionExpiryS } } : {}),
      will: { topic: this.o.statusTopic, payload: Buffer.from(this.o.will()), qos: 1, retain: true },
    };
    const ep = brokerEndpoint(c.url);
    const client = new MqttClient(brokerStreamBuilder(ep, { ...this.tls, ...(c.servername ? { servername: c.servername } : {}) }), {
      ...opts, protocol: ep.secure ? 'mqtts' : 'mqtt', host: ep.host, port: ep.port,
    });
    this.current = client;
    let closed = false;
    client.on('connect', () => {
      if (this.stopped) return;
      this.backoff.reset();
      this.connects++;
      this.client = client;
      this.lastError = undefined;
      log.info('connected', { url: c.url, clientId: this.o.clientId, protocol: this.protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1' });
      for (const t of this.o.subscribe) {
        client.subscribe(t, { qos: 1 }, (err) => {
          if (err) log.error('subscribe failed', { topic: t, error: describe(err) });
        });
      }
      client.publish(this.o.statusTopic, Buffer.from(this.o.birth()), { qos: 1, retain: true }, (err) => {
        if (err) log.warn('birth message not acknowledged', { error: describe(err) });
      });
      this.emit('up');
    });
    client.on('message', (topic, payload) => this.emit('message', topic, payload));
    client.on('error', (e) => {
      this.lastError = describe(e);
      const code = (e as { code?: unknown }).code;
      // 132 (MQTT 5 "unsupported protocol version"), 1 (3.1.1 "unacceptable protocol version").
      if (this.protocolVersion === 5 && (code === 132 || code === 1)) {
        log.warn('broker refuses MQTT 5; falling back to MQTT 3.1.1');
        this.protocolVersion = 4;
      } else {
        log.warn('mqtt error', { error: this.lastError });
      }
    });
    client.on('close', () => {
      if (closed) return;
      closed = true;
      const wasUp = this.client === client;
      if (wasUp) this.client = undefined;
      client.end(true);
      if (this.current === client) this.current = undefined;
      if (this.stopped) return;
      if (wasUp) this.emit('down', this.lastError ?? 'connection closed');
      const d = this.backoff.next();
      log.info('reconnecting', { inMs: d, attempt: this.backoff.attempts, lastError: this.lastError });
      this.timer = setTimeout(() => this.connectOnce(), d);
    });
  }

  /** Publishes on the live connection; rejects when offline (callers keep their own retry). */
  publish(topic: string, payload: Uint8Array, qos: 0 | 1, cb?: (err?: Error) => void): boolean {
    const client = this.client;
    if (!client || !client.connected) return false;
    client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos, retain: false }, (err) => cb?.(err ?? undefined));
    return true;
  }

  /** Clean stop: retained OFFLINE (acknowledged or timed out), then DISCONNECT (Will discarded). */
  async stop(offline: Uint8Array, timeoutMs = 3000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client ?? this.current;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        client.publish(this.o.statusTopic, Buffer.from(offline), { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.end(true);
        resolve();
      }, timeoutMs);
      client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
