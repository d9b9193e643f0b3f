/**
 * The evidence writer of one shift. It turns encoder output into journal records:
 * - every closed segment is read once, probed (ts-probe) and hashed, handed to the storer, and
 *   journaled as a `segment` with its wall-clock interval;
 * - every interval inside the shift without media that is not a pause becomes a `gap` with its
 *   cause and exact bounds, journaled when the next media arrives (so its end is known);
 * - after a crash (encoder or agent), segment files the dead encoder never listed are found on
 *   disk, probed and journaled as `recovered` — a killed TS segment keeps what was flushed.
 * Seals run one at a time in order (a promise chain), so journal order = recording order.
 *
 * Wall-clock times: ffmpeg reports each closed segment's media interval on its run's timeline.
 * A run's anchor (wall ms at media time 0) is the smallest (report time − media time) seen until
 * its first segment is sealed — reports only ever arrive late, so the minimum is the best
 * estimate — and is then frozen, so consecutive segments' wall intervals join exactly.
 *
 * Custody periods: one sealer lives across period rotations (`rotate`), so the running encoder's
 * run anchors, segment numbering and where media last ended carry over — the next period's first
 * segment starts exactly where the closing period's last one ended. The rotation runs in the seal
 * queue: every segment listed before it is sealed into the closing period, every one after into
 * the next (agent/evidence/periods.ts).
 */
import { access, readFile, stat } from 'node:fs/promises';
import { eachName } from '../lib/dir-names.js';
import { join } from 'node:path';
import type { Logger } from '../lib/log.js';
import { sha256Hex, isoMs, type Journal, type JournalRecord, type WrittenRecord } from './journal.js';
import { probeTs, type TsProbe } from './ts-probe.js';
import type { SegmentStorer } from './storer.js';
import { SEGMENT_RE, segmentName } from '../../hal/encoder/args.js';
import { describe } from '../lib/errors.js';
import { evidenceClock } from '../lib/evidence-clock.js';

/** Below this, the encoder's lag at a stop is frame granularity (the verifier tolerates 250 ms). */
const TAIL_GAP_MIN_MS = 200;

export type GapCause =
  | 'encoder_start'
  | 'encoder_crash'
  | 'encoder_stall'
  | 'encoder_reconfigure'
  | 'encoder_stop'
  | 'agent_restart'
  | 'agent_stopped'
  | 'power_loss'
  | 'camera_lost'
  | 'storage_full';

export interface SealedSegment {
  readonly number: number;
  readonly file: string;
  readonly bytes: number;
  readonly frames: number;
  readonly wallStart: number;
  readonly wallEnd: number;
  readonly valid: boolean;
}

/** An interval without media that has begun and not yet ended (journaled when it ends). */
export interface PendingGap {
  readonly start: number;
  readonly cause: GapCause;
}

export interface SealerHooks {
  /** The pending gap changed (persist it: it lives only in memory until media comes back). */
  onPendingGap?(g: PendingGap | undefined): void;
  /** A valid fresh segment was sealed (encoder health). */
  onSealed(s: SealedSegment, rec: WrittenRecord): void;
  /** Called after every journal append by the sealer (signatures hook in here). */
  afterAppend?(rec: WrittenRecord): void;
  /** Fields every `segment` record adds at seal time (last known fix, clock provenance). */
  segmentFields?(): Record<string, unknown>;
}

interface RunState {
  run: number;
  anchor: number | undefined;
  frozen?: boolean;
  lastMediaEnd: number;
  fps: number;
}

export class ShiftSealer {
  private chain: Promise<void> = Promise.resolve();
  private runs = new Map<number, RunState>();
  /** Highest segment number journaled. */
  private lastNumber = 0;
  /** Wall ms media is expected from, and why it is missing until then. */
  private gap: PendingGap | undefined;
  private get pendingGap(): PendingGap | undefined {
    return this.gap;
  }
  /** Every change is told to the owner, who persists it: an agent killed mid-gap loses nothing. */
  private set pendingGap(g: PendingGap | undefined) {
    this.gap = g;
    this.hooks.onPendingGap?.(g);
  }
  /** Wall ms where the last sealed media ended. */
  private lastMediaWallEnd: number | undefined;
  segments = 0;
  bytes = 0;
  mediaS = 0;
  lastSegmentAt: number | undefined;

  constructor(
    private dir: string,
    readonly stageDir: string,
    private journal: Journal,
    private readonly storer: SegmentStorer,
    private readonly log: Logger,
    private readonly hooks: SealerHooks,
  ) {}

  get shiftDir(): string {
    return this.dir;
  }

  /**
   * Custody rotation, run inside `exclusive`: from now on seals go to `journal` in `shiftDir` (the
   * next period). Run anchors, numbering and the last media end carry over; the per-shift counters
   * start again.
   */
  retarget(journal: Journal, shiftDir: string): void {
    this.journal = journal;
    this.dir = shiftDir;
    this.segments = 0;
    this.bytes = 0;
    this.mediaS = 0;
  }

  /**
   * Runs `fn` in the seal queue (after every seal queued so far, before any queued later) and
   * returns its result; unlike a seal, its failure is the caller's.
   */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.chain.then(fn);
    this.chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Restores counters from an existing journal (agent restart). */
  restore(records: readonly JournalRecord[]): void {
    for (const r of records) {
      // A period continuing a rotation numbers its segments on from the closing period's.
      const cont = r.type === 'shift_start' ? (r.continues as { first_segment?: unknown } | undefined) : undefined;
      if (cont && typeof cont.first_segment === 'number') this.lastNumber = Math.max(this.lastNumber, cont.first_segment - 1);
      if (r.type !== 'segment') continue;
      const m = SEGMENT_RE.exec(String(r.file).replace(/\.enc$/, ''));
      if (m) this.lastNumber = Math.max(this.lastNumber, Number(m[1]));
      this.segments++;
      this.bytes += Number(r.bytes) || 0;
      const start = Date.parse(String(r.start));
      const end = Date.parse(String(r.end));
      if (Number.isFinite(end)) {
        this.mediaS += (end - start) / 1000;
        this.lastMediaWallEnd = Math.max(this.lastMediaWallEnd ?? 0, end);
        this.lastSegmentAt = end;
      }
      const run = Number(r.run);
      if (Number.isFinite(run) && Number.isFinite(start)) {
        this.runs.set(run, { run, anchor: start - Number(r.media_start) * 1000, frozen: true, lastMediaEnd: Number(r.media_end), fps: 0 });
      }
    }
  }

  get lastSegmentNumber(): number {
    return this.lastNumber;
  }
  get mediaEndWall(): number | undefined {
    return this.lastMediaWallEnd;
  }

  /**
   * A wall-clock step was journaled (evidence time moved by `stepMs`): every wall time this sealer
   * holds moves with it — run anchors, the pending gap's start, where media last ended — so what it
   * writes after the step's record is on the new clock, and the verifier maps it back by the step.
   */
  clockStepped(stepMs: number): void {
    for (const r of this.runs.values()) if (r.anchor !== undefined) r.anchor += stepMs;
    if (this.gap) this.pendingGap = { start: this.gap.start + stepMs, cause: this.gap.cause };
    if (this.lastMediaWallEnd !== undefined) this.lastMediaWallEnd += stepMs;
    if (this.lastSegmentAt !== undefined) this.lastSegmentAt += stepMs;
  }

  /** Media is expected from `start` on; until it arrives the interval is a gap with `cause`. */
  expectMedia(start: number, cause: GapCause): void {
    this.pendingGap = { start, cause };
  }

  /** The shift is being paused or closed: no media is expected; a pending gap ends now. */
  stopExpecting(at: number): void {
    const g = this.pendingGap;
    this.pendingGap = undefined;
    if (g && at > g.start) this.append('gap', { cause: g.cause, start: isoMs(g.start), end: isoMs(at) });
  }

  /**
   * The encoder stopped (pause or shift end decided at `at`) with its last media ending earlier:
   * a starved encoder lags behind real time, and the frames it never delivered are an interval
   * the shift must account for. Shorter tails are frame granularity, not evidence lost.
   */
  tailGap(at: number, cause: GapCause): void {
    const end = this.lastMediaWallEnd;
    if (end !== undefined && at - end > TAIL_GAP_MIN_MS) this.append('gap', { cause, start: isoMs(end), end: isoMs(at) });
  }

  /**
   * Recording is held (storage below its floor) while still wanted: the interval from the last
   * media on is one gap with `cause`. A gap already pending with another cause (the encoder died
   * before the hold) keeps its own cause up to now, as a second interruption does — except a
   * planned start or reconfigure that has not produced media yet: that interval is the hold's.
   */
  holdGap(cause: GapCause, now: number): void {
    const g = this.pendingGap;
    if (g && g.cause === cause) return;
    // A planned (re)start that never produced media is this hold: one gap, the hold's cause.
    if (g && (g.cause === 'encoder_start' || g.cause === 'encoder_reconfigure')) {
      this.pendingGap = { start: g.start, cause };
      return;
    }
    if (g && now > g.start) {
      this.append('gap', { cause: g.cause, start: isoMs(g.start), end: isoMs(now) });
      this.pendingGap = { start: now, cause };
      return;
    }
    this.pendingGap = { start: this.lastMediaWallEnd ?? now, cause };
  }

  get pendingGapCause(): GapCause | undefined {
    return this.gap?.cause;
  }
  get pending(): PendingGap | undefined {
    return this.gap;
  }

  runStarted(run: number, fps: number): void {
    this.runs.set(run, { run, anchor: undefined, lastMediaEnd: 0, fps });
  }

  /** Anchors a run from a progress report (media `outTimeS` reached at wall `atWall`). */
  progress(run: number, outTimeS: number, atWall: number): void {
    const r = this.runs.get(run);
    if (!r || r.frozen || outTimeS <= 0) return;
    const a = atWall - outTimeS * 1000;
    r.anchor = r.anchor === undefined ? a : Math.min(r.anchor, a);
  }

  /** ffmpeg listed a closed segment. */
  segmentClosed(run: number, file: string, mediaStart: number, mediaEnd: number, closedAtWall: number): Promise<void> {
    const r = this.runs.get(run) ?? { run, anchor: undefined, lastMediaEnd: 0, fps: 0 };
    this.runs.set(run, r);
    const a = closedAtWall - mediaEnd * 1000;
    if (!r.frozen) r.anchor = r.anchor === undefined ? a : Math.min(r.anchor, a);
    r.lastMediaEnd = mediaEnd;
    return this.enqueue(() => this.seal(file, run, mediaStart, mediaEnd, false));
  }

  /**
   * The run ended without listing its last segment(s) (SIGKILL, crash, power loss): seal what is
   * on disk beyond the last journaled number, then expect media again with `cause`.
   */
  recoverUnlisted(run: number, causeOrPromise: GapCause | undefined | Promise<GapCause>): Promise<void> {
    return this.enqueue(async () => {
      // The cause may take a round trip to decide (is the network camera there?): later seals wait.
      const cause = await causeOrPromise;
      // Custody: a segment renamed into the period dir by a store the crash cut short is there.
      // Only numbers beyond the journal's are kept: at hour 11 the shift dir names 19,800 segments.
      const found = new Set<number>();
      for (const d of new Set([this.stageDir, this.dir])) {
        try {
          await eachName(d, (name) => {
            const m = SEGMENT_RE.exec(name);
            if (m && Number(m[1]) > this.lastNumber) found.add(Number(m[1]));
          });
        } catch {
          /* nothing there */
        }
      }
      const nums = [...found].sort((a, b) => a - b);
      for (const n of nums) {
        const r = this.runs.get(run) ?? { run, anchor: undefined, lastMediaEnd: 0, fps: 0 };
        this.runs.set(run, r);
        await this.seal(segmentName(n), run, r.lastMediaEnd, undefined, true);
      }
      if (!cause) return;
      const now = evidenceClock.now();
      const g = this.pendingGap;
      // A lost camera's reconnects that fail before any media: one outage, one gap. Only for
      // camera_lost — two encoder crashes are two interruptions, each journaled with its cause
      // (the soak test counts them), even when the second comes before the restart's first frame.
      if (g && g.cause === 'camera_lost' && cause === 'camera_lost') return;
      if (g && now > g.start) {
        // Interrupted again before any media arrived: the interval so far keeps its own cause
        // (a power cut must not be relabelled as the encoder stall that followed it).
        this.append('gap', { cause: g.cause, start: isoMs(g.start), end: isoMs(now) });
        this.pendingGap = { start: now, cause };
      } else {
        this.pendingGap = { start: this.lastMediaWallEnd ?? now, cause };
      }
    });
  }

  /** Waits until every queued seal is journaled. */
  drain(): Promise<void> {
    return this.chain;
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn).catch((e: unknown) => {
      // A seal that fails must not stop later seals: journal it as a fault and go on.
      this.log.error('sealing failed', { err: e });
      try {
        this.append('fault', { fault: 'seal_failed', detail: describe(e) });
      } catch (e2) {
        this.log.error('journal append failed', { err: e2 });
      }
    });
    this.chain = next;
    return next;
  }

  private append(type: string, fields: Record<string, unknown>): WrittenRecord {
    const rec = this.journal.append(type, fields);
    this.hooks.afterAppend?.(rec);
    return rec;
  }

  private async seal(file: string, run: number, mediaStart: number, listedEnd: number | undefined, recovered: boolean): Promise<void> {
    const m = SEGMENT_RE.exec(file);
    if (!m) throw new Error(`unexpected segment name '${file}'`);
    const number = Number(m[1]);
    if (number <= this.lastNumber) return; // already journaled (a listed segment we recovered first)
    const staged = await this.stagedPath(file);
    const plain = await readFile(staged);
    const probe: TsProbe = probeTs(plain);
    const sha = sha256Hex(plain);
    const r = this.runs.get(run)!;
    let mediaEnd = listedEnd;
    if (mediaEnd === undefined) {
      const frameS = r.fps > 0 ? 1 / r.fps : 0;
      mediaEnd = probe.firstPts !== undefined && probe.lastPts !== undefined ? mediaStart + (probe.lastPts - probe.firstPts) + frameS : mediaStart;
      r.lastMediaEnd = mediaEnd;
    }
    if (r.anchor === undefined) {
      // A run killed before it reported anything: the file's mtime is when its last bytes landed.
      const st = await stat(staged);
      r.anchor = st.mtimeMs - mediaEnd * 1000;
    }
    r.frozen = true;
    const stored = await this.storer.store(staged, this.shiftDir, file, plain, sha);
    // The bounds are taken from the anchor only now, with no await before the append: a clock
    // step journaled while the segment was being stored has moved the anchor (clockStepped), and
    // a record written after the step's record is on the new clock, as every record is.
    const wallStart = Math.round(r.anchor! + mediaStart * 1000);
    const wallEnd = Math.round(r.anchor! + mediaEnd * 1000);

    const g = this.pendingGap;
    if (g) {
      this.pendingGap = undefined;
      if (wallStart > g.start) this.append('gap', { cause: g.cause, start: isoMs(g.start), end: isoMs(wallStart) });
    }
    const rec = this.append('segment', {
      ...stored,
      start: isoMs(wallStart),
      end: isoMs(wallEnd),
      media_start: round3(mediaStart),
      media_end: round3(mediaEnd),
      frames: probe.videoFrames,
      run,
      ...(recovered ? { recovered: true } : {}),
      ...(probe.valid ? {} : { invalid: probe.problem }),
      ...this.hooks.segmentFields?.(),
    });
    this.lastNumber = number;
    this.segments++;
    this.bytes += stored.bytes;
    this.mediaS += (wallEnd - wallStart) / 1000;
    this.lastMediaWallEnd = Math.max(this.lastMediaWallEnd ?? 0, wallEnd);
    this.lastSegmentAt = wallEnd;
    if (!probe.valid) {
      this.log.warn('segment is not valid media', { file, problem: probe.problem, recovered });
      if (!recovered) this.append('fault', { fault: 'segment_invalid', detail: `${file}: ${probe.problem}` });
    }
    const sealed: SealedSegment = { number, file: stored.file, bytes: stored.bytes, frames: probe.videoFrames, wallStart, wallEnd, valid: probe.valid };
    if (probe.valid && !recovered) this.hooks.onSealed(sealed, rec);
  }

  /** The stage, or (custody, after a crash between rename and journal) the shift dir already. */
  private async stagedPath(file: string): Promise<string> {
    const staged = join(this.stageDir, file);
    if (this.stageDir === this.dir) return staged;
    try {
      await access(staged);
      return staged;
    } catch {
      return join(this.dir, file);
    }
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
