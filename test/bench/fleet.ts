/**
 * Fleet benchmark (`make bench`, suite `fleet`): N simulated cameras against one mosquitto (the
 * shipped mTLS config and ACL) and one Ceph RGW, with two `bodycam central ingest` workers.
 *
 * A simulated camera is the camera's real code without a camera: a signed shift (the agent's
 * Journal and JournalSigner, random bytes as segment media: the verifier checks hashes, sizes and
 * the timeline, not pictures, unless given central's key), uploaded by the offload code
 * (runOffloadJob: multipart, manifest last), announced by the telemetry link (MqttLink, its own
 * client certificate, persistent session, `cmd` subscribed) as the `offload uploaded` Event, and
 * confirmed when the signed confirm_offload reaches it on `cmd`.
 * Uploads use the operator's S3 key (200 per-device RGW users would take minutes of radosgw-admin
 * and measure nothing the offload stage does not).
 *
 * Measured: upload → confirm latency (p50, p99), ingest throughput (shifts/min, MB/s) beside the
 * verifier alone on a local copy, and the broker's CPU. BENCH_FLEET_N sets N (default 200).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { BenchRow, BenchSuite } from './types.js';
import { startStore, BUCKET, PREFIX } from '../offload/store.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { CLI } from '../helpers/agent.js';
import { Journal } from '../../agent/evidence/journal.js';
import { JournalSigner, attachSigner } from '../../agent/evidence/signer.js';
import { publicKeyId, type DeviceIdentity } from '../../agent/identity/identity.js';
import { runOffloadJob } from '../../agent/offload/job.js';
import { MqttLink } from '../../agent/telemetry/link.js';
import { parseMqttConfig } from '../../agent/telemetry/config.js';
import { pb } from '../../agent/telemetry/proto.js';
import { createLogger, setLogLevel } from '../../agent/lib/log.js';
import { verifyShift } from '../../agent/evidence/verify/verify.js';
import type { Issue } from '../../agent/lib/errors.js';
import { cpuS, sized } from './measure.js';

const SEGMENTS = 4;
const SEGMENT_BYTES = 96 * 1024;
const UPLOADS_AT_ONCE = 6;
const WORKERS = 2;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** A closed, signed shift of a simulated camera; returns its bytes. */
function makeSignedShift(dataDir: string, id: DeviceIdentity, shiftId: string, startMs: number): number {
  const dir = join(dataDir, 'shifts', shiftId);
  mkdirSync(dir, { recursive: true });
  let t = startMs;
  const j = new Journal(dir, () => t);
  j.open();
  const signer = new JournalSigner(id, 15);
  attachSigner(j, signer);
  j.append('shift_start', { shift_id: shiftId, device_id: id.deviceId, board: 'sim', firmware: 'bench', boot_id: 'bench', policy: { signEverySegments: 15 }, clock: { source: 'system', synced: true } });
  let bytes = 0;
  for (let i = 0; i < SEGMENTS; i++) {
    const file = `seg-${String(i + 1).padStart(6, '0')}.ts`;
    const buf = randomBytes(SEGMENT_BYTES);
    writeFileSync(join(dir, file), buf);
    bytes += buf.length;
    t += 2000;
    j.append('segment', {
      file, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length,
      start: new Date(startMs + i * 2000).toISOString(), end: new Date(startMs + (i + 1) * 2000).toISOString(),
      media_start: i * 2, media_end: (i + 1) * 2, frames: 20, run: 1,
    });
  }
  t += 10;
  j.append('shift_end', { reason: 'wearer', segments: SEGMENTS, media_s: SEGMENTS * 2 });
  signer.signNow(j, 'shift_end');
  j.close();
  return bytes + readFileSync(join(dir, 'journal.jsonl')).length;
}

function identity(deviceId: string, dir: string): DeviceIdentity {
  const kp = generateKeyPairSync('ed25519');
  const pub = join(dir, deviceId, 'device.pub.pem');
  mkdirSync(join(dir, deviceId), { recursive: true });
  writeFileSync(pub, kp.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  return { deviceId, publicKey: kp.publicKey, privateKey: kp.privateKey, keyId: publicKeyId(kp.publicKey), publicKeyPath: pub };
}

function pidOf(confPath: string): number | undefined {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.startsWith('mosquitto\0') && cmd.includes(confPath)) return Number(p);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

export async function fleetSuite(): Promise<BenchSuite> {
  return {
    name: 'fleet',
    async run(): Promise<BenchRow[]> {
      setLogLevel('warn');
      const N = Number(process.env.BENCH_FLEET_N ?? sized(200, 4));
      const dir = mkdtempSync(join(tmpdir(), 'bodycam-bench-fleet-'));
      const ids = Array.from({ length: N }, (_, i) => `SIM-${String(i + 1).padStart(4, '0')}`);
      const [store, broker] = await Promise.all([startStore([]), startMosquitto(join(dir, 'mqtt'))]);
      const links: MqttLink[] = [];
      const workers: ReturnType<typeof spawn>[] = [];
      try {
        const registry = join(dir, 'registry');
        const cmdKey = generateKeyPairSync('ed25519');
        const commandKey = join(dir, 'central-cmd.key.pem');
        writeFileSync(commandKey, cmdKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
        createPublicKey(cmdKey.privateKey);

        // ---- the cameras: identity, a closed signed shift, a telemetry link with its own certificate
        const startMs = Date.now() - 3600_000;
        const cams = ids.map((deviceId, i) => {
          const dataDir = join(dir, 'cams', deviceId);
          const id = identity(deviceId, registry);
          const shiftId = new Date(startMs + i * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z') + '-' + deviceId;
          const bytes = makeSignedShift(dataDir, id, shiftId, startMs + i * 1000);
          return { deviceId, dataDir, shiftId, bytes, uploadedAt: 0, confirmedAt: 0, link: undefined as MqttLink | undefined };
        });
        const linkLog = createLogger('bench.fleet');
        // Certificates first (openssl runs synchronously: TLS handshakes in flight would time out).
        for (const c of cams) broker.pki.client(c.deviceId);
        for (const [i, c] of cams.entries()) {
          // A fleet does not connect in one instant either: 25 at a time.
          if (i % 25 === 0) {
            for (let t = Date.now() + 60_000; links.some((l) => !l.connected); ) {
              if (Date.now() > t) throw new Error('cameras did not all connect');
              await sleep(50);
            }
          }
          const cert = broker.pki.client(c.deviceId);
          const issues: Issue[] = [];
          const cfg = parseMqttConfig({ url: broker.url, ca: broker.pki.ca, cert: cert.cert, key: cert.key, reconnectMinMs: 500, reconnectMaxMs: 5000 }, 'bench', issues)!;
          if (issues.length) throw new Error(JSON.stringify(issues));
          const root = `bodycam/v1/${c.deviceId}/`;
          const link = new MqttLink({ cfg, clientId: `bodycam-${c.deviceId}`, statusTopic: `${root}status`, subscribe: [`${root}cmd`], will: () => new Uint8Array(), birth: () => new Uint8Array() });
          link.on('message', (topic, payload) => {
            try {
              const cmd = pb.Command.decode(pb.SignedCommand.decode(payload).command);
              if (cmd.confirmOffload?.shiftId === c.shiftId && !c.confirmedAt) c.confirmedAt = performance.now();
            } catch (e) {
              linkLog.warn('undecodable command', { err: e });
            }
          });
          link.start();
          links.push(link);
          c.link = link;
        }
        const brokerPid = pidOf(join(dir, 'mqtt', 'mosquitto.conf'));
        for (let t = Date.now() + 60_000; links.some((l) => !l.connected); ) {
          if (Date.now() > t) throw new Error('cameras did not all connect');
          await sleep(100);
        }

        // ---- the verifier alone, on a local copy of one shift (the baseline)
        const first = cams[0]!;
        const localRuns = sized(20, 2);
        const t0 = performance.now();
        for (let i = 0; i < localRuns; i++) {
          const r = await verifyShift({ shiftDir: join(first.dataDir, 'shifts', first.shiftId), publicKey: createPublicKey(readFileSync(join(registry, first.deviceId, 'device.pub.pem'))) });
          if (r.verdict !== 'intact') throw new Error(`bench shift is not intact: ${r.summary}`);
        }
        const verifyAloneS = (performance.now() - t0) / 1000 / localRuns;

        // ---- two ingest workers, event-driven (the rescan is a safety net, far away here)
        const client = broker.pki.client('ingest');
        const startWorker = (name: string, resultPrefix: string): ReturnType<typeof spawn> => {
          const cfgPath = join(dir, `ingest-${name}.json`);
          writeFileSync(cfgPath, JSON.stringify({
            mqtt: { url: broker.url, ca: broker.pki.ca, cert: client.cert, key: client.key },
            s3: { endpoint: store.ceph.endpoint, bucket: BUCKET, keyPrefix: PREFIX, resultPrefix, credentialsFile: join(store.credsDir, 'operator.json') },
            registryDir: registry, commandKey, workDir: join(dir, `work-${name}`), workerId: name, rescanS: 3600, claimTtlS: 600,
            metricsFile: join(dir, `metrics-${name}.prom`),
          }));
          const w = spawn(process.execPath, [CLI, 'central', 'ingest', '--config', cfgPath], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BODYCAM_LOG: 'warn' } });
          workers.push(w);
          return w;
        };
        const decided = (name: string): number => {
          try {
            const prom = readFileSync(join(dir, `metrics-${name}.prom`), 'utf8');
            return [...prom.matchAll(/bodycam_ingest_shifts_total\{[^}]*\} (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
          } catch {
            return 0;
          }
        };
        const live = Array.from({ length: WORKERS }, (_, i) => startWorker(`w${i + 1}`, 'ingest'));
        await sleep(3000);
        const workerCpu0 = live.reduce((a, w) => a + cpuS(w.pid!), 0);
        const brokerCpu0 = brokerPid ? cpuS(brokerPid) : NaN;

        // ---- every camera uploads and announces; a few uploads at a time (one RGW, 2 cores)
        const target = { endpoint: store.ceph.endpoint, region: 'default', forcePathStyle: true, credentials: store.operatorCreds };
        const log = createLogger('bench.fleet');
        const runStart = performance.now();
        let next = 0;
        const uploader = async (): Promise<void> => {
          while (next < cams.length) {
            const c = cams[next++]!;
            const res = await runOffloadJob({
              dataDir: c.dataDir, shiftId: c.shiftId, shiftDir: join(c.dataDir, 'shifts', c.shiftId), deviceId: c.deviceId, target, bucket: BUCKET, keyPrefix: PREFIX,
              partSizeBytes: 8 * 1024 * 1024, bandwidthKbps: 0, retryInitialMs: 500, retryMaxMs: 5000,
            }, { log });
            const line = JSON.stringify({ seq: 1, type: 'offload', at: new Date().toISOString(), event: 'uploaded', shift: c.shiftId, manifest_sha256: res.manifestSha256 });
            const ev = pb.Event.encode({ seq: 1, deviceId: c.deviceId, kind: pb.EventKind.EVENT_KIND_OFFLOAD, type: 'offload', at: new Date().toISOString(), journalLine: line, journalHash: createHash('sha256').update(line).digest('hex') }).finish();
            c.uploadedAt = performance.now();
            c.link!.publish(`bodycam/v1/${c.deviceId}/event`, ev, 1);
          }
        };
        await Promise.all(Array.from({ length: UPLOADS_AT_ONCE }, uploader));
        const uploadsDoneS = (performance.now() - runStart) / 1000;
        for (let t = Date.now() + 30 * 60_000; cams.some((c) => !c.confirmedAt); ) {
          if (Date.now() > t) throw new Error(`${cams.filter((c) => !c.confirmedAt).length} shifts never confirmed`);
          await sleep(100);
        }
        const firstUpload = Math.min(...cams.map((c) => c.uploadedAt));
        const lastConfirm = Math.max(...cams.map((c) => c.confirmedAt));
        const spanS = (lastConfirm - firstUpload) / 1000;
        const totalMb = cams.reduce((a, c) => a + c.bytes, 0) / 1e6;
        const lat = cams.map((c) => (c.confirmedAt - c.uploadedAt) / 1000);
        const brokerCpu = brokerPid ? cpuS(brokerPid) - brokerCpu0 : NaN;
        const workerCpu = live.reduce((a, w) => a + cpuS(w.pid!), 0) - workerCpu0;
        const shiftMb = totalMb / N;
        // The workers' own figure: download + manifest check + verify per shift (metrics files).
        let vSum = 0;
        let vCount = 0;
        for (let w = 1; w <= WORKERS; w++) {
          const prom = readFileSync(join(dir, `metrics-w${w}.prom`), 'utf8');
          vSum += Number(/bodycam_ingest_verify_seconds_sum\{[^}]*\} ([\d.]+)/.exec(prom)?.[1] ?? NaN);
          vCount += Number(/bodycam_ingest_verify_seconds_count\{[^}]*\} (\d+)/.exec(prom)?.[1] ?? NaN);
        }
        // ---- capacity: the same N shifts as a backlog (workers down during the uploads). Fresh
        // workers with another result prefix find them by the store listing at start and decide
        // them all; the cameras get a second, identical confirmation (harmless: idempotent).
        for (const w of live) w.kill('SIGTERM');
        const drainT0 = performance.now();
        for (let i = 1; i <= WORKERS; i++) startWorker(`d${i}`, 'ingest-drain');
        for (let t = Date.now() + 30 * 60_000; Array.from({ length: WORKERS }, (_, i) => decided(`d${i + 1}`)).reduce((a, b) => a + b, 0) < N; ) {
          if (Date.now() > t) throw new Error('backlog not drained');
          await sleep(200);
        }
        const drainS = (performance.now() - drainT0) / 1000;

        return [
          { metric: `cameras (simulated, one shift of ${SEGMENTS} × ${SEGMENT_BYTES / 1024} KiB each)`, value: N, unit: 'cameras', note: `${WORKERS} ingest workers, ${UPLOADS_AT_ONCE} uploads at a time, uploads done after ${uploadsDoneS.toFixed(1)} s` },
          { metric: 'upload → confirm latency p50', value: pct(lat, 50), unit: 's', note: 'includes the queue behind earlier uploads' },
          { metric: 'upload → confirm latency p99', value: pct(lat, 99), unit: 's' },
          { metric: 'live: first upload → last confirm', value: (N / spanS) * 60, unit: 'shifts/min', note: 'bounded by the uploads here: ingest keeps up' },
          { metric: `backlog of ${N} shifts found by listing and drained (${WORKERS} fresh workers, incl. their start)`, value: (N / drainS) * 60, unit: 'shifts/min', baseline: 60 / verifyAloneS, baselineLabel: 'verifier alone (1 process, local copy)' },
          { metric: 'backlog drain', value: totalMb / drainS, unit: 'MB/s', baseline: shiftMb / verifyAloneS, baselineLabel: 'verifier alone', note: `${drainS.toFixed(1)} s` },
          { metric: 'download + verify per shift in ingest (worker metrics)', value: vSum / vCount, unit: 's', baseline: verifyAloneS, baselineLabel: 'verifier alone, local copy' },
          { metric: 'ingest worker CPU per shift', value: workerCpu / N, unit: 's', note: `${WORKERS} workers together, ${workerCpu.toFixed(1)} s over ${spanS.toFixed(1)} s` },
          { metric: 'broker CPU', value: (brokerCpu / spanS) * 100, unit: '% of a core', note: `${brokerCpu.toFixed(2)} s over ${spanS.toFixed(1)} s, ${N} TLS sessions` },
        ];
      } finally {
        for (const w of workers) w.kill('SIGTERM');
        await Promise.all(links.map((l) => l.stop(new Uint8Array()).catch(() => undefined)));
        await broker.stop();
        await store.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
