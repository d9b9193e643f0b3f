/**
 * The evidence of shifts: opens, reopens (after a restart) and closes a shift's journal and
 * sealer, and keeps the device journal (`device-journal.jsonl`: what happens off duty —
 * deletions, legal holds, commands — is evidence too, signed like a shift journal).
 *
 * A closed shift is never written to again: `open` refuses a shift whose journal holds a
 * `shift_end`, whatever the caller believes (a lost or stale state file must not reopen sealed,
 * possibly uploaded evidence).
 */
import { mkdirSync, existsSync, copyFileSync, readFileSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../lib/log.js';
import { BodycamError } from '../lib/errors.js';
import { Journal, isoMs, sha256Hex, JOURNAL_FILE, type Fields, type JournalDamagedError, type JournalRecord, type ScanOptions, type WrittenRecord } from './journal.js';
import { fsyncDir, fsyncFile } from '../lib/atomic.js';
import { ShiftSealer, type GapCause, type PendingGap, type SealedSegment } from './sealer.js';
import type { SegmentStorer } from './storer.js';
import { JournalSigner, attachSigner } from './signer.js';
import { journalHasShiftEnd } from './open-shift.js';
import { evidenceClock } from '../lib/evidence-clock.js';

export const DEVICE_JOURNAL = 'device-journal.jsonl';
/** The device journal's head is signed after this many records, and at every clean stop. */
const DEVICE_SIGN_EVERY = 20;

export interface OpenShift {
  readonly shiftId: string;
  readonly dir: string;
  readonly journal: Journal;
  readonly sealer: ShiftSealer;
  /** `at` of the shift_start record. */
  readonly startedAt: string;
  /** Custody: the period's number in its duty (1 for a duty's first), from `shift_start.period`. */
  readonly period?: number;
  /** Custody: wall ms of the rotation instant that opened this period (its timer counts from it). */
  readonly rotatedAt?: number;
  /**
   * Custody: this period's length, from the policy its shift_start journaled: a `periodS` changed
   * mid-period applies from the next period, also after a restart.
   */
  readonly periodS?: number;
}

/** `policy.periodS` of a shift_start's fields, when it is a usable period length. */
function periodSOf(fields: Record<string, unknown> | undefined): number | undefined {
  const v = Number((fields?.policy as { periodS?: unknown } | undefined)?.periodS);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** `shift_start.continues` of a custody period opened by a rotation (docs/evidence-format.md). */
export interface PeriodContinues {
  readonly shift_id: string;
  readonly cause: 'period_rotation';
  /** Hash of the closing period's last line (its final signature record). */
  readonly last_hash: string;
  /** That signature's `sig` (null on an unprovisioned device: unsigned evidence). */
  readonly signature: string | null;
  readonly key_id: string | null;
  /** This period's first segment number: the encoder's numbering goes on across the rotation. */
  readonly first_segment: number;
  /** The rotation instant (the boundary is the closing period's `shift_end.end`, the last media end). */
  readonly rotated_at: string;
}

/** The shift's journal already holds a shift_end: it is sealed evidence. */
export class ShiftClosedError extends BodycamError {
  constructor(readonly shiftId: string) {
    super('STATE', `shift ${shiftId} is closed (its journal holds shift_end): it is never reopened or written to`);
  }
}
export const isShiftClosedError = (e: unknown): e is ShiftClosedError => e instanceof ShiftClosedError;

/**
 * Opens a shift journal, hands every record to `each` (the sealer's counters), and keeps only what
 * a restart reads of them, in journal order: the first record (shift_start), the segment of the
 * highest encoder run, the last resume or shift_start, the last record, and — when the journal is
 * signed — everything after the last signature (what the signer counts). Empty only for an empty
 * journal. Keeping all of a 12-hour journal's ~23,000 records at once cost the restarted agent
 * ~45 MB of RSS for good (bench `long`).
 */
function restartView(journal: Journal, each: (r: JournalRecord) => void, signed: boolean, onDamaged?: ScanOptions['onDamaged']): JournalRecord[] {
  let first: JournalRecord | undefined;
  let topRun: JournalRecord | undefined;
  let lastStart: JournalRecord | undefined;
  let last: JournalRecord | undefined;
  let tail: JournalRecord[] = [];
  journal.openEach((r) => {
    each(r);
    first ??= r;
    last = r;
    if (r.type === 'segment' && (!topRun || (Number(r.run) || 0) >= (Number(topRun.run) || 0))) topRun = r;
    if (r.type === 'resume' || r.type === 'shift_start') lastStart = r;
    if (signed) {
      if (r.type === 'signature') tail = [];
      tail.push(r);
    }
  }, onDamaged);
  const kept = new Map<number, JournalRecord>();
  for (const r of [first, topRun, lastStart, last, ...tail]) if (r) kept.set(r.seq, r);
  return [...kept.values()].sort((a, b) => a.seq - b.seq);
}

/** What the restart knows when it reopens a shift. */
export interface RestartFacts {
  /** What a restart needs of the journal's records before it (restartView: not all of them). */
  readonly existing: readonly JournalRecord[];
  readonly cause: GapCause;
  readonly previousBootId: string;
  readonly bootId: string;
  /** The machine state the shift was in. */
  readonly state: string;
  /** The dead agent's last encoder run. */
  readonly lastRun: number;
  /** The interval without media the dead agent had open, if any. */
  readonly pendingGap: PendingGap | undefined;
  /** When the dead agent last saved its state (ms; NaN when unknown). */
  readonly savedAt: number;
  /**
   * How far evidence time moved between the dead agent's clock and this one's (a clock found behind
   * the journal: negative), already journaled and applied (clockStepped): the times read from the
   * existing records and `savedAt` are on the old clock and move by it.
   */
  readonly clockOffsetMs?: number;
}

export interface ShiftEvidenceOptions {
  readonly dataDir: string;
  readonly storer: SegmentStorer;
  readonly log: Logger;
  /** A valid fresh segment was sealed (encoder health, storage check). */
  onSealed(s: SealedSegment): void;
  /** Every record of every journal (shift id, or null for the device journal). */
  onRecord(shiftId: string | null, rec: WrittenRecord): void;
  /** The open shift's pending gap changed (persisted with the state). */
  onPendingGap?(g: PendingGap | undefined): void;
  /** Fields each `segment` record adds (the location room's last fix, the clock's provenance). */
  segmentFields?(): Record<string, unknown>;
  /**
   * Custody mode: the encoder writes into one stable stage dir for as long as it runs, so that a
   * period rotation needs no encoder restart (SegmentStorer.stableStageDir).
   */
  custody?(): boolean;
  /** Where journals may take space from when the disk is full (the storage guard's reserve). */
  onNoSpace?(): boolean;
  /** A journal could not write (records held in memory), or `null`: all written again. */
  onWriteTrouble?(path: string, err: Error | null): void;
}

export class ShiftEvidence {
  private shift: OpenShift | undefined;
  private device: Journal | undefined;
  private deviceUnsigned = 0;
  private signer: JournalSigner | undefined;
  /** Boot id of the last agent start the device journal recorded (state-loss recovery). */
  previousBootId: string | undefined;

  constructor(private readonly o: ShiftEvidenceOptions) {}

  /** The device key's signer (absent on an unprovisioned device: journals stay unsigned). */
  setSigner(signer: JournalSigner | undefined): void {
    this.signer = signer;
  }

  get current(): OpenShift | undefined {
    return this.shift;
  }
  get deviceJournal(): Journal {
    if (!this.device) throw new BodycamError('STATE', 'device journal not open');
    return this.device;
  }
  shiftDir(shiftId: string): string {
    return join(this.o.dataDir, 'shifts', shiftId);
  }

  /** Opens the device journal (its head signed with the device key when provisioned). */
  start(): void {
    mkdirSync(join(this.o.dataDir, 'shifts'), { recursive: true });
    const j = new Journal(this.o.dataDir, () => evidenceClock.now(), DEVICE_JOURNAL);
    this.wire(j);
    const existing = j.open();
    this.device = j;
    const started = existing.findLast((r) => r.type === 'note' && r.what === 'agent_started');
    this.previousBootId = typeof started?.boot_id === 'string' ? started.boot_id : undefined;
    let since = 0;
    for (let i = existing.length - 1; i >= 0 && existing[i]!.type !== 'signature'; i--) since++;
    this.deviceUnsigned = since;
    j.on('record', (r) => {
      this.o.onRecord(null, r);
      if (r.record.type === 'signature') this.deviceUnsigned = 0;
      else if (++this.deviceUnsigned >= DEVICE_SIGN_EVERY) this.sign(j, 'interval');
    });
  }

  /**
   * Opens (or reopens) a shift's evidence and returns what a restart needs of the records already
   * in its journal (see restartView: not all of them). A new journal gets its `shift_start` with
   * `startFields`. `visit` sees every record already in the journal, in order, for what a restart
   * folds over the whole shift (the pause budget's use) without keeping the records.
   */
  open(shiftId: string, now: number, startFields: () => Fields, visit?: (r: JournalRecord) => void, onDamaged?: ScanOptions['onDamaged']): { shift: OpenShift; existing: JournalRecord[] } {
    if (this.shift?.shiftId === shiftId) return { shift: this.shift, existing: [] };
    const dir = this.shiftDir(shiftId);
    const path = join(dir, JOURNAL_FILE);
    if (existsSync(path) && journalHasShiftEnd(path)) throw new ShiftClosedError(shiftId);
    // The stage dir is checked (tmpfs for encryption) before anything is created for the shift.
    const stageDir = this.o.custody?.() ? this.o.storer.stableStageDir(this.o.dataDir) : this.o.storer.stageDir(shiftId, dir);
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    mkdirSync(stageDir, { recursive: true, mode: 0o700 });
    const journal = new Journal(dir);
    this.wire(journal);
    const sealer = new ShiftSealer(dir, stageDir, journal, this.o.storer, this.o.log.child('sealer'), {
      onSealed: (s) => this.o.onSealed(s),
      onPendingGap: (g) => this.o.onPendingGap?.(g),
      segmentFields: () => this.o.segmentFields?.() ?? {},
    });
    const existing = restartView(journal, (r) => {
      sealer.restore([r]);
      visit?.(r);
    }, this.signer !== undefined, onDamaged);
    journal.on('record', (r) => this.o.onRecord(shiftId, r));
    if (this.signer) attachSigner(journal, this.signer, existing);
    const startedAt = existing[0]?.type === 'shift_start' ? existing[0].at : isoMs(now);
    const head = existing[0]?.type === 'shift_start' ? existing[0] : undefined;
    const fields = existing.length === 0 ? startFields() : undefined;
    const period = Number((head ?? fields)?.period);
    const rotatedAt = Date.parse(String((head?.continues as PeriodContinues | undefined)?.rotated_at));
    const periodS = period > 0 ? periodSOf(head ?? fields) : undefined;
    this.shift = { shiftId, dir, journal, sealer, startedAt, ...(period > 0 ? { period } : {}), ...(Number.isFinite(rotatedAt) ? { rotatedAt } : {}), ...(periodS ? { periodS } : {}) };
    if (fields) journal.append('shift_start', fields, now);
    return { shift: this.shift, existing };
  }

  /**
   * The agent restarted with this shift open (crash, reboot, power cut): journals the `recovery`,
   * seals what the dead encoder wrote but nobody journaled, and accounts for an interruption the
   * dead agent had open (`pendingGap`, persisted with the state) with its own cause — up to the
   * encoder's leftover segment, or the last moment that agent is known to have been alive.
   * Returns the wall time media is missing from (the gap the restart itself causes starts there).
   */
  async accountForRestart(r: RestartFacts): Promise<number> {
    const s = this.shift;
    if (!s) throw new BodycamError('STATE', 'no open shift to account for');
    s.journal.append('recovery', { what: r.cause, previous_boot_id: r.previousBootId, boot_id: r.bootId, state: r.state });
    if (r.pendingGap) s.sealer.expectMedia(r.pendingGap.start, r.pendingGap.cause);
    await s.sealer.recoverUnlisted(r.lastRun, undefined);
    await s.sealer.drain();
    const off = r.clockOffsetMs ?? 0;
    let preEnd = 0;
    if (r.pendingGap && s.sealer.pendingGapCause === r.pendingGap.cause) {
      preEnd = Math.max(0, ...[Date.parse(r.existing.at(-1)?.at ?? ''), r.savedAt].filter(Number.isFinite)) + off;
      s.sealer.stopExpecting(preEnd);
    }
    const lastResume = r.existing.findLast((x) => x.type === 'resume' || x.type === 'shift_start');
    return Math.max(s.sealer.mediaEndWall ?? 0, lastResume ? Date.parse(lastResume.at) + off : 0, preEnd);
  }

  /**
   * A restart found the open shift's journal damaged (a line that is not a record: an SD-card bit
   * flip, a tool that wrote into it). The camera must not stop recording over it, and the damaged
   * bytes are evidence: the journal is copied as found to `journal.damaged-<n>` (fsynced, its
   * SHA-256 in the device journal and in the shift's own `recovery` record), then the shift is
   * opened past the damage — what is appended chains onto the damaged line's exact bytes, so a
   * verifier names the damage and checks everything around it. The caller accounts for the
   * restart as ever (accountForRestart) and then closes it (closeDamaged).
   */
  openDamaged(shiftId: string, damage: JournalDamagedError, now: number, visit?: (r: JournalRecord) => void): { existing: JournalRecord[]; setAside: string; sha256: string; damagedLines: number[] } {
    const dir = this.shiftDir(shiftId);
    let n = 0;
    while (existsSync(join(dir, `journal.damaged-${n}`))) n++;
    const setAside = `journal.damaged-${n}`;
    copyFileSync(join(dir, JOURNAL_FILE), join(dir, setAside), fsConstants.COPYFILE_EXCL);
    fsyncFile(join(dir, setAside));
    fsyncDir(dir);
    const sha256 = sha256Hex(readFileSync(join(dir, setAside)));
    const damagedLines: number[] = [];
    const { shift, existing } = this.open(shiftId, now, () => ({}), visit, (line) => damagedLines.push(line));
    const facts = { what: 'journal_damaged', shift_id: shiftId, line: damage.line, problem: damage.problem, damaged_lines: damagedLines, set_aside: setAside, sha256 };
    this.deviceJournal.append('recovery', facts);
    shift.journal.append('recovery', facts, now);
    this.o.log.error('shift journal damaged: set aside; the shift is closed as damaged and recording goes on in a new one', { ...facts });
    return { existing, setAside, sha256, damagedLines };
  }

  /** Closes a shift opened by openDamaged: the restart's own interval is a gap (`cause`) up to `at`. */
  async closeDamaged(since: number, cause: GapCause, at: number): Promise<OpenShift | undefined> {
    this.shift?.sealer.expectMedia(since, cause);
    return this.close('journal_damaged', at);
  }

  /** Ends the open shift: last seals, `shift_end`, final signature, journal closed. */
  async close(reason: string, decidedAt: number): Promise<OpenShift | undefined> {
    const s = this.shift;
    if (!s) return undefined;
    await s.sealer.drain();
    s.sealer.stopExpecting(decidedAt);
    s.journal.append('shift_end', { reason, end: isoMs(decidedAt), segments: s.sealer.segments, media_s: Math.round(s.sealer.mediaS * 1000) / 1000 });
    this.sign(s.journal, 'shift_end');
    s.journal.close();
    this.shift = undefined;
    return s;
  }

  /**
   * Custody period rotation at `rotateAt`, with the encoder still running (docs/custody-periods.md).
   * Runs in the sealer's queue: segments listed before it are sealed into the closing period, the
   * rest into the next. The boundary is where the closing period's last sealed media ends (a
   * segment boundary: the segment being written at the rotation instant is the next period's
   * first, starting exactly there), or — when no media is flowing (camera lost, storage held) —
   * the rotation instant itself, the pending gap split there with its cause. The closing period
   * gets `shift_end` (reason `period_rotation`, `end` = boundary) and its final signature; the next
   * period's `shift_start`, stamped at the boundary, commits to that signature's line hash and value
   * (`continues`). The sealer is the same object: run anchors and numbering carry over.
   */
  async rotate(nextId: string, rotateAt: number, startFields: () => Fields): Promise<{ closed: OpenShift; opened: OpenShift }> {
    const s = this.shift;
    if (!s) throw new BodycamError('STATE', 'no open period to rotate');
    const sealer = s.sealer;
    return sealer.exclusive(() => {
      const g = sealer.pending;
      let boundary: number;
      if (g) {
        boundary = Math.max(rotateAt, g.start);
        sealer.stopExpecting(boundary);
      } else boundary = sealer.mediaEndWall ?? rotateAt;
      const period = s.period ?? 1;
      s.journal.append('shift_end', { reason: 'period_rotation', end: isoMs(boundary), segments: sealer.segments, media_s: Math.round(sealer.mediaS * 1000) / 1000, period, rotated_at: isoMs(rotateAt) });
      this.sign(s.journal, 'period_rotation');
      const last = s.journal.lastRecord;
      const continues: PeriodContinues = {
        shift_id: s.shiftId,
        cause: 'period_rotation',
        last_hash: s.journal.head,
        signature: last?.type === 'signature' && typeof last.sig === 'string' ? last.sig : null,
        key_id: last?.type === 'signature' && typeof last.key_id === 'string' ? last.key_id : null,
        first_segment: sealer.lastSegmentNumber + 1,
        rotated_at: isoMs(rotateAt),
      };
      s.journal.close();

      const dir = this.shiftDir(nextId);
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      fsyncDir(join(this.o.dataDir, 'shifts'));
      const journal = new Journal(dir);
      this.wire(journal);
      journal.open();
      journal.on('record', (r) => this.o.onRecord(nextId, r));
      if (this.signer) attachSigner(journal, this.signer, []);
      sealer.retarget(journal, dir);
      const fields = startFields();
      const periodS = periodSOf(fields);
      this.shift = { shiftId: nextId, dir, journal, sealer, startedAt: isoMs(boundary), period: period + 1, rotatedAt: rotateAt, ...(periodS ? { periodS } : {}) };
      journal.append('shift_start', { ...fields, period: period + 1, continues }, boundary);
      if (g) sealer.expectMedia(boundary, g.cause);
      return { closed: s, opened: this.shift };
    });
  }

  /**
   * A wall-clock step was journaled (and evidence time moved by it): the journals' `at` floors and
   * the open shift's sealer move with it (see Journal.clockStepped, ShiftSealer.clockStepped).
   */
  clockStepped(stepMs: number): void {
    this.device?.clockStepped(stepMs);
    this.shift?.journal.clockStepped(stepMs);
    this.shift?.sealer.clockStepped(stepMs);
  }

  /** Journals to the open shift, or to the device journal off duty. */
  journal(type: string, fields: Fields, at?: number): WrittenRecord {
    return (this.shift?.journal ?? this.deviceJournal).append(type, fields, at);
  }

  /** Clean stop with a shift open: the record says so and the head is signed. */
  async suspend(at: number): Promise<void> {
    const s = this.shift;
    if (!s) return;
    await s.sealer.drain();
    s.sealer.stopExpecting(at);
    s.journal.append('note', { what: 'agent_stopped_during_shift' });
    this.sign(s.journal, 'agent_stop');
  }

  /** Signs the device journal's head if records follow its last signature. */
  signDevice(why: string): void {
    if (this.device && this.deviceUnsigned > 0) this.sign(this.device, why);
  }

  /** Closes every journal; the device journal's head is signed first. */
  stop(): void {
    this.shift?.journal.close();
    if (this.device) {
      if (this.deviceUnsigned > 0) this.sign(this.device, 'agent_stop');
      this.device.close();
    }
  }

  private sign(j: Journal, why: string): void {
    try {
      this.signer?.signNow(j, why);
    } catch (e) {
      this.o.log.error('signature failed; the verifier will report the unsigned tail', { err: e, journal: j.path });
    }
  }

  private wire(j: Journal): void {
    // The journal's own ENOSPC handling asks here for space (the storage guard's reserve).
    const noSpace = this.o.onNoSpace;
    if (noSpace) j.onNoSpace = () => noSpace();
    j.on('writeFailed', (e) => this.o.onWriteTrouble?.(j.path, e));
    j.on('writeRecovered', () => this.o.onWriteTrouble?.(j.path, null));
  }
}
