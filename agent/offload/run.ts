/**
 * One worker run: the upload worker (worker.ts) forked as a child process for one job, a shift or
 * the device journal. It is reniced to `offload.nice` (default 19) and put in the idle I/O class,
 * with the policy's bandwidth limit: recording, buttons and the journal never wait on it. One job
 * per process, one part in memory.
 *
 * The run keeps what status shows of it (progress, retrying, the manifest hash); what its messages
 * and its exit mean for the queue and the journal is the scheduler's (scheduler.ts).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { AgentContext } from '../extension.js';
import type { Logger } from '../lib/log.js';
import type { OffloadConfig } from './config.js';
import type { DeviceJournalJob } from './device-journal.js';
import type { OffloadJob } from './job.js';
import type { S3Target } from './s3.js';
import type { UploadProgress } from './uploader.js';
import type { FromWorker, ToWorker } from './worker.js';
import type { QueueEntry, UploadKind } from './types.js';

/** How long a worker asked to stop may take before it is killed. */
const STOP_KILL_MS = 3000;

export interface WorkerRunEvents {
  /** A message from the worker, after the run recorded what status shows of it. */
  message(m: FromWorker): void;
  /** The fork failed or the IPC pipe broke (`child.pid` undefined: never spawned, no 'exit' will come). */
  error(e: Error): void;
  exit(code: number | null, signal: string | null): void;
}

export class WorkerRun {
  progress: UploadProgress | null = null;
  manifestSha256: string | null;
  /** The job finished (uploaded, nothing to do, or failed for good): its exit is not a crash. */
  done = false;
  retrying = false;

  private constructor(readonly child: ChildProcess, readonly kind: UploadKind, readonly entry: QueueEntry) {
    this.manifestSha256 = entry.manifestSha256 ?? null;
  }

  /** Forks the worker at low priority; `begin` sends it the job. Events arrive after this returns. */
  static fork(workerPath: string, nice: number, kind: UploadKind, entry: QueueEntry, log: Logger, events: WorkerRunEvents): WorkerRun {
    const child = fork(workerPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--no-warnings'] });
    const run = new WorkerRun(child, kind, entry);
    if (child.pid) {
      try {
        setPriority(child.pid, nice);
      } catch (e) {
        log.warn('cannot renice the upload worker', { err: e });
      }
      // Idle I/O class: evidence writes of the recording always go first. Best effort (util-linux).
      const io = spawn('ionice', ['-c', '3', '-p', String(child.pid)], { stdio: 'ignore' });
      io.on('error', () => undefined);
    }
    // Without a listener a failed fork or a broken IPC pipe would be an uncaught 'error' event.
    child.on('error', (e) => events.error(e));
    child.on('message', (m: FromWorker) => {
      run.track(m);
      events.message(m);
    });
    child.on('exit', (code, signal) => events.exit(code, signal));
    return run;
  }

  /** Sends the job (once, right after `fork`). */
  begin(msg: ToWorker): void {
    this.child.send(msg);
  }

  /** Sends a message while the worker is connected (bandwidth changes, stop). */
  send(msg: ToWorker): void {
    if (this.child.connected) this.child.send(msg);
  }

  /** Asks the worker to stop and waits until it has exited (killed after STOP_KILL_MS). */
  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((res) => c.once('exit', () => res()));
    this.send({ type: 'stop' });
    const t = setTimeout(() => c.kill('SIGKILL'), STOP_KILL_MS);
    await exited;
    clearTimeout(t);
  }

  private track(m: FromWorker): void {
    if (m.type === 'manifest') this.manifestSha256 = m.sha256;
    else if (m.type === 'progress') {
      this.progress = m.progress;
      this.retrying = false;
    } else if (m.type === 'part') this.retrying = false;
    else if (m.type === 'retry') this.retrying = true;
  }
}

/** What a job needs of the agent. */
export type JobHost = Pick<AgentContext, 'dataDir' | 'deviceId' | 'shiftDir' | 'policy'>;

/** The worker's job message for an upload of `kind`. */
export function jobMessage(kind: UploadKind, entry: QueueEntry, cfg: OffloadConfig, host: JobHost): ToWorker {
  return kind === 'device-journal' ? { type: 'device-journal', job: deviceJournalJob(cfg, host) } : { type: 'job', job: shiftJob(entry, cfg, host) };
}

/** The worker's job message for a live batch of the recording shift (live-job.ts). */
export function liveJobMessage(shiftId: string, cfg: OffloadConfig, host: Pick<JobHost, 'dataDir' | 'deviceId' | 'shiftDir'>, bandwidthKbps: number): ToWorker {
  return {
    type: 'live',
    job: {
      dataDir: host.dataDir, shiftId, shiftDir: host.shiftDir(shiftId), deviceId: host.deviceId,
      target: target(cfg), bucket: cfg.bucket, keyPrefix: cfg.keyPrefix, partSizeBytes: cfg.partSizeBytes,
      // Two files in flight: a live batch is a few segments; the recording needs the I/O more.
      concurrency: Math.min(2, cfg.concurrency),
      bandwidthKbps, retryInitialMs: cfg.retryInitialMs, retryMaxMs: cfg.retryMaxMs,
    },
  };
}

function target(cfg: OffloadConfig): S3Target {
  return { endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: cfg.forcePathStyle, credentials: cfg.credentials, requestTimeoutMs: cfg.requestTimeoutMs };
}

function shiftJob(entry: QueueEntry, cfg: OffloadConfig, host: JobHost): OffloadJob {
  return {
    dataDir: host.dataDir, shiftId: entry.shiftId, shiftDir: host.shiftDir(entry.shiftId), deviceId: host.deviceId,
    target: target(cfg),
    bucket: cfg.bucket, keyPrefix: cfg.keyPrefix, partSizeBytes: cfg.partSizeBytes, concurrency: cfg.concurrency,
    bandwidthKbps: host.policy().offloadBandwidthKbps, retryInitialMs: cfg.retryInitialMs, retryMaxMs: cfg.retryMaxMs,
  };
}

function deviceJournalJob(cfg: OffloadConfig, host: JobHost): DeviceJournalJob {
  return {
    dataDir: host.dataDir, deviceId: host.deviceId,
    target: target(cfg),
    bucket: cfg.bucket, keyPrefix: cfg.keyPrefix, partSizeBytes: cfg.partSizeBytes,
    bandwidthKbps: host.policy().offloadBandwidthKbps, retryInitialMs: cfg.retryInitialMs, retryMaxMs: cfg.retryMaxMs,
  };
}
