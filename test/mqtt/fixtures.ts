/**
 * Shared pieces of the mqtt stage: one fixture for the agent + mosquitto end-to-end files
 * (`mqttStage`: a broker, a light board, central's command keys, and every agent and observer a
 * file starts, stopped and removed after it), a light sim board (small video: the machine is
 * shared), an agent config wired to the test broker, and a central-side observer that decodes
 * everything.
 */
import { before, after } from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import type { MqttClient, IClientOptions } from 'mqtt';
import { REPO, startAgent, tempDataDir, cleanup, type AgentOptions, type AgentProc } from '../helpers/agent.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { pb } from '../../agent/telemetry/proto.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** board-configs/sim.json at 320x180, 10 fps, ultrafast, no burn-in. */
export function lightBoard(dir: string): string {
  const b = JSON.parse(readFileSync(join(REPO, 'board-configs/sim.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  b.camera = { ...b.camera, width: 320, height: 180, fps: 10 };
  b.encoder = { ...b.encoder, preset: 'ultrafast', bitrateKbps: 300, burnIn: false };
  b.name = 'sim' as never;
  delete b.$schema;
  const path = join(dir, 'light-sim.json');
  writeFileSync(path, JSON.stringify(b));
  return path;
}

export interface CentralKeys {
  readonly privatePem: string;
  readonly publicPath: string;
}

export function centralKeys(dir: string): CentralKeys {
  const kp = generateKeyPairSync('ed25519');
  const publicPath = join(dir, 'central-cmd.pub.pem');
  writeFileSync(publicPath, kp.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  return { privatePem: kp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicPath };
}

export function agentConfig(broker: Broker, deviceId: string, o: { central?: CentralKeys; mqtt?: Record<string, unknown>; policy?: Record<string, unknown> } = {}): Record<string, unknown> {
  const c = broker.pki.client(deviceId);
  return {
    deviceId,
    ...(o.policy ? { policy: o.policy } : {}),
    mqtt: { url: broker.url, ca: broker.pki.ca, cert: c.cert, key: c.key, reconnectMinMs: 200, reconnectMaxMs: 1500, ...o.mqtt },
    ...(o.central ? { central: { commandPublicKey: o.central.publicPath } } : {}),
  };
}

export interface Msg {
  readonly topic: string;
  readonly kind: string;
  readonly retain: boolean;
  readonly payload: Buffer;
  readonly at: number;
}

/** Central: subscribes to one device's topics and keeps every message. */
export class Observer {
  readonly msgs: Msg[] = [];
  private constructor(readonly client: MqttClient, readonly prefix: string) {
    client.on('message', (topic, payload, packet) => {
      this.msgs.push({ topic, kind: topic.slice(prefix.length), retain: packet.retain, payload: Buffer.from(payload), at: Date.now() });
    });
  }

  static async start(broker: Broker, deviceId: string, opts: IClientOptions = {}): Promise<Observer> {
    const client = await broker.connect('central', opts);
    const prefix = `bodycam/v1/${deviceId}/`;
    const o = new Observer(client, prefix);
    await new Promise<void>((resolve, reject) => client.subscribe(`${prefix}#`, { qos: 1 }, (e) => (e ? reject(e) : resolve())));
    return o;
  }

  of(kind: string): Msg[] {
    return this.msgs.filter((m) => m.kind === kind);
  }
  events() {
    return this.of('event').map((m) => pb.Event.decode(m.payload));
  }
  heartbeats() {
    return this.of('heartbeat').map((m) => pb.Heartbeat.decode(m.payload));
  }
  statuses() {
    return this.of('status').map((m) => ({ ...pb.Status.decode(m.payload), retain: m.retain }));
  }
  results() {
    return this.of('cmd/result').map((m) => pb.CommandResult.decode(m.payload));
  }

  async waitFor<T>(fn: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() > until) throw new Error(`observer: timed out after ${timeoutMs} ms waiting for ${what} (${this.msgs.length} messages: ${[...new Set(this.msgs.map((m) => m.kind))].join(', ')})`);
      await sleep(50);
    }
  }

  publish(kind: string, payload: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.client.publish(this.prefix + kind, Buffer.from(payload), { qos: 1 }, (e) => (e ? reject(e) : resolve())));
  }

  end(): void {
    this.client.end(true);
  }
}

/** What one end-to-end file shares: ready inside its tests (its before() hook made it). */
export interface MqttStage {
  /** The file's temporary folder (broker files, board, keys; agents' data dirs go elsewhere). */
  readonly dir: string;
  readonly broker: Broker;
  /** lightBoard(dir). */
  readonly board: string;
  /** Central's command-signing keys (centralKeys(dir)). */
  readonly keys: CentralKeys;
  /** startAgent on the light board unless `o.board` says otherwise; SIGKILLed and removed after the file. */
  startAgent(o?: AgentOptions): Promise<AgentProc>;
  /** Observer.start on the broker; ended after the file. */
  observe(deviceId: string, opts?: IClientOptions): Promise<Observer>;
}

/**
 * The setup the agent + mosquitto files shared by copy: call once at the top of a test file; it
 * registers the file's before() (mosquitto with its PKI, the light board, central keys) and
 * after() (every agent it started SIGKILLed, observers ended, the broker stopped, folders removed).
 * Its parts are there inside tests only: Node 22 starts a file's top-level before() hooks as they
 * are registered, so another top-level before() cannot count on this one having finished.
 */
export function mqttStage(prefix: string): MqttStage {
  let ctx: { dir: string; broker: Broker; board: string; keys: CentralKeys } | undefined;
  const agents: AgentProc[] = [];
  const observers: Observer[] = [];
  const need = (): NonNullable<typeof ctx> => {
    if (!ctx) throw new Error('mqttStage: used before its before() hook ran (use it inside a test)');
    return ctx;
  };
  before(async () => {
    const dir = tempDataDir(prefix);
    const broker = await startMosquitto(dir);
    ctx = { dir, broker, board: lightBoard(dir), keys: centralKeys(dir) };
  });
  after(async () => {
    for (const a of agents) await a.kill('SIGKILL');
    for (const o of observers) o.end();
    await ctx?.broker.stop();
    for (const a of agents) cleanup(a.dataDir);
    if (ctx) cleanup(ctx.dir);
  });
  return {
    get dir() { return need().dir; },
    get broker() { return need().broker; },
    get board() { return need().board; },
    get keys() { return need().keys; },
    async startAgent(o: AgentOptions = {}) {
      const a = await startAgent({ board: need().board, ...o });
      agents.push(a);
      return a;
    },
    async observe(deviceId: string, opts: IClientOptions = {}) {
      const o = await Observer.start(need().broker, deviceId, opts);
      observers.push(o);
      return o;
    },
  };
}
