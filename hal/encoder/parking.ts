/**
 * One recording ffmpeg started ahead of the next start or resume and parked before it opens
 * anything. Debian's ffmpeg loads 216 shared libraries: `ffmpeg -version` alone takes 0.14 s of
 * the ~0.21 s from spawn to its first frame (docs/benchmarks.md, issue 27), and a wearer who
 * starts or resumes recording waits for all of it. A parked run has paid that already.
 *
 * How it waits: its progress report goes to a FIFO, and ffmpeg opens `-progress` while parsing
 * its global options — after loading its libraries, before opening any input or output — so it
 * blocks there (wchan `wait_for_partner`): no camera, microphone or file is held, nothing is
 * written. The agent lets it go on by opening the FIFO (`FfmpegProcess.release`).
 *
 * Where it writes: its segments go to `out-N/seg-%06d.ts`, a path that does not exist while it is
 * parked; at release `out-N` becomes a symlink to the run's real segment directory, made once and
 * never changed, so a parked run can wait for a shift that has no directory yet.
 *
 * A parked run is only a guess: `take(plan)` releases it only when its argv is exactly the one
 * the plan builds for its FIFO and link (same inputs, start number, quality, analysis, tap);
 * otherwise it is killed and the caller spawns cold, as without parking. Parking needs ffmpeg to
 * die with the agent (setpriv --pdeathsig): a parked run is in no pidfile.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../agent/lib/log.js';
import { describe } from '../../agent/lib/errors.js';
import { FfmpegProcess } from './process.js';

const run = promisify(execFile);

/** The argv of one run with its segments in `outDir` and its progress report to `progress`. */
export type ArgvFor = (outDir: string, progress: string) => string[];

/** What a run needs: its real segment directory and its argv for any directory and progress. */
export interface RunPlan {
  readonly outDir: string;
  readonly argv: ArgvFor;
}

/** Marks parked runs' paths (and so their command lines: tests tell them from recording ones). */
export const PARK_DIR_PREFIX = 'bodycam-park-';

interface Parked {
  readonly proc: FfmpegProcess;
  readonly argv: readonly string[];
  readonly fifo: string;
  readonly link: string;
  /** Taken for a run or ended by us: its exit is expected. */
  done: boolean;
}

/** After a parked run died by itself (ffmpeg missing, killed) or could not be made, none for this long. */
const PARK_RETRY_MS = 30_000;

export class EncoderParking {
  private dir: string | undefined;
  private seq = 0;
  private parked: Parked | undefined;
  private parking: Promise<void> | undefined;
  private disposed = false;
  private diedAt = -Infinity;

  constructor(private readonly o: { readonly log: Logger; readonly binary?: string }) {}

  /** The pid of the parked run, if one waits. */
  get pid(): number | undefined {
    return this.parked?.proc.running ? this.parked.proc.pid : undefined;
  }

  /** Parks a run of `argv` unless the one parked already is that run. Never throws. */
  async park(argv: ArgvFor): Promise<void> {
    if (this.disposed || this.parking || performance.now() - this.diedAt < PARK_RETRY_MS) return;
    const p = this.parked;
    if (p?.proc.running && same(argv(p.link, progressUrl(p.fifo)), p.argv)) return;
    this.parking = this.spawnParked(argv).finally(() => (this.parking = undefined));
    await this.parking;
  }

  private async spawnParked(argvFor: ArgvFor): Promise<void> {
    this.end(this.parked);
    this.parked = undefined;
    try {
      this.dir ??= mkdtempSync(join(tmpdir(), PARK_DIR_PREFIX));
      const n = ++this.seq;
      const fifo = join(this.dir, `progress-${n}`);
      const link = join(this.dir, `out-${n}`);
      // Node cannot make a FIFO; mkfifo is coreutils' (or busybox's).
      await run('mkfifo', ['-m', '600', fifo]);
      if (this.disposed) return void rmSync(fifo, { force: true });
      const argv = argvFor(link, progressUrl(fifo));
      const proc = new FfmpegProcess(argv, this.o.binary, { progressFifo: fifo });
      const parked: Parked = { proc, argv, fifo, link, done: false };
      proc.on('exit', (e) => {
        rmSync(fifo, { force: true });
        rmSync(link, { force: true });
        if (this.parked === parked) this.parked = undefined;
        if (parked.done) return;
        this.diedAt = performance.now();
        this.o.log.warn('parked encoder run died while waiting', { code: e.code, signal: e.signal, stderrTail: e.stderrTail.slice(-3), nextTryInMs: PARK_RETRY_MS });
      });
      proc.start();
      this.parked = parked;
      this.o.log.debug('encoder run parked', { pid: proc.pid });
    } catch (err) {
      // Parking is only a head start: without it the next run starts cold, as it always could.
      this.diedAt = performance.now();
      this.o.log.warn('could not park an encoder run', { err: describe(err), nextTryInMs: PARK_RETRY_MS });
    }
  }

  /**
   * The parked run, released into `plan.outDir`, when it was parked for exactly this plan; else
   * undefined (any parked run is ended) and the caller spawns the plan's argv itself.
   */
  take(plan: RunPlan): FfmpegProcess | undefined {
    const p = this.parked;
    this.parked = undefined;
    if (!p?.proc.running) return undefined;
    if (!same(plan.argv(p.link, progressUrl(p.fifo)), p.argv)) {
      this.o.log.info('parked encoder run was for other settings: starting cold');
      this.end(p);
      return undefined;
    }
    p.done = true;
    try {
      symlinkSync(plan.outDir, p.link);
      p.proc.release();
      return p.proc;
    } catch (err) {
      this.o.log.warn('parked encoder run could not be released: starting cold', { err: describe(err) });
      this.end(p);
      return undefined;
    }
  }

  /** Ends the parked run, if any (recording began while it was being parked). */
  discard(): void {
    this.end(this.parked);
    this.parked = undefined;
  }

  /** Ends any parked run and removes the parking directory; parks nothing after. */
  dispose(): void {
    this.disposed = true;
    this.end(this.parked);
    this.parked = undefined;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private end(p: Parked | undefined): void {
    if (!p) return;
    p.done = true;
    if (p.proc.running) void p.proc.kill();
  }
}

function progressUrl(fifo: string): string {
  return `file:${fifo}`;
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
