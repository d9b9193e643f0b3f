/**
 * Live offload (docs/live-offload.md): while a shift records and an approved network is up (or
 * the camera is docked), each sealed segment and the journal up to its latest signature go to
 * the store, so a seized, smashed or lost camera loses at most the last few minutes.
 *
 * What goes when: the journal's records (bus `record`) say what is sealed; a batch starts when a
 * new signature exists (a chunk to cut) or a sealed segment has waited a quarter
 * of `liveOffloadLagS`. A batch is one run of the upload worker (live-job.ts), forked at the offload
 * niceness in the idle I/O class like the end-of-shift worker (run.ts): the recording, buttons and
 * the journal never wait on it; nothing here reads or hashes a file on the agent's event loop.
 * After a link loss the worker's retries resume the batch, oldest first; the next batch takes
 * what was sealed meanwhile.
 *
 * It waits (and says why in status) when policy turns it off, no approved network or dock is
 * there, the battery is below `liveOffloadMinBatteryPct` (not charging), or recording is under
 * pressure (thermal or storage degrade, overheating, storage or journal faults). A run under way
 * when a condition goes is asked to stop; what it stored stays stored (its marks are durable).
 * Bandwidth: the lower of `liveOffloadMaxKbps` and `offloadBandwidthKbps` (0 = no cap).
 *
 * The end-of-shift offload of this shift waits while a live batch of it runs (`holds`), then
 * takes over what the batch stored (uploader.ts `adopt`).
 *
 * Journal (`offload` records into the recording shift's journal, sparingly: every record is one
 * more line the next checkpoint signs): `live_started` once per shift and agent run when its first
 * batch starts, `live_paused` / `live_resumed` when a condition goes / comes back while the shift
 * records (transitions only, not per batch or per object), `live_failed` when the evidence on disk
 * cannot be uploaded as it is (fatal). Per object nothing: the bucket and the end-of-shift
 * `uploaded` record (`live_objects`) say what went live.
 */
import type { AgentContext } from '../extension.js';
import type { WrittenRecord } from '../evidence/journal.js';
import { Backoff } from '../lib/backoff.js';
import { describe } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { OffloadConfig } from './config.js';
import { approvedNetworkPresent } from './network.js';
import { liveJobMessage, WorkerRun } from './run.js';
import type { LivePlanItem } from './live-job.js';
import type { LiveOffloadStatus, OffloadJournal } from './types.js';
import type { FromWorker } from './worker.js';

/** What live offload needs of the agent. */
export type LiveHost = Pick<AgentContext, 'dataDir' | 'deviceId' | 'shiftDir' | 'policy' | 'hal' | 'status' | 'bus'>;

interface Pending {
  readonly kind: 'segment' | 'chunk';
  readonly bytes: number;
  /** When it was sealed (ms): its record's arrival, or its media end when learnt from the worker. */
  readonly sealedAt: number;
  /** Media start/end (ms) of a segment, for `uploadedThrough`. */
  readonly startMs: number | null;
  readonly endMs: number | null;
}

/** Faults under which recording needs every cycle and every write. */
const PRESSURE_FAULTS = ['overheating', 'storage_full', 'storage_low', 'journal_write', 'battery_critical'];

export class LiveOffload {
  private shiftId: string | null = null;
  /** The shift ended: no new batch for it. */
  private closing = false;
  private run: WorkerRun | undefined;
  private readonly pending = new Map<string, Pending>();
  private newSignature = false;
  private uploadedThroughMs: number | null = null;
  private journalThrough: { line: number; at: string | null } | null = null;
  private lastLagS: number | null = null;
  private waitReason: string | null = null;
  private lastError: string | null = null;
  /** `live_started` journaled for this shift (per agent run). */
  private started = false;
  /** A condition took live offload away while the shift recorded (for `live_resumed`). */
  private paused: string | null = null;
  private retryTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly backoff: Backoff;

  constructor(
    private readonly cfg: OffloadConfig,
    private readonly host: LiveHost,
    private readonly journal: OffloadJournal,
    private readonly log: Logger,
    private readonly workerPath: string,
    /** A live run ended: the end-of-shift offload may be waiting for it. */
    private readonly onIdle: () => void,
  ) {
    this.backoff = new Backoff({ initialMs: cfg.retryInitialMs, maxMs: cfg.retryMaxMs });
  }

  start(): void {
    const st = this.host.status();
    // Restarted mid-shift: follow it; the first batch learns from disk what is still to send.
    if (st.shiftId && st.state !== 'OFF_DUTY') this.follow(st.shiftId);
    this.host.bus.on('record', (shiftId, rec) => this.onRecord(shiftId, rec));
    this.pollTimer = setInterval(() => this.pump(), Math.min(5, this.cfg.networkPollS) * 1000);
    this.pollTimer.unref();
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.run?.stop();
  }

  /** A recording shift is (or was last) followed: status has something to say. */
  get following(): boolean {
    return this.shiftId !== null;
  }

  /** A live batch of this shift is running: its end-of-shift offload must wait (one writer per key). */
  holds(shiftId: string): boolean {
    return this.run !== undefined && this.run.entry.shiftId === shiftId;
  }

  /** The policy changed: a running batch follows the bandwidth cap at once. */
  policyChanged(): void {
    this.run?.send({ type: 'bandwidth', kbps: this.bandwidthKbps() });
    this.pump();
  }

  status(now = Date.now()): LiveOffloadStatus {
    const p = this.host.policy();
    const r = this.run;
    let oldest: number | null = null;
    let segs = 0;
    let bytes = 0;
    for (const x of this.pending.values()) {
      if (x.kind !== 'segment') continue;
      segs++;
      bytes += x.bytes;
      if (oldest === null || x.sealedAt < oldest) oldest = x.sealedAt;
    }
    return {
      enabled: p.liveOffload === 1,
      state: p.liveOffload !== 1 ? 'off' : r ? (r.retrying ? 'retrying' : 'uploading') : this.waitReason ? 'waiting' : 'idle',
      reason: this.waitReason ?? this.lastError,
      shiftId: this.shiftId,
      lagS: oldest === null ? 0 : Math.max(0, Math.round((now - oldest) / 1000)),
      lagTargetS: p.liveOffloadLagS,
      backlogSegments: segs,
      backlogBytes: bytes,
      uploadedThrough: this.uploadedThrough(),
      journalUploadedThroughLine: this.journalThrough?.line ?? null,
      journalUploadedThrough: this.journalThrough?.at ?? null,
      lastLagS: this.lastLagS,
      workerPid: r?.child.pid ?? null,
    };
  }

  /** Every segment that ended by then is stored: just before the oldest waiting segment, else the newest stored end. */
  private uploadedThrough(): string | null {
    let oldestStart: number | null = null;
    for (const x of this.pending.values()) {
      if (x.kind === 'segment' && x.startMs !== null && (oldestStart === null || x.startMs < oldestStart)) oldestStart = x.startMs;
    }
    const t = oldestStart !== null ? (this.uploadedThroughMs === null ? null : Math.min(this.uploadedThroughMs, oldestStart)) : this.uploadedThroughMs;
    return t === null ? null : new Date(t).toISOString();
  }

  private follow(shiftId: string): void {
    if (this.shiftId === shiftId) return;
    this.shiftId = shiftId;
    this.closing = false;
    this.pending.clear();
    this.newSignature = true;
    this.uploadedThroughMs = null;
    this.journalThrough = null;
    this.lastLagS = null;
    this.started = false;
    this.paused = null;
    this.lastError = null;
    this.backoff.reset();
  }

  private onRecord(shiftId: string | null, w: WrittenRecord): void {
    if (shiftId === null) return;
    const r = w.record;
    if (r.type === 'shift_start') this.follow(shiftId);
    if (shiftId !== this.shiftId) return;
    if (r.type === 'segment' && typeof r.file === 'string') {
      const start = typeof r.start === 'string' ? Date.parse(r.start) : NaN;
      const end = typeof r.end === 'string' ? Date.parse(r.end) : NaN;
      this.pending.set(r.file, {
        kind: 'segment', bytes: typeof r.bytes === 'number' ? r.bytes : 0, sealedAt: Date.now(),
        startMs: Number.isFinite(start) ? start : null, endMs: Number.isFinite(end) ? end : null,
      });
    } else if (r.type === 'signature') {
      this.newSignature = true;
    } else if (r.type === 'shift_end') {
      this.closing = true;
    }
    if (r.type === 'segment' || r.type === 'signature') this.pump();
  }

  private bandwidthKbps(): number {
    const p = this.host.policy();
    const caps = [p.liveOffloadMaxKbps, p.offloadBandwidthKbps].filter((k) => k > 0);
    return caps.length ? Math.min(...caps) : 0;
  }

  /** Why live upload may not run now, or null. */
  private blocked(): string | null {
    const p = this.host.policy();
    if (p.liveOffload !== 1) return 'off by policy (liveOffload 0)';
    const docked = this.host.hal.dock?.docked() ?? false;
    if (!docked && !approvedNetworkPresent(this.cfg.approvedNetworks)) return this.cfg.approvedNetworks.length ? 'not docked and no approved network' : 'not docked';
    const st = this.host.status();
    if (st.battery && !st.battery.charging && st.battery.percent < p.liveOffloadMinBatteryPct) return `battery ${st.battery.percent}% below liveOffloadMinBatteryPct ${p.liveOffloadMinBatteryPct}%`;
    if (st.degradeLevel > 0) return `recording degraded (level ${st.degradeLevel}): recording first`;
    const f = PRESSURE_FAULTS.find((n) => st.faults[n] !== undefined);
    if (f) return `fault ${f}: recording first`;
    return null;
  }

  /** Runs on records and timers: whatever goes wrong here must not reach the daemon. */
  pump(): void {
    try {
      this.pumpUnsafe();
    } catch (e) {
      this.lastError = describe(e);
      this.log.error('live offload scheduling failed', { err: e });
    }
  }

  private pumpUnsafe(): void {
    if (this.stopping || this.shiftId === null) return;
    const why = this.closing ? null : this.blocked();
    if (why !== null) {
      if (this.waitReason !== why) this.log.info('live offload waits', { shift: this.shiftId, reason: why });
      if (this.paused === null && this.started) {
        this.paused = why;
        this.journal({ event: 'live_paused', shift: this.shiftId, reason: why, backlog_segments: this.status().backlogSegments });
      }
      this.waitReason = why;
      if (this.run && !this.run.done) this.run.send({ type: 'stop' });
      return;
    }
    this.waitReason = null;
    if (this.run || this.retryTimer || this.closing) return;
    if (this.paused !== null) {
      const s = this.status();
      this.journal({ event: 'live_resumed', shift: this.shiftId, after: this.paused, backlog_segments: s.backlogSegments, backlog_bytes: s.backlogBytes });
      this.paused = null;
    }
    if (!this.due()) return;
    this.startRun(this.shiftId);
  }

  /**
   * A chunk to cut, or a segment that waited a quarter of the target lag (or anything after a
   * restart). A quarter: a batch costs a worker start (~0.3 CPU-s), and on a loaded 2-core box
   * the worker at nice 19 may need seconds to start and finish — with half, the measured p99 lag
   * was above 60 s at the default 120 s target (docs/benchmarks.md, "Live offload").
   */
  private due(): boolean {
    if (this.newSignature) return true;
    const wait = (this.host.policy().liveOffloadLagS * 1000) / 4;
    const now = Date.now();
    for (const x of this.pending.values()) if (now - x.sealedAt >= wait) return true;
    return false;
  }

  private startRun(shiftId: string): void {
    this.newSignature = false;
    const entry = { shiftId, state: 'uploading' as const, bytes: 0, forced: false };
    const msg = liveJobMessage(shiftId, this.cfg, this.host, this.bandwidthKbps());
    const run: WorkerRun = WorkerRun.fork(this.workerPath, this.cfg.nice, 'live', entry, this.log, {
      message: (m) => this.onWorker(run, m),
      error: (e) => {
        this.lastError = `live upload worker: ${describe(e)}`;
        this.log.error('live upload worker error', { err: e });
        if (run.child.pid === undefined && this.run === run) this.onExit(run);
      },
      exit: (code, signal) => {
        if (!run.done) this.log.warn('live upload worker ended before finishing', { shift: shiftId, code, signal });
        this.onExit(run);
      },
    });
    this.run = run;
    if (!this.started) {
      this.started = true;
      const p = this.host.policy();
      this.journal({ event: 'live_started', shift: shiftId, lag_target_s: p.liveOffloadLagS, checkpoint_s: p.checkpointS, bandwidth_kbps: this.bandwidthKbps() });
    }
    run.begin(msg);
  }

  private onWorker(run: WorkerRun, m: FromWorker): void {
    if (run.entry.shiftId !== this.shiftId) return;
    switch (m.type) {
      case 'live-plan':
        for (const it of m.items) this.learn(it);
        break;
      case 'live-stored': {
        const x = this.pending.get(m.name);
        this.pending.delete(m.name);
        if (x?.kind === 'segment') {
          this.lastLagS = Math.max(0, Math.round((Date.now() - x.sealedAt) / 100) / 10);
          if (x.endMs !== null && (this.uploadedThroughMs === null || x.endMs > this.uploadedThroughMs)) this.uploadedThroughMs = x.endMs;
        }
        break;
      }
      case 'live-done':
        run.done = true;
        this.lastError = null;
        this.backoff.reset();
        if (m.report.journalThroughLine !== null) this.journalThrough = { line: m.report.journalThroughLine, at: m.report.journalSignedAt };
        this.log.info('live batch uploaded', { ...m.report, backlogSegments: this.status().backlogSegments });
        break;
      case 'retry':
        this.lastError = m.error;
        break;
      case 'error':
        if (m.aborted) break;
        this.lastError = m.message;
        if (m.fatal) {
          // The evidence on disk is not what its journal says: retrying cannot fix that; the
          // end-of-shift offload reports it for good (with the manifest).
          run.done = true;
          this.closing = true;
          this.journal({ event: 'live_failed', shift: run.entry.shiftId, error: m.message });
        }
        break;
    }
  }

  /** An object the worker will upload that this agent run did not see sealed (it restarted). */
  private learn(it: LivePlanItem): void {
    if (this.pending.has(it.name)) return;
    this.pending.set(it.name, {
      kind: it.kind, bytes: it.bytes, sealedAt: it.endMs ?? Date.now(), startMs: it.endMs, endMs: it.endMs,
    });
  }

  private onExit(run: WorkerRun): void {
    if (this.run === run) this.run = undefined;
    if (!this.stopping && !run.done && this.waitReason === null) {
      // Crashed or stopped before finishing: again after a paced delay (its marks are on disk).
      const d = this.backoff.next();
      this.log.info('live upload again after a pause', { shift: run.entry.shiftId, delayMs: d });
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, d);
      this.retryTimer.unref();
    }
    this.onIdle();
    // What was sealed while the batch ran goes with the next trigger (a signature, or a quarter of the
    // target lag): not at once, which would fork a worker per segment.
    this.pump();
  }
}
