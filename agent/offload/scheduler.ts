/**
 * The offload scheduler: decides what uploads next and when, starts the worker run for it, and
 * turns what the worker reports into queue states, journal records and faults.
 *
 * Uploads run when the device is docked or on an approved network; an explicit request runs
 * regardless (central or an engineer decided). Leaving the dock/network stops an automatic
 * upload, which resumes later from the server's ListParts. Shifts go first (queue.ts order); the
 * device journal goes when no shift waits (device-journal-schedule.ts). One run at a time; a run
 * that ends before finishing is started again after a paced delay (its state is on disk).
 *
 * Every decision (`pump`) runs on bus events and timers, and first lets retention delete what is
 * due (a legal hold may have been lifted).
 */
import { fileURLToPath } from 'node:url';
import type { AgentContext } from '../extension.js';
import { Backoff } from '../lib/backoff.js';
import { describe } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { OffloadConfig } from './config.js';
import type { DeviceJournalSchedule } from './device-journal-schedule.js';
import { DEVICE_JOURNAL_ID } from './device-journal.js';
import { approvedNetworkPresent } from './network.js';
import type { OffloadQueue } from './queue.js';
import type { Retention } from './retention.js';
import { jobMessage, WorkerRun } from './run.js';
import { loadManifest } from './state.js';
import { offloadStatus } from './status.js';
import type { OffloadJournal, OffloadStatus, QueueEntry, UploadCondition, UploadKind } from './types.js';
import type { FromWorker } from './worker.js';

/** What the scheduler needs of the agent. */
export type SchedulerHost = Pick<AgentContext, 'dataDir' | 'deviceId' | 'shiftDir' | 'policy' | 'hal' | 'setFault'>;

/** The parts the scheduler drives. */
export interface SchedulerParts {
  readonly queue: OffloadQueue;
  readonly retention: Retention;
  readonly deviceJournal: DeviceJournalSchedule;
  readonly journal: OffloadJournal;
  /** Live offload: a shift's end-of-shift upload waits while a live batch of it runs. */
  readonly live?: { holds(shiftId: string): boolean };
}

export const DEFAULT_WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url));

export class OffloadScheduler {
  private run: WorkerRun | undefined;
  private stopping = false;
  private lastError: string | null = null;
  private waitReason: string | null = null;
  private netOk = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly crashBackoff: Backoff;

  constructor(
    private readonly cfg: OffloadConfig,
    private readonly host: SchedulerHost,
    private readonly parts: SchedulerParts,
    private readonly log: Logger,
    private readonly workerPath = DEFAULT_WORKER_PATH,
  ) {
    this.crashBackoff = new Backoff({ initialMs: cfg.retryInitialMs, maxMs: cfg.retryMaxMs });
  }

  start(): void {
    // Re-check the network and pending deletions (a legal hold may have been lifted) now and then.
    this.pollTimer = setInterval(() => this.pump(), this.cfg.networkPollS * 1000);
    this.pollTimer.unref();
    this.pump();
  }

  /** Stops scheduling, then the worker (asked to stop, killed after a timeout). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.run?.stop();
  }

  /** An explicit request (one shift, or everything waiting); throws for a shift that cannot go. */
  request(shiftId?: string): void {
    this.parts.queue.request(shiftId);
    // "Offload now": the device journal's signed lines go too, after any shift that waits.
    this.parts.deviceJournal.request();
    this.log.info('offload requested', { shift: shiftId ?? 'all' });
    this.pump();
  }

  /** The policy's bandwidth limit changed: the running worker follows it at once. */
  bandwidth(kbps: number): void {
    this.run?.send({ type: 'bandwidth', kbps });
  }

  status(): OffloadStatus {
    const r = this.run;
    return offloadStatus({
      run: r, entries: this.parts.queue.values(), waitReason: this.waitReason,
      docked: this.host.hal.dock ? this.host.hal.dock.docked() : null, approvedNetwork: this.netOk, lastError: this.lastError,
      deviceJournal: this.parts.deviceJournal.status(r?.kind === 'device-journal'),
    });
  }

  /** Runs on bus events and timers: whatever goes wrong here must not reach the daemon. */
  pump(): void {
    try {
      this.pumpUnsafe();
    } catch (e) {
      this.lastError = describe(e);
      this.log.error('offload scheduling failed', { err: e });
    }
  }

  private pumpUnsafe(): void {
    if (this.stopping) return;
    this.parts.retention.deletePending();
    const cond = this.conditionMet();
    if (this.run) {
      // Left the dock / approved network: stop an automatic upload; it resumes from ListParts later.
      if (!cond.ok && !this.run.entry.forced && !this.run.done) {
        this.log.info('offload paused', { shift: this.run.entry.shiftId, reason: cond.reason });
        this.waitReason = cond.reason;
        this.run.send({ type: 'stop' });
      }
      return;
    }
    if (this.restartTimer) return;
    const next = this.parts.queue.next();
    if (!next) {
      this.waitReason = null;
      // The device journal goes when no shift waits.
      const dj = this.parts.deviceJournal.decide(cond);
      if (dj && 'wait' in dj) this.waitReason = dj.wait;
      else if (dj) this.startWorker(dj.run, 'device-journal');
      return;
    }
    if (!cond.ok && !next.forced) {
      this.waitReason = cond.reason;
      return;
    }
    if (this.parts.live?.holds(next.shiftId)) {
      // One writer per key: the live batch ends soon; its exit pumps again.
      this.waitReason = 'a live upload of this shift is finishing';
      return;
    }
    this.waitReason = null;
    this.startWorker(next, 'shift');
  }

  private conditionMet(): UploadCondition {
    const docked = this.host.hal.dock?.docked() ?? false;
    this.netOk = approvedNetworkPresent(this.cfg.approvedNetworks);
    if (docked) return { ok: true, reason: null };
    if (this.netOk) return { ok: true, reason: null };
    return { ok: false, reason: this.cfg.approvedNetworks.length ? 'not docked and no approved network' : 'not docked' };
  }

  private startWorker(entry: QueueEntry, kind: UploadKind): void {
    const msg = jobMessage(kind, entry, this.cfg, this.host);
    const run: WorkerRun = WorkerRun.fork(this.workerPath, this.cfg.nice, kind, entry, this.log, {
      message: (m) => this.onWorker(run, m),
      error: (e) => {
        this.lastError = `upload worker: ${describe(e)}`;
        this.log.error('upload worker error', { err: e });
        // Never spawned: no 'exit' will come, so retry from here (paced).
        if (run.child.pid === undefined && this.run === run) this.onWorkerExit(run, null, null);
      },
      exit: (code, signal) => this.onWorkerExit(run, code, signal),
    });
    this.run = run;
    entry.state = 'uploading';
    run.begin(msg);
  }

  private onWorker(run: WorkerRun, m: FromWorker): void {
    const e = run.entry;
    switch (m.type) {
      case 'manifest':
        e.manifestSha256 = m.sha256;
        e.bytes = m.bytesTotal;
        this.parts.journal({ event: 'started', shift: e.shiftId, manifest_sha256: m.sha256, objects: m.files, bytes: m.bytesTotal, resumed: m.resumed, forced: e.forced });
        break;
      case 'retry':
        this.lastError = m.error;
        break;
      case 'done':
        run.done = true;
        this.parts.deviceJournal.shiftUploaded(e.forced);
        e.state = 'uploaded';
        e.forced = false;
        this.lastError = null;
        this.crashBackoff.reset();
        this.host.setFault('offload', null);
        this.parts.journal({
          event: 'uploaded', shift: e.shiftId, manifest_sha256: m.result.manifestSha256, objects: m.result.objects, bytes: m.result.bytes,
          bucket: this.cfg.bucket, key_prefix: loadManifest(this.host.dataDir, e.shiftId)?.m.keyPrefix, parts_sent: m.result.stats.partsSent, parts_reused: m.result.stats.partsReused,
          live_objects: m.result.stats.objectsLive ?? 0,
        });
        this.log.info('shift uploaded', { shift: e.shiftId, manifestSha256: m.result.manifestSha256, bytes: m.result.bytes });
        break;
      case 'snapshot':
        run.done = true;
        this.parts.deviceJournal.finished(m.snapshot);
        this.lastError = null;
        this.crashBackoff.reset();
        if (m.snapshot) {
          const sn = m.snapshot;
          this.parts.journal({
            event: 'device_journal_uploaded', object: sn.key, first_seq: sn.firstSeq, last_seq: sn.lastSeq, head: sn.head,
            sha256: sn.sha256, bytes: sn.bytes, bucket: this.cfg.bucket, forced: e.forced,
          });
          this.log.info('device journal snapshot uploaded', { key: sn.key, lastSeq: sn.lastSeq, bytes: sn.bytes });
        }
        break;
      case 'error':
        if (m.aborted) break;
        this.lastError = m.message;
        if (m.fatal && run.kind === 'device-journal') {
          // Not retried in a loop: the next shift upload or request tries again.
          run.done = true;
          this.parts.deviceJournal.finished(null);
          this.parts.journal({ event: 'failed', object: DEVICE_JOURNAL_ID, error: m.message });
          this.log.error('device journal snapshot failed', { err: m.message });
        } else if (m.fatal) {
          // The evidence on disk is not what the manifest says: no retry can fix that; say so loudly.
          run.done = true;
          e.state = 'failed';
          e.error = m.message;
          this.parts.journal({ event: 'failed', shift: e.shiftId, error: m.message });
          this.host.setFault('offload', `${e.shiftId}: ${m.message}`);
        }
        break;
    }
  }

  private onWorkerExit(run: WorkerRun, code: number | null, signal: string | null): void {
    if (this.run === run) this.run = undefined;
    if (run.entry.state === 'uploading') run.entry.state = 'pending';
    if (this.stopping) return;
    if (!run.done && this.waitReason === null) {
      // Crashed or stopped without finishing: try again after a paced delay (state is on disk).
      const d = this.crashBackoff.next();
      this.log.warn('upload worker ended before finishing; retrying', { shift: run.entry.shiftId, code, signal, delayMs: d });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.pump();
      }, d);
      return;
    }
    this.pump();
  }
}
