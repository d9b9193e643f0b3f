/**
 * The offload extension: uploads closed shifts to the central store, oldest first, and deletes a
 * shift locally only after central confirmed the exact manifest it received.
 *
 * Triggers: a shift closes (`shiftClosed`), the agent starts with closed shifts not yet uploaded,
 * the device is docked, an approved network appears, or someone asks (`requestOffload`, `bodycam
 * offload --now`). Uploads run when the device is docked or on an approved network; an explicit
 * request runs regardless (central or an engineer decided). Leaving the dock/network stops an
 * automatic upload, which resumes later from the server's ListParts.
 *
 * The upload runs in a child process (`worker.ts`) reniced to `offload.nice` (default 19) and in
 * the idle I/O class, with the policy's bandwidth limit: recording, buttons and the journal never
 * wait on it. One shift at a time, one part in memory.
 *
 * The device journal goes too (device-journal.ts): after a shift's upload completes, and when an
 * offload is requested with no shift waiting, a snapshot of its signed lines not yet uploaded is
 * uploaded by the same worker (`event: device_journal_uploaded`, no `shift` field).
 *
 * Journal: `offload` records (field `event`: started, uploaded, failed, confirmed,
 * confirm_rejected, delete_blocked, deleted; `shift` names the offloaded shift) go through
 * `ctx.journal`: to the device journal while off duty, to the recording shift's journal during a
 * shift (a closed shift's journal is sealed and is itself part of what is uploaded).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync, unlinkSync, rmdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { AgentContext, Extension } from '../extension.js';
import type { AgentConfig } from '../config/agent-config.js';
import { sectionOf } from '../config/agent-config.js';
import type { Policy } from '../config/policy.js';
import { Backoff } from '../lib/backoff.js';
import { BodycamError, describe } from '../lib/errors.js';
import { fsyncDir } from '../lib/atomic.js';
import type { Logger } from '../lib/log.js';
import { getLegalHold } from '../evidence/legal-hold.js';
import { OFFLOAD_SECTION, type OffloadConfig } from './config.js';
import { isShiftClosed, sha256Hex, type Manifest } from './manifest.js';
import { approvedNetworkPresent } from './network.js';
import { loadReceipt, loadUploadState, manifestPath, saveReceipt, type Receipt } from './state.js';
import type { OffloadJob } from './job.js';
import { DEVICE_JOURNAL_ID, deviceJournalDue, loadDeviceJournalState, type DeviceJournalJob, type DeviceJournalSnapshot } from './device-journal.js';
import type { UploadProgress } from './uploader.js';
import type { ToWorker } from './worker.js';

const SHIFT_ID = /^[A-Za-z0-9._-]{1,128}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;

export type ShiftOffloadState = 'pending' | 'uploading' | 'uploaded' | 'confirmed' | 'failed';

export interface QueueEntry {
  readonly shiftId: string;
  state: ShiftOffloadState;
  bytes: number;
  manifestSha256?: string;
  error?: string;
  /** Asked for explicitly (runs without dock/approved network, goes first). */
  forced: boolean;
}

export interface ConfirmResult {
  accepted: boolean;
  reason: string;
}

/** What other extensions (MQTT commands) and the control socket use. */
export interface OffloadService {
  requestOffload(shiftId?: string): void;
  confirmReceipt(shiftId: string, manifestSha256: string): ConfirmResult;
  status(): OffloadStatus;
}

export interface OffloadStatus extends Record<string, unknown> {
  /** True while an upload is running (the LED pattern for offloading keys on this). */
  active: boolean;
  state: 'idle' | 'waiting' | 'uploading' | 'retrying';
  /** Why it waits (no dock, no approved network) or what failed last. */
  reason: string | null;
  docked: boolean | null;
  approvedNetwork: boolean;
  current: (UploadProgress & { manifestSha256: string | null }) | null;
  queue: Array<{ shiftId: string; state: ShiftOffloadState; bytes: number; manifestSha256: string | null; error: string | null }>;
  /** Bytes of closed shifts not yet uploaded (heartbeats: "bytes awaiting offload"). */
  pendingBytes: number;
  pendingShifts: number;
  /** Closed shifts not yet confirmed by central (queued, uploading, uploaded, failed), and their bytes. */
  awaitingBytes: number;
  awaitingShifts: number;
  /** Uploaded shifts whose receipt central has not confirmed yet. */
  awaitingConfirmation: string[];
  lastError: string | null;
  /** The upload worker's pid while one runs. */
  workerPid: number | null;
  /** Device journal snapshots: the last one uploaded, and whether one is due (waits for the same condition as shifts). */
  deviceJournal: { uploadedThroughSeq: number | null; lastKey: string | null; lastSha256: string | null; due: boolean };
}

interface WorkerRun {
  readonly child: ChildProcess;
  /** What the worker uploads: a shift, or the device journal (an entry outside the queue). */
  readonly kind: 'shift' | 'device-journal';
  readonly entry: QueueEntry;
  progress: UploadProgress | null;
  manifestSha256: string | null;
  done: boolean;
  retrying: boolean;
}

export class OffloadExtension implements Extension {
  readonly name = 'offload';
  private ctx!: AgentContext;
  private log!: Logger;
  private readonly entries = new Map<string, QueueEntry>();
  private run: WorkerRun | undefined;
  private stopping = false;
  private lastError: string | null = null;
  private waitReason: string | null = null;
  private netOk = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly crashBackoff: Backoff;
  /** A device journal snapshot should be tried when no shift waits (forced: asked for, runs anywhere). */
  private deviceJournalWanted: { forced: boolean } | undefined;
  private lastSnapshot: DeviceJournalSnapshot | undefined;

  constructor(private readonly cfg: OffloadConfig, private readonly workerPath = fileURLToPath(new URL('./worker.js', import.meta.url))) {
    this.crashBackoff = new Backoff({ initialMs: cfg.retryInitialMs, maxMs: cfg.retryMaxMs });
  }

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.log.child('offload');
    const service: OffloadService = {
      requestOffload: (id) => this.requestOffload(id),
      confirmReceipt: (id, sha) => this.confirmReceipt(id, sha, 'service'),
      status: () => this.status(),
    };
    ctx.services.provide('offload', service);
    ctx.registerControlOp('offload', async (req) => this.controlOp(req));
    ctx.bus.on('shiftClosed', (id) => {
      this.addShift(id);
      this.pump();
    });
    ctx.bus.on('policy', (p: Policy) => this.send({ type: 'bandwidth', kbps: p.offloadBandwidthKbps }));
    ctx.hal.dock?.on('change', () => this.pump());
    this.scan();
    try {
      const dj = loadDeviceJournalState(ctx.dataDir);
      this.lastSnapshot = dj.uploaded.at(-1);
      // A snapshot interrupted by a crash or a stop is finished when the condition allows.
      if (dj.pending) this.deviceJournalWanted = { forced: false };
    } catch (e) {
      this.log.error('cannot read the device journal offload state', { err: e });
    }
    this.log.info('offload ready', {
      endpoint: this.cfg.endpoint, bucket: this.cfg.bucket, credentials: this.cfg.credentialsSource,
      pending: [...this.entries.values()].filter((e) => e.state === 'pending').length,
    });
    // Re-check the network and pending deletions (a legal hold may have been lifted) now and then.
    this.pollTimer = setInterval(() => this.pump(), this.cfg.networkPollS * 1000);
    this.pollTimer.unref();
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const r = this.run;
    if (r && r.child.exitCode === null && r.child.signalCode === null) {
      const exited = new Promise<void>((res) => r.child.once('exit', () => res()));
      this.send({ type: 'stop' });
      const t = setTimeout(() => r.child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
  }

  // ------------------------------------------------------------------ queue

  /** Finds closed shifts on disk that are not yet deleted after a confirmation. */
  private scan(): void {
    const root = join(this.ctx.dataDir, 'shifts');
    if (!existsSync(root)) return;
    for (const id of readdirSync(root).sort()) this.addShift(id);
  }

  private addShift(shiftId: string): void {
    if (!SHIFT_ID.test(shiftId)) return;
    const dir = this.ctx.shiftDir(shiftId);
    const existing = this.entries.get(shiftId);
    if (existing && existing.state !== 'failed') return;
    let receipt: Receipt | undefined;
    try {
      receipt = loadReceipt(this.ctx.dataDir, shiftId);
      if (receipt?.deletedAt) return;
      if (!existsSync(dir) || !isShiftClosed(dir)) return;
      const up = loadUploadState(this.ctx.dataDir, shiftId);
      const manifest = this.readManifest(shiftId);
      const bytes = manifest ? manifest.m.files.reduce((a, f) => a + f.bytes, 0) : dirBytes(dir);
      const state: ShiftOffloadState = receipt?.confirmedAt ? 'confirmed' : up?.completedAt ? 'uploaded' : 'pending';
      this.entries.set(shiftId, { shiftId, state, bytes, manifestSha256: manifest?.sha256, forced: existing?.forced ?? false });
    } catch (e) {
      this.log.error('cannot read offload state of a shift', { shift: shiftId, err: e });
      this.entries.set(shiftId, { shiftId, state: 'failed', bytes: 0, error: describe(e), forced: false });
    }
  }

  private readManifest(shiftId: string): { m: Manifest; sha256: string } | undefined {
    let b: Buffer;
    try {
      b = readFileSync(manifestPath(this.ctx.dataDir, shiftId));
    } catch {
      return undefined;
    }
    return { m: JSON.parse(b.toString('utf8')) as Manifest, sha256: sha256Hex(b) };
  }

  private requestOffload(shiftId?: string): void {
    if (shiftId !== undefined) {
      if (!SHIFT_ID.test(shiftId)) throw new BodycamError('USAGE', `invalid shift id '${shiftId}'`);
      const e = this.entries.get(shiftId);
      if (e?.state === 'failed') this.entries.delete(shiftId);
      this.addShift(shiftId);
      const n = this.entries.get(shiftId);
      if (!n) throw new BodycamError('STATE', `shift ${shiftId} is not a closed shift awaiting offload`);
      n.forced = true;
    } else {
      for (const [id, e] of this.entries) if (e.state === 'failed') this.entries.delete(id);
      this.scan();
      for (const e of this.entries.values()) if (e.state === 'pending') e.forced = true;
    }
    // "Offload now": the device journal's signed lines go too, after any shift that waits.
    this.deviceJournalWanted = { forced: true };
    this.log.info('offload requested', { shift: shiftId ?? 'all' });
    this.pump();
  }

  private conditionMet(): { ok: boolean; reason: string | null } {
    const docked = this.ctx.hal.dock?.docked() ?? false;
    this.netOk = approvedNetworkPresent(this.cfg.approvedNetworks);
    if (docked) return { ok: true, reason: null };
    if (this.netOk) return { ok: true, reason: null };
    return { ok: false, reason: this.cfg.approvedNetworks.length ? 'not docked and no approved network' : 'not docked' };
  }

  private next(): QueueEntry | undefined {
    const pending = [...this.entries.values()].filter((e) => e.state === 'pending');
    // Explicit requests first, then oldest first (shift ids begin with their UTC start time).
    pending.sort((a, b) => Number(b.forced) - Number(a.forced) || (a.shiftId < b.shiftId ? -1 : a.shiftId > b.shiftId ? 1 : 0));
    return pending[0];
  }

  /** Runs on bus events and timers: whatever goes wrong here must not reach the daemon. */
  private pump(): void {
    try {
      this.pumpUnsafe();
    } catch (e) {
      this.lastError = describe(e);
      this.log.error('offload scheduling failed', { err: e });
    }
  }

  private pumpUnsafe(): void {
    if (this.stopping) return;
    this.deletePending();
    const cond = this.conditionMet();
    if (this.run) {
      // Left the dock / approved network: stop an automatic upload; it resumes from ListParts later.
      if (!cond.ok && !this.run.entry.forced && !this.run.done) {
        this.log.info('offload paused', { shift: this.run.entry.shiftId, reason: cond.reason });
        this.waitReason = cond.reason;
        this.send({ type: 'stop' });
      }
      return;
    }
    if (this.restartTimer) return;
    const next = this.next();
    if (!next) {
      this.waitReason = null;
      this.maybeStartDeviceJournal(cond);
      return;
    }
    if (!cond.ok && !next.forced) {
      this.waitReason = cond.reason;
      return;
    }
    this.waitReason = null;
    this.startWorker(next);
  }

  /** Starts a device journal snapshot when one is wanted, allowed and due (something new is signed). */
  private maybeStartDeviceJournal(cond: { ok: boolean; reason: string | null }): void {
    const want = this.deviceJournalWanted;
    if (!want) return;
    if (!cond.ok && !want.forced) {
      this.waitReason = cond.reason;
      return;
    }
    // Sign the head first, so the snapshot reaches the latest records (deletions, holds…).
    this.ctx.signDeviceJournal('offload');
    // Checked here, not in the worker: nothing new signed means no process is forked at all.
    let due: boolean;
    try {
      due = deviceJournalDue(this.ctx.dataDir);
    } catch (e) {
      this.log.error('cannot tell whether a device journal snapshot is due', { err: e });
      due = false;
    }
    if (!due) {
      this.deviceJournalWanted = undefined;
      return;
    }
    const entry: QueueEntry = { shiftId: DEVICE_JOURNAL_ID, state: 'pending', bytes: 0, forced: want.forced };
    this.startWorker(entry, 'device-journal');
  }

  private deviceJournalJob(): DeviceJournalJob {
    const cfg = this.cfg;
    return {
      dataDir: this.ctx.dataDir, deviceId: this.ctx.deviceId,
      target: { endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: cfg.forcePathStyle, credentials: cfg.credentials, requestTimeoutMs: cfg.requestTimeoutMs },
      bucket: cfg.bucket, keyPrefix: cfg.keyPrefix, partSizeBytes: cfg.partSizeBytes,
      bandwidthKbps: this.ctx.policy().offloadBandwidthKbps, retryInitialMs: cfg.retryInitialMs, retryMaxMs: cfg.retryMaxMs,
    };
  }

  private startWorker(entry: QueueEntry, kind: WorkerRun['kind'] = 'shift'): void {
    const cfg = this.cfg;
    const msg: ToWorker = kind === 'device-journal' ? { type: 'device-journal', job: this.deviceJournalJob() } : { type: 'job', job: this.shiftJob(entry) };
    const child = fork(this.workerPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--no-warnings'] });
    const run: WorkerRun = { child, kind, entry, progress: null, manifestSha256: entry.manifestSha256 ?? null, done: false, retrying: false };
    this.run = run;
    entry.state = 'uploading';
    if (child.pid) {
      try {
        setPriority(child.pid, cfg.nice);
      } catch (e) {
        this.log.warn('cannot renice the upload worker', { err: e });
      }
      // Idle I/O class: evidence writes of the recording always go first. Best effort (util-linux).
      const io = spawn('ionice', ['-c', '3', '-p', String(child.pid)], { stdio: 'ignore' });
      io.on('error', () => undefined);
    }
    // Without a listener a failed fork or a broken IPC pipe would be an uncaught 'error' event.
    child.on('error', (e) => {
      this.lastError = `upload worker: ${describe(e)}`;
      this.log.error('upload worker error', { err: e });
      // Never spawned: no 'exit' will come, so retry from here (paced).
      if (child.pid === undefined && this.run === run) this.onWorkerExit(run, null, null);
    });
    child.on('message', (m: WorkerMessage) => this.onWorker(run, m));
    child.on('exit', (code, signal) => this.onWorkerExit(run, code, signal));
    child.send(msg);
  }

  private shiftJob(entry: QueueEntry): OffloadJob {
    const cfg = this.cfg;
    return {
      dataDir: this.ctx.dataDir, shiftId: entry.shiftId, shiftDir: this.ctx.shiftDir(entry.shiftId), deviceId: this.ctx.deviceId,
      target: { endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: cfg.forcePathStyle, credentials: cfg.credentials, requestTimeoutMs: cfg.requestTimeoutMs },
      bucket: cfg.bucket, keyPrefix: cfg.keyPrefix, partSizeBytes: cfg.partSizeBytes, concurrency: cfg.concurrency,
      bandwidthKbps: this.ctx.policy().offloadBandwidthKbps, retryInitialMs: cfg.retryInitialMs, retryMaxMs: cfg.retryMaxMs,
    };
  }

  private send(msg: ToWorker): void {
    const c = this.run?.child;
    if (c?.connected) c.send(msg);
  }

  private onWorker(run: WorkerRun, m: WorkerMessage): void {
    const e = run.entry;
    switch (m.type) {
      case 'manifest': {
        run.manifestSha256 = m.sha256;
        e.manifestSha256 = m.sha256;
        e.bytes = m.bytesTotal;
        this.journal({ event: 'started', shift: e.shiftId, manifest_sha256: m.sha256, objects: m.files, bytes: m.bytesTotal, resumed: m.resumed, forced: e.forced });
        break;
      }
      case 'progress':
        run.progress = m.progress;
        run.retrying = false;
        break;
      case 'part':
        run.retrying = false;
        break;
      case 'retry':
        run.retrying = true;
        this.lastError = m.error;
        break;
      case 'done':
        run.done = true;
        // What central now holds of this shift's time off duty is in the device journal: send it
        // next (asked for if this shift was; otherwise under the same dock/network condition).
        this.deviceJournalWanted = { forced: (this.deviceJournalWanted?.forced ?? false) || e.forced };
        e.state = 'uploaded';
        e.forced = false;
        this.lastError = null;
        this.crashBackoff.reset();
        this.ctx.setFault('offload', null);
        this.journal({
          event: 'uploaded', shift: e.shiftId, manifest_sha256: m.result.manifestSha256, objects: m.result.objects, bytes: m.result.bytes,
          bucket: this.cfg.bucket, key_prefix: this.readManifest(e.shiftId)?.m.keyPrefix, parts_sent: m.result.stats.partsSent, parts_reused: m.result.stats.partsReused,
        });
        this.log.info('shift uploaded', { shift: e.shiftId, manifestSha256: m.result.manifestSha256, bytes: m.result.bytes });
        break;
      case 'snapshot':
        run.done = true;
        this.deviceJournalWanted = undefined;
        this.lastError = null;
        this.crashBackoff.reset();
        if (m.snapshot) {
          const sn = m.snapshot;
          this.lastSnapshot = sn;
          this.journal({
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
          this.deviceJournalWanted = undefined;
          this.journal({ event: 'failed', object: DEVICE_JOURNAL_ID, error: m.message });
          this.log.error('device journal snapshot failed', { err: m.message });
        } else if (m.fatal) {
          // The evidence on disk is not what the manifest says: no retry can fix that; say so loudly.
          run.done = true;
          e.state = 'failed';
          e.error = m.message;
          this.journal({ event: 'failed', shift: e.shiftId, error: m.message });
          this.ctx.setFault('offload', `${e.shiftId}: ${m.message}`);
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

  private journal(fields: Record<string, unknown>): void {
    try {
      this.ctx.journal('offload', fields);
    } catch (e) {
      this.log.error('cannot journal offload record', { err: e, fields });
    }
  }

  // ------------------------------------------------------------------ confirmation and deletion

  confirmReceipt(shiftId: string, manifestSha256: string, via: string): ConfirmResult {
    const reject = (reason: string): ConfirmResult => {
      this.journal({ event: 'confirm_rejected', shift: shiftId, manifest_sha256: manifestSha256, reason, via });
      this.log.warn('offload confirmation rejected', { shift: shiftId, reason });
      return { accepted: false, reason };
    };
    if (typeof shiftId !== 'string' || !SHIFT_ID.test(shiftId)) return reject(`invalid shift id '${String(shiftId)}'`);
    if (typeof manifestSha256 !== 'string' || !HEX64.test(manifestSha256)) return reject('manifest hash must be 64 hex characters');
    const given = manifestSha256.toLowerCase();
    const manifest = this.readManifest(shiftId);
    const up = loadUploadState(this.ctx.dataDir, shiftId);
    if (!manifest || !up) return reject(`shift ${shiftId} has not been offloaded`);
    if (!up.completedAt || up.manifestSha256 !== manifest.sha256) return reject(`the upload of shift ${shiftId} is not complete`);
    if (given !== manifest.sha256) return reject(`manifest hash mismatch: the uploaded manifest of ${shiftId} is ${manifest.sha256}`);
    const receipt = loadReceipt(this.ctx.dataDir, shiftId) ?? { version: 1 as const, shiftId, manifestSha256: manifest.sha256 };
    if (receipt.deletedAt) return { accepted: true, reason: `already confirmed; local copy deleted at ${receipt.deletedAt}` };
    if (!receipt.confirmedAt) {
      receipt.confirmedAt = new Date().toISOString();
      receipt.confirmedVia = via;
      this.journal({ event: 'confirmed', shift: shiftId, manifest_sha256: manifest.sha256, via });
      saveReceipt(this.ctx.dataDir, receipt);
    }
    const e = this.entries.get(shiftId);
    if (e) e.state = 'confirmed';
    const del = this.deleteLocal(shiftId, receipt, manifest.m);
    return { accepted: true, reason: `receipt confirmed; ${del}` };
  }

  /** Deletes confirmed shifts whose deletion is still due (after a crash, or a legal hold lifted). */
  private deletePending(): void {
    for (const e of this.entries.values()) {
      if (e.state !== 'confirmed') continue;
      const receipt = loadReceipt(this.ctx.dataDir, e.shiftId);
      const manifest = this.readManifest(e.shiftId);
      if (!receipt?.confirmedAt || receipt.deletedAt || !manifest || receipt.manifestSha256 !== manifest.sha256) continue;
      if (getLegalHold(this.ctx.dataDir, e.shiftId)) continue;
      this.deleteLocal(e.shiftId, receipt, manifest.m);
    }
  }

  private readonly holdJournaled = new Set<string>();

  private deleteLocal(shiftId: string, receipt: Receipt, manifest: Manifest): string {
    const hold = getLegalHold(this.ctx.dataDir, shiftId);
    if (hold) {
      if (!this.holdJournaled.has(shiftId)) {
        this.holdJournaled.add(shiftId);
        this.journal({ event: 'delete_blocked', shift: shiftId, reason: 'legal_hold', hold_since: hold.since, hold_reference: hold.reference });
      }
      return `local copy kept: legal hold since ${hold.since}${hold.reference ? ` (${hold.reference})` : ''}`;
    }
    const dir = this.ctx.shiftDir(shiftId);
    // Only what was uploaded is deleted, and only when it still has the uploaded size: a file that
    // is not in the manifest (or changed) is not what central holds, so it stays.
    const victims = manifest.files.filter((f) => {
      try {
        return statSync(join(dir, f.name)).size === f.bytes;
      } catch {
        return false;
      }
    });
    const bytes = victims.reduce((a, f) => a + f.bytes, 0);
    // Journal first (a record the agent acts on is on disk before the act).
    this.journal({ event: 'deleted', shift: shiftId, manifest_sha256: receipt.manifestSha256, files: victims.length, bytes });
    for (const f of victims) {
      try {
        unlinkSync(join(dir, f.name));
      } catch (e) {
        this.log.warn('cannot delete an offloaded file', { shift: shiftId, file: f.name, err: e });
      }
    }
    let kept: string[] = [];
    try {
      kept = readdirSync(dir);
      if (kept.length === 0) rmdirSync(dir);
      fsyncDir(join(this.ctx.dataDir, 'shifts'));
    } catch (e) {
      this.log.warn('cannot tidy the shift directory', { shift: shiftId, err: e });
    }
    receipt.deletedAt = new Date().toISOString();
    receipt.deletedFiles = victims.length;
    receipt.deletedBytes = bytes;
    saveReceipt(this.ctx.dataDir, receipt);
    this.entries.delete(shiftId);
    this.log.info('offloaded shift deleted locally', { shift: shiftId, files: victims.length, bytes, kept: kept.length });
    return `local copy deleted (${victims.length} files, ${bytes} bytes${kept.length ? `; ${kept.length} file(s) not in the manifest kept` : ''})`;
  }

  // ------------------------------------------------------------------ status and control

  status(): OffloadStatus {
    const r = this.run;
    const entries = [...this.entries.values()].sort((a, b) => (a.shiftId < b.shiftId ? -1 : 1));
    const pending = entries.filter((e) => e.state === 'pending' || e.state === 'uploading');
    return {
      active: r !== undefined && !r.done,
      state: r && !r.done ? (r.retrying ? 'retrying' : 'uploading') : pending.length ? 'waiting' : 'idle',
      reason: r ? null : this.waitReason,
      docked: this.ctx.hal.dock ? this.ctx.hal.dock.docked() : null,
      approvedNetwork: this.netOk,
      current: r && !r.done ? { ...(r.progress ?? emptyProgress(r.entry)), manifestSha256: r.manifestSha256 } : null,
      queue: entries.map((e) => ({ shiftId: e.shiftId, state: e.state, bytes: e.bytes, manifestSha256: e.manifestSha256 ?? null, error: e.error ?? null })),
      pendingBytes: pending.reduce((a, e) => a + e.bytes, 0) - (r && r.kind === 'shift' && !r.done && r.progress ? r.progress.bytesDone : 0),
      pendingShifts: pending.length,
      awaitingBytes: entries.filter((e) => e.state !== 'confirmed').reduce((a, e) => a + e.bytes, 0),
      awaitingShifts: entries.filter((e) => e.state !== 'confirmed').length,
      awaitingConfirmation: entries.filter((e) => e.state === 'uploaded').map((e) => e.shiftId),
      lastError: this.lastError,
      workerPid: r?.child.pid ?? null,
      deviceJournal: {
        uploadedThroughSeq: this.lastSnapshot?.lastSeq ?? null,
        lastKey: this.lastSnapshot?.key ?? null,
        lastSha256: this.lastSnapshot?.sha256 ?? null,
        due: this.deviceJournalWanted !== undefined || r?.kind === 'device-journal',
      },
    };
  }

  /**
   * `{"op":"offload"}` → status; `{"op":"offload","now":true,"shift"?:ID}` → requestOffload;
   * `{"op":"offload","confirm":{"shiftId","manifestSha256"}}` → confirmReceipt, on boards with
   * virtual buttons only (tests, demo): on a real camera only central's signed command confirms.
   */
  private async controlOp(req: Record<string, unknown>): Promise<unknown> {
    const shift = req.shift;
    if (shift !== undefined && typeof shift !== 'string') throw new BodycamError('USAGE', '"shift" must be a shift id');
    if (req.confirm !== undefined) {
      if (!this.ctx.hal.buttons.virtual) throw new BodycamError('USAGE', `board '${this.ctx.board.name}' confirms offloads only through central's signed command`);
      const c = req.confirm as { shiftId?: unknown; manifestSha256?: unknown };
      if (typeof c !== 'object' || c === null || typeof c.shiftId !== 'string' || typeof c.manifestSha256 !== 'string') {
        throw new BodycamError('USAGE', '"confirm" needs {"shiftId": ID, "manifestSha256": HEX}');
      }
      return { confirm: this.confirmReceipt(c.shiftId, c.manifestSha256, 'control-socket'), offload: this.status() };
    }
    if (req.now === true || shift !== undefined) this.requestOffload(shift as string | undefined);
    return { offload: this.status() };
  }
}

type WorkerMessage =
  | { type: 'manifest'; sha256: string; bytesTotal: number; files: number; resumed: boolean }
  | { type: 'progress'; progress: UploadProgress }
  | { type: 'part'; part: unknown }
  | { type: 'retry'; error: string; attempt: number; delayMs: number }
  | { type: 'done'; result: { shiftId: string; manifestSha256: string; objects: number; bytes: number; stats: { partsSent: number; partsReused: number } } }
  | { type: 'snapshot'; snapshot: DeviceJournalSnapshot | null }
  | { type: 'error'; message: string; fatal: boolean; aborted: boolean };

function emptyProgress(e: QueueEntry): UploadProgress {
  return { shiftId: e.shiftId, bytesDone: 0, bytesTotal: e.bytes, filesDone: 0, filesTotal: 0, bytesSent: 0, rateBps: 0, etaS: null, file: null };
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) if (f.isFile()) n += statSync(join(dir, f.name)).size;
  return n;
}

/** Extension factory (agent/extensions.ts): off when the config has no `offload` section. */
export function offloadExtension(config: AgentConfig): Extension | undefined {
  const cfg = sectionOf<OffloadConfig | undefined>(config, OFFLOAD_SECTION);
  return cfg ? new OffloadExtension(cfg) : undefined;
}
