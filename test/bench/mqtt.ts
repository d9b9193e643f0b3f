/**
 * MQTT benchmark against the test harness's mosquitto (mTLS, loopback):
 * - outbox drain rate after a long outage: N events queued on disk, then the telemetry extension
 *   connects and drains them (window of `inflight` QoS 1 publishes) — beside the baseline of
 *   mqtt.js publishing the same payloads one per round trip (how its offline store re-sends).
 * - publish latency online: journal append → event received by central (journal fdatasync,
 *   outbox write + fdatasync, QoS 1 publish), p50/p99 — beside a bare QoS 1 publish of the same
 *   payload (no journal, no outbox).
 * The recording core is not part of this measurement: a minimal agent context with a real
 * journal feeds the real extension.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchRow, BenchSuite } from './types.js';
import { sized } from './measure.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDataDir, cleanup } from '../helpers/agent.js';
import { Observer, agentConfig } from '../mqtt/fixtures.js';
import { TelemetryExtension } from '../../agent/telemetry/extension.js';
import { Outbox } from '../../agent/telemetry/outbox.js';
import { parseMqttConfig } from '../../agent/telemetry/config.js';
import { Journal, type WrittenRecord } from '../../agent/evidence/journal.js';
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';
import { createLogger, setLogLevel } from '../../agent/lib/log.js';
import type { AgentBusEvents, AgentContext } from '../../agent/extension.js';
import type { StatusSnapshot } from '../../agent/status.js';
import { pb } from '../../agent/telemetry/proto.js';

const OUTAGE_EVENTS = sized(5000, 200);
const LATENCY_SAMPLES = sized(300, 20);
const DEV = 'cam-bench';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

class Bus extends TypedEmitter<AgentBusEvents> {
  fire<K extends keyof AgentBusEvents & string>(k: K, ...a: AgentBusEvents[K]): void {
    this.emit(k, ...a);
  }
}

function fakeContext(dataDir: string, shiftId: string): { ctx: AgentContext; journal: Journal; bus: Bus } {
  const bus = new Bus();
  const dir = join(dataDir, 'shifts', shiftId);
  mkdirSync(dir, { recursive: true });
  const journal = new Journal(dir);
  journal.open();
  const status: StatusSnapshot = {
    deviceId: DEV, board: 'bench', firmware: 'bench', bootId: '00000000-0000-0000-0000-000000000000', startedAt: new Date().toISOString(), uptimeS: 0,
    state: 'RECORDING', shiftId, shiftStartedAt: null, pauseReason: null, pauseLeftS: null, segments: 0, bytes: 0, mediaS: 0, lastSegmentAt: null,
    fps: 0, droppedFrames: 0, encoderRestarts: 0, encoderRunning: true, degradeLevel: 0, faults: {}, journalHead: null, outputs: {}, battery: null,
    temperatureC: null, docked: null, storage: null, ext: {},
  };
  const services = new Map<string, unknown>();
  const ctx = {
    dataDir, deviceId: DEV, board: undefined as never, config: undefined as never, hal: undefined as never, log: createLogger('bench'), bus,
    services: { provide: (n: string, i: unknown) => void services.set(n, i), get: <T>(n: string) => services.get(n) as T | undefined },
    policy: () => ({ ...DEFAULT_POLICY }),
    setPolicy: () => undefined,
    status: () => status,
    journal: (type: string, fields: Record<string, unknown>): WrittenRecord => {
      const w = journal.append(type, fields);
      bus.fire('record', shiftId, w);
      return w;
    },
    setFault: () => undefined, signDeviceJournal: () => undefined, shiftDir: (id: string) => join(dataDir, 'shifts', id), forceEndShift: () => undefined, setDegrade: () => undefined,
    registerControlOp: () => undefined,
  } satisfies AgentContext;
  return { ctx, journal, bus };
}

export async function mqttSuite(): Promise<BenchSuite> {
  return {
    name: 'mqtt',
    async run(): Promise<BenchRow[]> {
      setLogLevel('warn');
      const dir = tempDataDir('bench-mqtt-');
      const broker = await startMosquitto(dir);
      const rows: BenchRow[] = [];
      const exts: TelemetryExtension[] = [];
      const observers: Observer[] = [];
      try {
        const mqttCfg = parseMqttConfig((agentConfig(broker, DEV) as { mqtt: unknown }).mqtt, '/mqtt', [])!;

        // --- drain after a long outage -------------------------------------------------------
        const dataDir = join(dir, 'agent');
        const shiftId = '20261122T000000Z-cam-bench';
        const { ctx, journal } = fakeContext(dataDir, shiftId);
        // The outage: records journaled while no broker was reachable sit in the outbox.
        const ob = new Outbox({ dir: join(dataDir, 'outbox'), deviceId: DEV, bootId: 'bench', maxBytes: mqttCfg.outboxMaxBytes });
        ob.open();
        for (let i = 0; i < OUTAGE_EVENTS; i++) {
          const w = journal.append('gesture', { button: 'privacy', gesture: 'press', outcome: 'bench', n: i });
          ob.add(shiftId, w.record, w.line, w.hash);
        }
        await ob.flush();
        await ob.close();
        const obs = await Observer.start(broker, DEV);
        observers.push(obs);
        const ext = new TelemetryExtension(mqttCfg);
        exts.push(ext);
        const t0 = performance.now();
        await ext.start(ctx);
        await obs.waitFor(() => obs.of('event').length >= OUTAGE_EVENTS, 300_000, 'drain');
        const drainS = (performance.now() - t0) / 1000;

        // Baseline: the same payloads, one QoS 1 publish per round trip.
        const payloads = obs.of('event').slice(0, 1000).map((m) => m.payload);
        const raw = await broker.connect(DEV);
        const b0 = performance.now();
        for (const p of payloads) await new Promise<void>((r) => raw.publish(`bodycam/v1/${DEV}/event`, p, { qos: 1 }, () => r()));
        const seqRate = payloads.length / ((performance.now() - b0) / 1000);
        rows.push({
          metric: `outbox drain after an outage (${OUTAGE_EVENTS} events, connect included)`, value: Math.round(OUTAGE_EVENTS / drainS), unit: 'events/s',
          baseline: Math.round(seqRate), baselineLabel: 'mqtt.js QoS 1, one in flight', note: `window ${mqttCfg.inflight}, mTLS loopback`,
        });

        // --- publish latency online ----------------------------------------------------------
        await ext.stop();
        const ext2 = new TelemetryExtension(mqttCfg);
        exts.push(ext2);
        const { ctx: ctx2 } = fakeContext(join(dir, 'agent2'), '20261122T010000Z-cam-bench');
        await ext2.start(ctx2);
        await obs.waitFor(() => (ext2.status().connected as boolean) && true, 20_000, 'connected');
        const lat: number[] = [];
        // Resolves on the next event message itself (polling would add its own interval).
        const nextEvent = (): Promise<number> => new Promise((resolve) => {
          const on = (topic: string): void => {
            if (!topic.endsWith('/event')) return;
            obs.client.off('message', on);
            resolve(performance.now());
          };
          obs.client.on('message', on);
        });
        for (let i = 0; i < LATENCY_SAMPLES; i++) {
          const got = nextEvent();
          const t = performance.now();
          ctx2.journal('pause', { reason: 'PERSONAL_NEEDS', max_s: 900, via: 'gesture', n: i });
          lat.push((await got) - t);
          await sleep(5);
        }
        const rawLat: number[] = [];
        const sample = pb.Event.encode({ seq: 1, deviceId: DEV, type: 'pause', journalLine: '{"seq":1,"type":"pause"}' }).finish();
        for (let i = 0; i < LATENCY_SAMPLES; i++) {
          const got = nextEvent();
          const t = performance.now();
          raw.publish(`bodycam/v1/${DEV}/event`, Buffer.from(sample), { qos: 1 });
          rawLat.push((await got) - t);
          await sleep(5);
        }
        raw.end(true);
        rows.push({ metric: 'event latency online p50 (journal append → central)', value: +pct(lat, 50).toFixed(2), unit: 'ms', baseline: +pct(rawLat, 50).toFixed(2), baselineLabel: 'bare QoS 1 publish → central' });
        rows.push({ metric: 'event latency online p99 (journal append → central)', value: +pct(lat, 99).toFixed(2), unit: 'ms', baseline: +pct(rawLat, 99).toFixed(2), baselineLabel: 'bare QoS 1 publish → central', note: 'includes journal + outbox fdatasync' });
      } finally {
        for (const e of exts) await e.stop().catch(() => undefined);
        for (const o of observers) o.end();
        await broker.stop();
        cleanup(dir);
      }
      return rows;
    },
  };
}
