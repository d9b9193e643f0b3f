/**
 * Console benchmark (`make bench`, suite `console`, issue 22): N simulated cameras publish their
 * retained `status` and a `heartbeat` at their on-duty heartbeat rate into one mosquitto (the
 * shipped mTLS config and ACL, one client certificate per camera) and one `bodycam central console`
 * (its own node process); 5 open pages listen to its live stream.
 *
 * A simulated camera is an MQTT client with the camera's certificate that publishes what the agent
 * publishes (pb.Status retained at connect, pb.Heartbeat of a camera on duty, recording, every
 * `heartbeatOnDutyS`), each starting at a random offset so the fleet's heartbeats spread evenly.
 * A "page" is a logged-in server-sent-events client of `/api/stream` — the same stream, the same
 * `camera` frames a fleet page redraws from — not a Chromium tab: five headless Chromium tabs
 * redrawing a 1,000-row table would measure Chromium on a 2-core machine, not the console.
 *
 * Measured over a window after every camera is connected: the console's CPU (% of one core) and
 * RSS (end and peak); heartbeat → page latency, from the simulated camera's publish call to the
 * page receiving the frame with that heartbeat's sequence number, p50 and p99 over every
 * heartbeat and every page. The cameras and the pages share this (the measuring) process, so its
 * own event-loop delay is in the latency: the figure is an upper bound of the console's part.
 * BENCH_CONSOLE_N sets N (default 1000), BENCH_CONSOLE_HEARTBEAT_S the rate (default 15 s, the
 * policy's heartbeatOnDutyS default).
 */
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { BenchRow, BenchSuite } from './types.js';
import { startMosquitto, freePort, type Broker } from '../helpers/mosquitto.js';
import { consoleAccounts, consoleConfig, startConsole, PASSWORDS, type ConsoleProc } from '../console/harness.js';
import { pb } from '../../agent/telemetry/proto.js';
import { cpuS, rssMb, sized } from './measure.js';

const PAGES = 5;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

interface SimCamera {
  readonly id: string;
  readonly client: MqttClient;
  seq: number;
  timer?: NodeJS.Timeout;
}

/** HTTPS to the console (its certificate is the test PKI's server certificate). */
function call(base: string, ca: Buffer, method: string, path: string, cookie: string, headers: Record<string, string> = {}, body?: string): Promise<IncomingMessage & { text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, ca, headers: { ...(cookie ? { cookie } : {}), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(Object.assign(res, { text })));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const cookieOf = (res: IncomingMessage, prev: string): string => {
  const set = res.headers['set-cookie'];
  return set?.length ? set.map((c) => c.split(';')[0]).join('; ') : prev;
};

/** A logged-in session (the login page's two requests), as a cookie header. */
async function session(c: ConsoleProc, ca: Buffer): Promise<string> {
  const t = await call(c.base, ca, 'GET', '/api/csrf', '');
  let cookie = cookieOf(t, '');
  const token = (JSON.parse(t.text) as { token: string }).token;
  const r = await call(c.base, ca, 'POST', '/api/login', cookie, { 'content-type': 'application/json', 'csrf-token': token }, JSON.stringify({ name: 'vic', password: PASSWORDS.vic }));
  if (r.statusCode !== 200) throw new Error(`login: ${r.statusCode} ${r.text}`);
  cookie = cookieOf(r, cookie);
  return cookie;
}

/** One open page: the live stream, each camera frame's (device, heartbeat seq) → arrival time. */
function openPage(c: ConsoleProc, ca: Buffer, cookie: string, onCamera: (id: string, seq: number, at: number) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request(`${c.base}/api/stream`, { ca, headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        const at = performance.now();
        buf += d;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (!frame.startsWith('event: camera\n')) continue;
          const data = JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { id: string; heartbeatSeq?: number };
          if (data.heartbeatSeq !== undefined) onCamera(data.id, data.heartbeatSeq, at);
        }
      });
      resolve(() => req.destroy());
    });
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    req.end();
  });
}

function heartbeat(id: string, seq: number, startedAt: string): Uint8Array {
  return pb.Heartbeat.encode(pb.Heartbeat.create({
    seq, deviceId: id, at: new Date().toISOString(), bootId: 'bench', uptimeS: seq * 15, agentUptimeS: seq * 15, firmware: '1.4.0', board: 'sim',
    state: pb.ShiftState.SHIFT_STATE_RECORDING, shiftId: `${startedAt}-${id}`,
    battery: { percent: 80 - (seq % 50), voltageV: 3.9, charging: false, runtimeMin: 400 },
    storage: { freeBytes: 20e9, totalBytes: 32e9, awaitingOffloadBytes: 0, awaitingOffloadShifts: 0 },
    clock: { source: 'gnss', synced: true },
    location: { lat: 52.52 + (seq % 100) * 1e-5, lon: 13.405, accuracyM: 4, ageS: 1, fix: '3d', satellites: 9 },
  })).finish();
}

async function connectCamera(broker: Broker, id: string): Promise<SimCamera> {
  const cert = broker.pki.client(id);
  const root = `bodycam/v1/${id}/`;
  const client = mqtt.connect(broker.url, {
    protocolVersion: 5, clientId: `bodycam-${id}`, clean: true, reconnectPeriod: 1000, connectTimeout: 30_000,
    ca: readFileSync(broker.pki.ca), cert: readFileSync(cert.cert), key: readFileSync(cert.key),
    will: { topic: `${root}status`, payload: Buffer.from(pb.Status.encode({ deviceId: id, presence: pb.Presence.PRESENCE_LOST, at: new Date().toISOString(), runId: 'bench' }).finish()), qos: 1, retain: true },
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.publishAsync(`${root}status`, Buffer.from(pb.Status.encode({ deviceId: id, presence: pb.Presence.PRESENCE_ONLINE, at: new Date().toISOString(), bootId: 'bench', firmware: '1.4.0', runId: 'bench' }).finish()), { qos: 1, retain: true });
  return { id, client, seq: 0 };
}

export function consoleSuite(): BenchSuite {
  const n = Number(process.env.BENCH_CONSOLE_N) || sized(1000, 20);
  const hbS = Number(process.env.BENCH_CONSOLE_HEARTBEAT_S) || sized(15, 1);
  const windowS = sized(90, 5);
  return {
    name: 'console',
    async run(): Promise<BenchRow[]> {
      const dir = mkdtempSync(join(tmpdir(), 'bodycam-bench-console-'));
      const broker = await startMosquitto(dir);
      const cams: SimCamera[] = [];
      const closers: Array<() => void> = [];
      let con: ConsoleProc | undefined;
      try {
        await consoleAccounts(dir, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
        const ids = Array.from({ length: n }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
        const groups: Record<string, string[]> = {};
        ids.forEach((id, i) => (groups[`team-${Math.floor(i / 10)}`] ??= []).push(id));
        const t0 = Date.now();
        for (const id of ids) broker.pki.client(id); // one certificate per camera (openssl), before the clock starts
        const certS = (Date.now() - t0) / 1000;
        con = await startConsole(consoleConfig(dir, broker, 'bench-console', { sessionTtlS: 3600, port: await freePort(), loginPerMinute: 100, groups }));
        const pid = con.child.pid!;
        const ca = readFileSync(broker.pki.ca);
        // The pages: (device, seq) → arrival per page.
        const sentAt = new Map<string, number>();
        const latencies: number[] = [];
        let measuring = false;
        for (let p = 0; p < PAGES; p++) {
          const cookie = await session(con, ca);
          closers.push(await openPage(con, ca, cookie, (id, seq, at) => {
            const s = sentAt.get(`${id}#${seq}`);
            if (measuring && s !== undefined) latencies.push(at - s);
          }));
        }
        // Connect in batches (1,000 TLS handshakes at once would measure the handshakes).
        const c0 = Date.now();
        for (let i = 0; i < ids.length; i += 50) cams.push(...(await Promise.all(ids.slice(i, i + 50).map((id) => connectCamera(broker, id)))));
        const connectS = (Date.now() - c0) / 1000;
        const startedAt = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
        for (const cam of cams) {
          const beat = (): void => {
            cam.seq++;
            sentAt.set(`${cam.id}#${cam.seq}`, performance.now());
            cam.client.publish(`bodycam/v1/${cam.id}/heartbeat`, Buffer.from(heartbeat(cam.id, cam.seq, startedAt)), { qos: 0 });
          };
          cam.timer = setTimeout(() => {
            beat();
            cam.timer = setInterval(beat, hbS * 1000);
          }, Math.random() * hbS * 1000);
        }
        // One full heartbeat period to settle, then the window.
        await sleep(hbS * 1000);
        measuring = true;
        const cpu0 = cpuS(pid);
        const w0 = Date.now();
        let peak = rssMb(pid);
        while (Date.now() - w0 < windowS * 1000) {
          await sleep(1000);
          peak = Math.max(peak, rssMb(pid));
        }
        const cpuPct = ((cpuS(pid) - cpu0) / ((Date.now() - w0) / 1000)) * 100;
        measuring = false;
        const rss = rssMb(pid);
        const expected = Math.round((n * windowS) / hbS) * PAGES;
        const note = `${n} cameras, heartbeat every ${hbS} s, ${PAGES} SSE pages, ${windowS} s window`;
        return [
          { metric: 'console CPU', value: cpuPct, unit: '% of a core', note },
          { metric: 'console RSS at the end', value: rss, unit: 'MB', note },
          { metric: 'console RSS peak', value: peak, unit: 'MB', note },
          { metric: 'heartbeat → page p50', value: pct(latencies, 50), unit: 'ms', target: '< 1000 ms', note: `${latencies.length} frames (≈${expected} expected)` },
          { metric: 'heartbeat → page p99', value: pct(latencies, 99), unit: 'ms', target: '< 1000 ms' },
          { metric: 'heartbeat → page max', value: Math.max(...latencies), unit: 'ms' },
          { metric: 'cameras connected (mTLS, batches of 50)', value: connectS, unit: 's', note: `certificates made in ${certS.toFixed(0)} s` },
          ...(latencies.length < expected * 0.9 ? [{ metric: 'FAILED: pages missed heartbeats', value: latencies.length, unit: 'frames', note: `expected ≈${expected}` }] : []),
        ];
      } finally {
        for (const close of closers) close();
        for (const c of cams) {
          clearTimeout(c.timer);
          clearInterval(c.timer);
        }
        await Promise.all(cams.map((c) => c.client.endAsync(true).catch(() => undefined)));
        await con?.stop();
        await broker.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
