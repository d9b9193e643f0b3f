/**
 * One ffmpeg process of the recording pipeline: spawns it with the segment list on fd 3 and
 * progress on fd 4, parses both, hands the raw obstruction-analysis bytes of fds 5 and 6 on
 * (always read, even unobserved: a full pipe would block ffmpeg and stall the recording), keeps the stderr tail for the crash log, and stops it the way
 * ffmpeg finalizes a segment: SIGINT, a timeout, then SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsc, existsSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { encoderBinary } from './binary.js';
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import { SEGMENT_LIST_FD, PROGRESS_FD, ANALYSIS_VIDEO_FD, ANALYSIS_AUDIO_FD } from './args.js';
import { evidenceClock } from '../../agent/lib/evidence-clock.js';
import { createInterface } from 'node:readline';

export interface SegmentClosed {
  /** File name as ffmpeg listed it (no directory). */
  readonly file: string;
  /** Media seconds of this run's timeline. */
  readonly mediaStart: number;
  readonly mediaEnd: number;
  /** Wall-clock ms when ffmpeg reported it closed. */
  readonly closedAtWall: number;
}

export interface Progress {
  readonly frame: number;
  readonly fps: number;
  readonly dropFrames: number;
  readonly dupFrames: number;
  /** Media seconds encoded so far. */
  readonly outTimeS: number;
  readonly atWall: number;
  readonly atMono: number;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when we asked it to stop. */
  readonly requested: boolean;
  readonly stderrTail: readonly string[];
}

export interface FfmpegEvents extends Record<string, unknown[]> {
  segment: [SegmentClosed];
  firstFrame: [Progress];
  progress: [Progress];
  /** Raw bytes of an analysis side output (gray frames or s16 audio), in arrival order. */
  analysis: [stream: 'video' | 'audio', chunk: Buffer];
  exit: [ExitInfo];
}

const STDERR_TAIL_LINES = 30;

/**
 * ffmpeg ignores SIGPIPE and write errors on its progress pipe, so it would outlive a SIGKILLed
 * agent and keep writing into the shift. util-linux `setpriv --pdeathsig SIGKILL` makes the kernel
 * kill it when the agent dies (measured: an orphan ran on for > 5 s without it). Images without
 * setpriv fall back to the pidfile sweep at the next agent start.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** True when a spawned ffmpeg dies with the agent (see SETPRIV): required to park one ahead. */
export const DIES_WITH_AGENT = SETPRIV !== undefined;

/** After ffmpeg exits, how long its progress FIFO may take to yield its last lines. */
const FIFO_DRAIN_MS = 1000;

/** Calls `fn` for each complete, non-empty line of a stream (node's readline: CR LF or LF). */
function onLines(stream: Readable, fn: (line: string) => void): void {
  // A read error on a pipe after the child died is not news: the exit event says what happened.
  stream.on('error', () => undefined);
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    if (line) fn(line);
  });
}

export class FfmpegProcess extends TypedEmitter<FfmpegEvents> {
  private child: ChildProcess | undefined;
  private stopRequested = false;
  private readonly tail: string[] = [];
  private sawFirstFrame = false;
  private exitInfo: ExitInfo | undefined;
  private exited: Promise<ExitInfo> | undefined;

  private readonly progress: Record<string, string> = {};
  private fifo: { socket: Socket; closed: Promise<void>; writeFd: number | undefined } | undefined;

  /**
   * `progressFifo`: the argv sends its progress report to this FIFO instead of fd 4 (a parked
   * run): ffmpeg blocks opening it, after loading its libraries and before opening any input,
   * until `release()` opens it.
   */
  constructor(
    readonly argv: readonly string[],
    private readonly binary = encoderBinary(),
    private readonly opts: { readonly progressFifo?: string } = {},
  ) {
    super();
  }


  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  start(): void {
    if (this.child) throw new Error('ffmpeg process already started');
    const [cmd, args] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', this.binary, ...this.argv]] : [this.binary, [...this.argv]];
    const parked = this.opts.progressFifo !== undefined;
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', parked ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        // spawn failure (ffmpeg missing): report as an exit so the supervisor paces retries.
        this.pushTail(`spawn error: ${err.message}`);
        if (!this.exitInfo) this.finish(resolve, null, null);
      });
      child.on('close', (code, signal) => {
        // Like fd 4 before 'close', a released FIFO's last lines are read before the exit is told.
        const f = this.fifo;
        if (!f) return this.finish(resolve, code, signal);
        this.closeWriteEnd();
        let timer: NodeJS.Timeout | undefined;
        const drained = new Promise<void>((r) => (timer = setTimeout(r, FIFO_DRAIN_MS)));
        void Promise.race([f.closed, drained]).then(() => {
          clearTimeout(timer);
          f.socket.destroy();
          this.finish(resolve, code, signal);
        });
      });
    });
    onLines(child.stderr!, (l) => this.pushTail(l));
    for (const [fd, stream] of [[ANALYSIS_VIDEO_FD, 'video'], [ANALYSIS_AUDIO_FD, 'audio']] as const) {
      const r = (child.stdio as unknown as Readable[])[fd]!;
      r.on('data', (chunk: Buffer) => this.emit('analysis', stream, chunk));
      r.on('error', () => undefined);
    }
    onLines(child.stdio[SEGMENT_LIST_FD] as Readable, (line) => {
      // CSV: name,start,end (names never contain commas: we choose them).
      const [file, s, e] = line.split(',');
      const mediaStart = Number(s);
      const mediaEnd = Number(e);
      if (!file || !Number.isFinite(mediaStart) || !Number.isFinite(mediaEnd)) {
        this.pushTail(`unparsable segment list line: ${line}`);
        return;
      }
      this.emit('segment', { file, mediaStart, mediaEnd, closedAtWall: evidenceClock.now() });
    });
    if (!parked) onLines(child.stdio[PROGRESS_FD] as Readable, (line) => this.progressLine(line));
  }

  /**
   * Lets a parked run go on: opens its progress FIFO, which completes ffmpeg's blocked open (it
   * then opens its inputs and records). Our own write end keeps the FIFO from reading as ended
   * should ffmpeg not have reached its open yet; it is closed at the first line, so ffmpeg's exit
   * ends the stream.
   */
  release(): void {
    const path = this.opts.progressFifo;
    if (path === undefined || this.fifo || !this.child) return;
    const readFd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
    const writeFd = openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK);
    const socket = new Socket({ fd: readFd, readable: true, writable: false });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    this.fifo = { socket, closed, writeFd };
    socket.once('data', () => this.closeWriteEnd());
    onLines(socket, (line) => this.progressLine(line));
    if (this.exitInfo) this.closeWriteEnd();
  }

  private closeWriteEnd(): void {
    const f = this.fifo;
    if (f?.writeFd === undefined) return;
    closeSync(f.writeFd);
    f.writeFd = undefined;
  }

  private progressLine(line: string): void {
    const progress = this.progress;
    const eq = line.indexOf('=');
    if (eq < 0) return;
    const k = line.slice(0, eq);
    progress[k] = line.slice(eq + 1).trim();
    if (k !== 'progress') return;
    const p: Progress = {
      frame: Number(progress.frame ?? 0),
      fps: Number(progress.fps ?? 0),
      dropFrames: Number(progress.drop_frames ?? 0),
      dupFrames: Number(progress.dup_frames ?? 0),
      outTimeS: Number(progress.out_time_us ?? progress.out_time_ms ?? 0) / 1e6,
      atWall: evidenceClock.now(),
      atMono: performance.now(),
    };
    if (!this.sawFirstFrame && p.frame > 0) {
      this.sawFirstFrame = true;
      this.emit('firstFrame', p);
    }
    this.emit('progress', p);
  }

  private pushTail(line: string): void {
    this.tail.push(line);
    if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
  }

  private finish(resolve: (e: ExitInfo) => void, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exitInfo) return;
    this.exitInfo = { code, signal, requested: this.stopRequested, stderrTail: [...this.tail] };
    resolve(this.exitInfo);
    this.emit('exit', this.exitInfo);
  }

  /** Graceful stop: SIGINT makes ffmpeg close the open segment cleanly (exit 255). */
  async stop(timeoutMs = 4000): Promise<ExitInfo> {
    if (!this.child || !this.exited) throw new Error('ffmpeg process not started');
    if (this.exitInfo) return this.exitInfo;
    this.stopRequested = true;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Immediate kill (stalled encoder). */
  async kill(): Promise<ExitInfo> {
    if (!this.child || !this.exited) throw new Error('ffmpeg process not started');
    if (this.exitInfo) return this.exitInfo;
    this.stopRequested = true;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  wait(): Promise<ExitInfo> {
    if (!this.exited) throw new Error('ffmpeg process not started');
    return this.exited;
  }
}
