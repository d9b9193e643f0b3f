/**
 * The central stage's pieces: a camera (real agent on the light sim board) wired to the test
 * broker, the Ceph store and central's command key; the device registry; and an ingest worker
 * run as `bodycam central ingest` — its own node process, its structured log parsed line by line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, runCli, startAgent, type AgentProc } from '../helpers/agent.js';
import type { Broker } from '../helpers/mosquitto.js';
import { agentConfig, centralKeys, type CentralKeys } from '../mqtt/fixtures.js';
import { BUCKET, PREFIX, PART_BYTES, type Store } from '../offload/store.js';
import type { OffloadStatus } from '../../agent/offload/extension.js';
import type { StatusSnapshot } from '../../agent/status.js';

export const off = (s: StatusSnapshot): OffloadStatus => s.ext.offload as OffloadStatus;

/** Provisions the camera's identity (Ed25519 key) in its data dir; returns its public key path. */
export async function provision(dataDir: string, deviceId: string): Promise<string> {
  const r = await runCli(['provision', '--device-id', deviceId, '--data-dir', dataDir]);
  if (r.code !== 0) throw new Error(`provision ${deviceId}: ${r.stderr}`);
  return r.stdout.trim();
}

/** What provisioning hands to central: `<registry>/<id>/device.pub.pem`. */
export function register(registryDir: string, deviceId: string, pubPath: string): void {
  mkdirSync(join(registryDir, deviceId), { recursive: true });
  copyFileSync(pubPath, join(registryDir, deviceId, 'device.pub.pem'));
}

/** Central's side for one camera, in `dir`: central's keys and its command key on disk, the camera
 * provisioned in `<dir>/data` and registered in `<dir>/registry`. */
export async function centralWithCamera(dir: string, deviceId: string): Promise<{ keys: CentralKeys; commandKey: string; registryDir: string; dataDir: string; pub: string }> {
  const keys = centralKeys(dir);
  const commandKey = join(dir, 'central-cmd.key.pem');
  writeFileSync(commandKey, keys.privatePem, { mode: 0o600 });
  const registryDir = join(dir, 'registry');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const pub = await provision(dataDir, deviceId);
  register(registryDir, deviceId, pub);
  return { keys, commandKey, registryDir, dataDir, pub };
}

export async function startCamera(o: { dataDir: string; deviceId: string; board: string; broker: Broker; store: Store; central: CentralKeys; mqtt?: Record<string, unknown>; policy?: Record<string, unknown>; extra?: Record<string, unknown> }): Promise<AgentProc> {
  const cfg = {
    ...agentConfig(o.broker, o.deviceId, { central: o.central, ...(o.mqtt ? { mqtt: o.mqtt } : {}), ...(o.policy ? { policy: o.policy } : {}) }),
    ...o.extra,
    offload: {
      endpoint: o.store.ceph.endpoint, region: 'default', bucket: BUCKET, keyPrefix: PREFIX,
      credentialsFile: o.store.deviceCreds.get(o.deviceId)!.file,
      partSizeMb: PART_BYTES / 1048576, retryInitialMs: 200, retryMaxMs: 2000, networkPollS: 1,
    },
  };
  return startAgent({ dataDir: o.dataDir, board: o.board, config: cfg });
}

/** One short shift by the wearer's gestures; returns its id once the camera is off duty. */
export async function recordShift(a: AgentProc, segments = 2): Promise<string> {
  await a.press('shift', { holdS: 2.2 });
  await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= segments, 60_000, `${segments} segments`);
  const id = (await a.status()).shiftId!;
  await a.press('shift', { holdS: 3.2 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY' || s.state === 'OFFLOADING', 30_000, 'shift end');
  return id;
}

export interface LogLine {
  readonly msg: string;
  readonly level: string;
  readonly [k: string]: unknown;
}

export interface IngestWorker {
  readonly workerId: string;
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  readonly metricsFile: string;
  /** Called for each parsed log line as it arrives (the test reacts at once, e.g. SIGSTOP). */
  onLine?: (l: LogLine) => void;
  text(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function ingestConfig(o: { dir: string; workerId: string; broker: Broker; store: Store; registryDir: string; commandKey: string; rescanS?: number; claimTtlS?: number }): string {
  const client = o.broker.pki.client('ingest');
  const path = join(o.dir, `ingest-${o.workerId}.json`);
  writeFileSync(path, JSON.stringify({
    mqtt: { url: o.broker.url, ca: o.broker.pki.ca, cert: client.cert, key: client.key },
    s3: { endpoint: o.store.ceph.endpoint, bucket: BUCKET, keyPrefix: PREFIX, resultPrefix: 'ingest', credentialsFile: join(o.store.credsDir, 'operator.json') },
    registryDir: o.registryDir,
    commandKey: o.commandKey,
    workDir: join(o.dir, `work-${o.workerId}`),
    workerId: o.workerId,
    rescanS: o.rescanS ?? 2,
    claimTtlS: o.claimTtlS ?? 5,
    lookbackH: 2,
    metricsFile: join(o.dir, `metrics-${o.workerId}.prom`),
  }, null, 2));
  return path;
}

export function startIngest(configPath: string, workerId: string, metricsFile: string, args: string[] = []): IngestWorker {
  const child = spawn(process.execPath, [CLI, 'central', 'ingest', '--config', configPath, ...args], { env: { ...process.env, BODYCAM_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let raw = '';
  let partial = '';
  const w: IngestWorker = {
    workerId, child, lines: [], metricsFile,
    text: () => raw,
    exited: new Promise((r) => child.on('exit', (code, sig) => r(code ?? (sig ? -1 : null)))),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await w.exited;
    },
  };
  child.stderr!.on('data', (d: Buffer) => {
    raw += d.toString();
    partial += d.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        const l = JSON.parse(line) as LogLine;
        w.lines.push(l);
        w.onLine?.(l);
      } catch {
        /* not a log line */
      }
    }
  });
  child.stdout!.on('data', (d: Buffer) => (raw += d.toString()));
  return w;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, context: () => string = () => ''): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context().slice(-6000)}`);
    await sleep(200);
  }
}
