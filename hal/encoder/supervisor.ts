/**
 * Keeps one recording ffmpeg alive while recording is wanted. Health is fresh, valid output — the
 * sealer calls `noteHealthy()` for every segment that probed valid — not the process being alive:
 * an ffmpeg that runs but writes nothing is killed after `stallMs` and restarted. Restarts are
 * paced by the shared backoff (a camera that is gone must not be hammered), and the stderr tail
 * of every unexpected exit is logged.
 */
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import { Backoff, type BackoffOptions } from '../../agent/lib/backoff.js';
import type { Logger } from '../../agent/lib/log.js';
import { FfmpegProcess, DIES_WITH_AGENT, type ExitInfo, type Progress, type SegmentClosed } from './process.js';
import { EncoderParking, type ArgvFor, type RunPlan } from './parking.js';
import { PROGRESS_FD } from './args.js';
import { evidenceClock } from '../../agent/lib/evidence-clock.js';

/** Why a run starts: the gap before its first frame is journaled with the matching cause. */
export type RunReason = 'start' | 'resume' | 'restart_crash' | 'restart_stall' | 'reconfigure' | 'recover' | 'retry' | 'space_returned';

export interface RunInfo {
  readonly run: number;
  readonly reason: RunReason;
  readonly startedWall: number;
  readonly startedMono: number;
  readonly pid: number | undefined;
}

export interface SupervisorEvents extends Record<string, unknown[]> {
  runStarted: [RunInfo];
  firstFrame: [RunInfo, Progress];
  segment: [RunInfo, SegmentClosed];
  progress: [RunInfo, Progress];
  analysis: [RunInfo, 'video' | 'audio', Buffer];
  runEnded: [RunInfo, ExitInfo, { unexpected: boolean; stalled: boolean }];
  /** A run could not even be prepared or spawned; another attempt follows after `retryInMs`. */
  runFailed: [reason: RunReason, err: unknown, retryInMs: number];
}

export interface SupervisorOptions {
  /** Plans the next run: its segment directory and argv (the caller picks start number, quality…). */
  prepareRun(reason: RunReason): Promise<RunPlan>;
  /**
   * Keep a run parked ahead of the next start or resume (hal/encoder/parking.ts). Only where
   * ffmpeg dies with the agent (setpriv): otherwise this is ignored.
   */
  park?: boolean;
  stallMs: number;
  backoff: BackoffOptions;
  log: Logger;
  binary?: string;
  /** Scrubs secrets (a network camera's credentials, which ffmpeg echoes) from logged stderr. */
  redact?: (text: string) => string;
}

export class EncoderSupervisor extends TypedEmitter<SupervisorEvents> {
  private proc: FfmpegProcess | undefined;
  private current: RunInfo | undefined;
  private wanted = false;
  private runNo = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stalled = false;
  private restarts = 0;
  private readonly backoff: Backoff;
  private starting: Promise<void> | undefined;
  private readonly parking: EncoderParking | undefined;

  constructor(private readonly o: SupervisorOptions) {
    super();
    this.backoff = new Backoff(o.backoff);
    if (o.park && DIES_WITH_AGENT) this.parking = new EncoderParking({ log: o.log.child('parking'), ...(o.binary ? { binary: o.binary } : {}) });
  }

  /**
   * While no recording is wanted, parks a run of `argv` for the next start or resume (replacing
   * one parked for other settings). A no-op without parking or while recording is wanted.
   */
  async parkNext(argv: ArgvFor): Promise<void> {
    if (this.wanted || this.starting || !this.parking) return;
    await this.parking.park(argv);
    // Recording began while the run was being parked: it would only wait, for a stale guess.
    if (this.wanted) this.parking.discard();
  }

  /** The parked run's pid (status, tests). */
  get parkedPid(): number | undefined {
    return this.parking?.pid;
  }

  /** Ends a parked run for good (the agent stops). */
  disposeParking(): void {
    this.parking?.dispose();
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }
  get pid(): number | undefined {
    return this.proc?.running ? this.proc.pid : undefined;
  }
  get restartCount(): number {
    return this.restarts;
  }
  /** Recording is wanted (between start() and stop()), whether or not a process runs right now. */
  get isWanted(): boolean {
    return this.wanted;
  }
  /** Restarts are counted per shift: the owner resets the count when a shift opens. */
  resetRestartCount(): void {
    this.restarts = 0;
  }
  get runInfo(): RunInfo | undefined {
    return this.current;
  }
  /** Continue run numbering after an agent restart. */
  set lastRun(n: number) {
    this.runNo = n;
  }

  /** Starts recording (idempotent while wanted). */
  async start(reason: RunReason): Promise<void> {
    this.wanted = true;
    if (this.proc?.running || this.starting) return;
    // A paced retry is pending: the caller knows the cause is gone (space returned), try now.
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.spawnRun(reason);
  }

  /**
   * Prepares and spawns one run. A failure to prepare (no shift, storage below its floor, stage
   * dir gone…) never throws to the caller and is never only logged: while recording is wanted the
   * next attempt is paced through the shared backoff, and `runFailed` lets the owner raise a fault.
   */
  private async spawnRun(reason: RunReason): Promise<void> {
    const p = (async () => {
      let plan: RunPlan;
      try {
        plan = await this.o.prepareRun(reason);
      } catch (err) {
        if (!this.wanted) return;
        const delay = this.backoff.next();
        this.o.log.error('encoder run could not be prepared', { reason, err, retryInMs: delay });
        this.scheduleRestart(delay, 'retry');
        this.emit('runFailed', reason, err, delay);
        return;
      }
      if (!this.wanted) return;
      // A run parked for exactly this plan goes on from where it waits; else a cold spawn.
      const parked = this.parking?.take(plan);
      const proc = parked ?? new FfmpegProcess(plan.argv(plan.outDir, `pipe:${PROGRESS_FD}`), this.o.binary);
      this.o.log.debug('encoder argv', { reason, argv: proc.argv.map((a) => this.o.redact?.(a) ?? a) });
      const info: RunInfo = { run: ++this.runNo, reason, startedWall: evidenceClock.now(), startedMono: performance.now(), pid: undefined };
      this.proc = proc;
      this.stalled = false;
      proc.on('firstFrame', (pr) => this.emit('firstFrame', this.current!, pr));
      proc.on('progress', (pr) => this.emit('progress', this.current!, pr));
      proc.on('segment', (s) => this.emit('segment', this.current!, s));
      proc.on('analysis', (k, c) => this.emit('analysis', this.current!, k, c));
      proc.on('exit', (e) => this.onExit(proc, e));
      if (!parked) proc.start();
      this.current = { ...info, pid: proc.pid };
      this.armStall();
      this.o.log.info('encoder run started', { run: info.run, reason, pid: proc.pid, parked: parked !== undefined });
      this.emit('runStarted', this.current);
    })();
    this.starting = p;
    try {
      await p;
    } finally {
      this.starting = undefined;
    }
  }

  private scheduleRestart(delay: number, reason: RunReason): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.wanted && !this.proc?.running) this.spawnRun(reason).catch((err: unknown) => this.o.log.error('encoder restart failed', { err }));
    }, delay);
  }

  private onExit(proc: FfmpegProcess, e: ExitInfo): void {
    if (proc !== this.proc) return;
    this.disarmStall();
    const unexpected = this.wanted && (!e.requested || this.stalled);
    const info = this.current!;
    if (unexpected) {
      this.o.log.error('encoder exited unexpectedly', { run: info.run, code: e.code, signal: e.signal, stalled: this.stalled, stderrTail: e.stderrTail.slice(-10).map((l) => this.o.redact?.(l) ?? l) });
    } else {
      this.o.log.info('encoder run ended', { run: info.run, code: e.code, signal: e.signal });
    }
    const stalled = this.stalled;
    this.emit('runEnded', info, e, { unexpected, stalled });
    if (unexpected) {
      this.restarts++;
      this.scheduleRestart(this.backoff.next(), stalled ? 'restart_stall' : 'restart_crash');
    }
  }

  /** Fresh valid output seen: the encoder is healthy. */
  noteHealthy(): void {
    this.backoff.reset();
    this.armStall();
  }

  private armStall(): void {
    this.disarmStall();
    this.stallTimer = setTimeout(() => {
      if (!this.proc?.running) return;
      this.stalled = true;
      this.o.log.warn('encoder stalled: no fresh segment', { stallMs: this.o.stallMs, run: this.current?.run });
      void this.proc.kill();
    }, this.o.stallMs);
  }

  private disarmStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  /** Stops recording: the open segment is finalized (SIGINT), then the process is gone. */
  async stop(): Promise<ExitInfo | undefined> {
    this.wanted = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.starting) await this.starting.catch(() => undefined);
    this.disarmStall();
    if (!this.proc?.running) return undefined;
    return this.proc.stop();
  }

  /** Gracefully ends the current run and starts the next (new quality settings). */
  async reconfigure(): Promise<void> {
    if (!this.wanted) return;
    await this.stop();
    await this.start('reconfigure');
  }
}
