/**
 * The shift journal: `journal.jsonl`, append-only, one JSON record per line, hash-chained.
 *
 * Each line is the UTF-8 JSON of one object whose first keys are, in this order,
 * `seq`, `type`, `at`, `prev`, followed by the record's own fields. `prev` is the hex SHA-256 of
 * the previous line's exact bytes (without its `\n`); 64 zeros for line 0. Lines end with `\n`.
 * Every append is written with one write() and fdatasync'd before `append` returns, so a
 * record the agent has acted on is on disk (docs/evidence-format.md is the full contract). When
 * the write fails (storage full, I/O error) the file is cut back to its last complete line and
 * the record is held in memory and retried (`Journal`); `JournalReserve` keeps space for it.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, writeSync, existsSync, writeFileSync, fsyncSync } from 'node:fs';
import { LineSplitter, PIECE_BYTES, feedFile } from '../lib/lines.js';
import { createHash } from 'node:crypto';
import { join, basename } from 'node:path';
import { TypedEmitter } from '../lib/typed-emitter.js';
import { EvidenceError, errnoCode } from '../lib/errors.js';
import { fsyncDir } from '../lib/atomic.js';
import { Backoff, type BackoffOptions } from '../lib/backoff.js';
import { createLogger } from '../lib/log.js';
import { evidenceClock } from '../lib/evidence-clock.js';

export const JOURNAL_FILE = 'journal.jsonl';
export const ZERO_HASH = '0'.repeat(64);

/** Record types of format v1. Readers must accept types they do not know (forward compatibility). */
export type RecordType =
  | 'shift_start'
  | 'shift_end'
  | 'segment'
  | 'pause'
  | 'resume'
  | 'gap'
  | 'fault'
  | 'recovery'
  | 'gesture'
  | 'signature'
  | 'time_sync'
  | 'policy'
  | 'command'
  | 'degrade'
  | 'power'
  | 'offload'
  | 'note';

export type Fields = Record<string, unknown>;

export interface JournalRecord extends Fields {
  seq: number;
  type: RecordType | string;
  at: string;
  prev: string;
}

/** A record together with the exact line it was written as (what hashes are computed over). */
export interface WrittenRecord {
  readonly record: JournalRecord;
  readonly line: string;
  /** SHA-256 of `line`: the chain head after this record. */
  readonly hash: string;
}

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** RFC 3339 UTC with milliseconds, as every `at`, `start` and `end` in the journal. */
export const isoMs = (ms: number): string => new Date(ms).toISOString();

const RESERVED = new Set(['seq', 'type', 'at', 'prev']);

export function formatLine(seq: number, type: string, atMs: number, prev: string, fields: Fields): string {
  const rec: Record<string, unknown> = { seq, type, at: isoMs(atMs), prev };
  for (const [k, v] of Object.entries(fields)) {
    if (RESERVED.has(k)) throw new EvidenceError(`journal field '${k}' is reserved`);
    if (v !== undefined) rec[k] = v;
  }
  return JSON.stringify(rec);
}

export interface ParsedJournal {
  readonly records: JournalRecord[];
  readonly lines: string[];
  /** Head hash after the last complete line. */
  readonly head: string;
  /** Bytes after the last `\n` (a torn write), if any. */
  readonly tornTail: Buffer | undefined;
  /** Byte length of the complete lines. */
  readonly goodBytes: number;
}

/**
 * A complete journal line that is not a record (an SD-card bit flip, a tool that wrote into the
 * file). `line` is 1-based, as every line number people read (the verifier's, the demo's).
 */
export class JournalDamagedError extends EvidenceError {
  constructor(
    readonly path: string | undefined,
    readonly line: number,
    readonly problem: 'not JSON' | 'not a record',
  ) {
    super(`journal${path ? ` ${path}` : ''} line ${line} is ${problem}`);
  }
}
export const isJournalDamagedError = (e: unknown): e is JournalDamagedError => e instanceof JournalDamagedError;

/** How a scan treats a damaged line: throw (the writer's default) or report it and go on. */
export interface ScanOptions {
  /** Given: a damaged line is handed here (1-based) and skipped; its bytes still count for the head. */
  readonly onDamaged?: (line: number, problem: JournalDamagedError['problem'], text: string) => void;
  /** Named in the error a damaged line raises. */
  readonly path?: string;
}

/**
 * Parses a journal's bytes for the writer's recovery. It trusts nothing: a complete line that is
 * not a JSON object is an error (the verifier, not this, reports tampering in detail).
 */
export function parseJournal(buf: Buffer, o: ScanOptions = {}): ParsedJournal {
  const records: JournalRecord[] = [];
  const lines: string[] = [];
  const r = scanJournal(buf, (rec, line) => {
    records.push(rec);
    lines.push(line);
  }, o);
  return { records, lines, head: r.head, tornTail: r.tornTail, goodBytes: r.goodBytes };
}

/** What a scan of a journal's bytes found (see {@link scanJournal}). */
export interface ScanResult {
  /** Complete lines, damaged ones included: the next record's seq. */
  readonly count: number;
  /** Head hash after the last complete line: SHA-256 of that line (64 zeros for none). */
  readonly head: string;
  /** Bytes after the last `\n` (a torn write), if any. */
  readonly tornTail: Buffer | undefined;
  /** Byte length of the complete lines. */
  readonly goodBytes: number;
}

/**
 * The journal's rules on top of the line splitter (lib/lines.ts): each complete line is parsed
 * and handed to `visit`; a damaged one is an error, or reported and skipped with `onDamaged`.
 * Only the last line's hash is the head: hashing every line cost a 12-hour journal (25,000 lines)
 * a SHA-256 call each at every agent start (the verifier, not the writer, checks links).
 */
function journalScan(visit: (rec: JournalRecord, line: string) => void, o: ScanOptions): { splitter: LineSplitter; result(): ScanResult } {
  let last: string | undefined;
  const splitter = new LineSplitter((i, text) => {
    const line = (last = text());
    const no = i + 1;
    let rec: unknown;
    let problem: JournalDamagedError['problem'] | undefined;
    try {
      rec = JSON.parse(line);
      if (typeof rec !== 'object' || rec === null || typeof (rec as JournalRecord).seq !== 'number') problem = 'not a record';
    } catch {
      problem = 'not JSON';
    }
    if (problem) {
      if (!o.onDamaged) throw new JournalDamagedError(o.path, no, problem);
      o.onDamaged(no, problem, line);
      return;
    }
    visit(rec as JournalRecord, line);
  });
  return {
    splitter,
    result: () => ({ count: splitter.lines, head: last === undefined ? ZERO_HASH : sha256Hex(last), tornTail: splitter.tail(), goodBytes: splitter.goodBytes }),
  };
}

/**
 * parseJournal without keeping anything: each complete line is parsed and handed to `visit`, one
 * at a time. A 12-hour journal (~21,600 segments) held as records at once grew the restarted
 * agent's RSS by ~45 MB that it never gave back (bench `long`); visited one by one they die young.
 * `count` is the number of complete lines (damaged ones included: the next record's seq).
 */
export function scanJournal(buf: Buffer, visit: (rec: JournalRecord, line: string) => void, o: ScanOptions = {}): ScanResult {
  const scan = journalScan(visit, o);
  scan.splitter.push(buf);
  return scan.result();
}

/**
 * scanJournal of a journal file read through `fd` from its first byte, a piece at a time
 * (lib/lines.ts): the whole file is never in memory. Reading an 11-hour journal (8 MB) at once
 * left the restarted agent holding its buffer — and the RSS it took — until V8 next collected
 * (bench `long`). `pieceBytes` is for tests (lines across piece boundaries).
 */
export function scanJournalFd(fd: number, visit: (rec: JournalRecord, line: string) => void, o: ScanOptions = {}, pieceBytes = PIECE_BYTES): ScanResult {
  const scan = journalScan(visit, o);
  feedFile(fd, scan.splitter, pieceBytes);
  return scan.result();
}


export interface JournalEvents extends Record<string, unknown[]> {
  record: [WrittenRecord];
  /**
   * The first failed write of an episode (storage full, I/O error): records are now accepted into
   * memory only (`pendingCount > 0`) until a retry writes them. The lead raises `journal_write`.
   */
  writeFailed: [err: Error];
  /** Every record held since `writeFailed` is on disk now; `records` is how many were written. */
  writeRecovered: [records: number];
}

/** Pacing of the automatic retry of held records: quick at first (a reserve or a cleanup may free space at once), capped so a failing card is not hammered. */
export const JOURNAL_RETRY: BackoffOptions = { initialMs: 200, maxMs: 5000, jitter: 0.5 };

/**
 * How many times in a row one write may be retried at once because `onNoSpace` said it freed
 * space: a hook that claims success without freeing anything must not spin the writer forever.
 */
const MAX_IMMEDIATE_RETRIES = 3;

const log = createLogger('evidence.journal');

const isNoSpace = (e: unknown): boolean => {
  const c = errnoCode(e);
  return c === 'ENOSPC' || c === 'EDQUOT';
};
const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * Appends records to one shift's journal. Opening an existing journal continues its chain; a
 * torn last line (power cut mid-write) is moved aside to `journal.torn-<n>` with its hash, the
 * file is cut back to its last complete line, and a `recovery` record says so, so the chain
 * stays verifiable and the torn bytes stay inspectable.
 *
 * A write that fails while the agent runs (filesystem full, EIO, a failed fdatasync) must neither
 * tear the file nor lose the record: a torn line followed by the next record glued onto it made
 * the whole journal unreadable ("journal line 35 is not JSON") and the agent refuse the shift.
 * So the file is cut back to the end of its last durable line at once, and the record — its seq
 * and prev already fixed, so the in-memory chain head stays what callers saw — waits in an
 * in-memory queue that is written, in order, before any later record: at the next append, at
 * `flush()`, and by a backoff-paced retry. On ENOSPC/EDQUOT the `onNoSpace` hook (normally a
 * `JournalReserve` release) may free space for an immediate retry.
 */
export class Journal extends TypedEmitter<JournalEvents> {
  private fd: number | undefined;
  private seq = 0;
  private headHash = ZERO_HASH;
  private last: JournalRecord | undefined;
  /** File length up to the end of the last durable line: where a failed write is cut back to (O_APPEND: the size is the offset). */
  private durableBytes = 0;
  /** Lines accepted (seq and prev fixed, head advanced) but not on disk yet, oldest first. */
  private readonly pending: Buffer[] = [];
  /** The file may hold bytes past `durableBytes` because cutting back failed: cut before writing. */
  private dirty = false;
  /** The error that opened the current failure episode; undefined while writes succeed. */
  private failure: Error | undefined;
  private failureReported = false;
  private writtenInEpisode = 0;
  private flushing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private noSpaceHook: (() => boolean) | undefined;
  /** Set by clockStepped: the floor of the next `at` (the last one moved by the step). */
  private stepFloor: number | undefined;
  readonly path: string;

  constructor(
    readonly dir: string,
    private readonly now: () => number = () => evidenceClock.now(),
    fileName = JOURNAL_FILE,
    retry: BackoffOptions = JOURNAL_RETRY,
  ) {
    super();
    this.path = join(dir, fileName);
    this.backoff = new Backoff(retry);
  }

  /**
   * Called once per failed attempt on ENOSPC/EDQUOT, before the journal gives up on that attempt;
   * returning true means space was freed (e.g. `JournalReserve.release()` freed bytes) and the
   * write is retried at once. Exceptions it throws are logged and count as false.
   */
  set onNoSpace(fn: (() => boolean) | undefined) {
    this.noSpaceHook = fn;
  }
  get onNoSpace(): (() => boolean) | undefined {
    return this.noSpaceHook;
  }

  /**
   * Evidence time stepped by `stepMs` (its `time_sync` record is written): the next `at` may be
   * earlier than the last by the step (backward), and not earlier than that. Without this, a
   * backward step made `at` stand still until the new clock caught up with the old one.
   */
  clockStepped(stepMs: number): void {
    const last = this.stepFloor ?? (this.last ? Date.parse(this.last.at) : undefined);
    if (last !== undefined) this.stepFloor = last + stepMs;
  }

  /** Opens (creating if needed) and recovers the chain. Returns the records already present. */
  open(): JournalRecord[] {
    const records: JournalRecord[] = [];
    this.openEach((r) => records.push(r));
    return records;
  }

  /** open() that hands each record already present to `visit` instead of keeping them all. */
  openEach(visit: (rec: JournalRecord) => void, onDamaged?: ScanOptions['onDamaged']): void {
    const existed = existsSync(this.path);
    const fd = openSync(this.path, 'a+', 0o640);
    let lastRec: JournalRecord | undefined;
    let parsed;
    try {
      parsed = scanJournalFd(fd, (rec) => {
        lastRec = rec;
        visit(rec);
      }, { path: this.path, ...(onDamaged ? { onDamaged } : {}) });
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    this.fd = fd;
    this.seq = parsed.count;
    this.headHash = parsed.head;
    this.last = lastRec;
    this.durableBytes = parsed.goodBytes;
    if (!existed) fsyncDir(this.dir);
    if (parsed.tornTail) {
      let n = 0;
      const base = basename(this.path, '.jsonl');
      while (existsSync(join(this.dir, `${base}.torn-${n}`))) n++;
      const tornFile = `${base}.torn-${n}`;
      writeFileSync(join(this.dir, tornFile), parsed.tornTail, { mode: 0o640 });
      const tfd = openSync(join(this.dir, tornFile), 'r');
      fsyncSync(tfd);
      closeSync(tfd);
      ftruncateSync(fd, parsed.goodBytes);
      fdatasyncSync(fd);
      fsyncDir(this.dir);
      this.append('recovery', {
        what: 'journal_torn_tail',
        file: tornFile,
        bytes: parsed.tornTail.length,
        sha256: sha256Hex(parsed.tornTail),
      });
    }
  }

  /**
   * Accepts a record: forms its line, advances the chain head and writes it (one write() and an
   * fdatasync) after any records still held. If that write fails the record is held in memory
   * (see the class comment) and still returned and emitted: the chain head is the caller's truth.
   */
  append(type: RecordType | string, fields: Fields = {}, atMs?: number): WrittenRecord {
    if (this.fd === undefined) throw new EvidenceError(`journal ${this.path} is not open`);
    // `at` never goes backwards within a journal (a verifier may rightly flag that as tampering),
    // except by a journaled step: after its record the floor is the last `at` moved by the step.
    const lastAt = this.stepFloor ?? (this.last ? Date.parse(this.last.at) : -Infinity);
    this.stepFloor = undefined;
    const line = formatLine(this.seq, type, Math.max(atMs ?? this.now(), lastAt), this.headHash, fields);
    const record = JSON.parse(line) as JournalRecord;
    const written: WrittenRecord = { record, line, hash: sha256Hex(line) };
    // State first: listeners of the events below may append (a `fault` on writeFailed).
    this.seq++;
    this.headHash = written.hash;
    this.last = record;
    this.pending.push(Buffer.from(line + '\n'));
    this.writePending();
    this.emit('record', written);
    this.reportEpisode();
    return written;
  }

  /** Tries to write every held record now. True when none is held any more. */
  flush(): boolean {
    const done = this.writePending();
    this.reportEpisode();
    return done;
  }

  /** Records accepted but not yet on disk. */
  get pendingCount(): number {
    return this.pending.length;
  }
  get head(): string {
    return this.headHash;
  }
  /** Open for appends (between `open` and `close`). */
  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  get nextSeq(): number {
    return this.seq;
  }
  get lastRecord(): JournalRecord | undefined {
    return this.last;
  }
  get size(): number {
    return this.fd === undefined ? 0 : fstatSync(this.fd).size;
  }

  /**
   * Makes a last attempt to write held records, then closes. Returns how many records could not
   * be written (also logged as an error): they are lost, the file ends at its last durable line.
   */
  close(): number {
    if (this.fd === undefined) return 0;
    this.flush();
    this.cancelRetry();
    const lost = this.pending.length;
    if (lost > 0) {
      log.error('journal closed with records not written', {
        path: this.path,
        records: lost,
        first_seq: this.seq - lost,
        error: this.failure,
      });
    }
    this.pending.length = 0;
    this.failure = undefined;
    closeSync(this.fd);
    this.fd = undefined;
    return lost;
  }

  /** Writes held records oldest first; stops at the first that cannot be written. True when none is left. */
  private writePending(): boolean {
    // A hook that appends would re-enter here mid-loop; the outer loop writes its record.
    if (this.fd === undefined || this.flushing) return this.pending.length === 0;
    this.flushing = true;
    try {
      let immediate = 0;
      while (this.pending.length > 0) {
        try {
          this.writeLine(this.fd, this.pending[0]!);
        } catch (e) {
          this.cutBack(this.fd);
          if (isNoSpace(e) && immediate < MAX_IMMEDIATE_RETRIES && this.askForSpace()) {
            immediate++;
            continue;
          }
          this.noteFailure(asError(e));
          return false;
        }
        immediate = 0;
        this.pending.shift();
        if (this.failure) this.writtenInEpisode++;
      }
      return true;
    } finally {
      this.flushing = false;
    }
  }

  private writeLine(fd: number, bytes: Buffer): void {
    if (this.dirty) {
      ftruncateSync(fd, this.durableBytes);
      fdatasyncSync(fd);
      this.dirty = false;
    }
    // From the first byte on, the tail may hold part of this line until it is durable.
    this.dirty = true;
    // One write() per record: O_APPEND makes it land whole after the previous one. A full
    // filesystem gives a short write and then ENOSPC; the caller cuts the part back.
    let off = 0;
    while (off < bytes.length) {
      const n = writeSync(fd, bytes, off, bytes.length - off);
      if (n <= 0) throw new EvidenceError(`journal ${this.path}: write() wrote nothing`);
      off += n;
    }
    fdatasyncSync(fd);
    this.durableBytes += bytes.length;
    this.dirty = false;
  }

  /**
   * Cuts the file back to its last durable line, so no partial line stays for the next record
   * to be glued onto. If that fails too, the next write attempt cuts first.
   */
  private cutBack(fd: number): void {
    try {
      ftruncateSync(fd, this.durableBytes);
      fdatasyncSync(fd);
      this.dirty = false;
    } catch (e) {
      this.dirty = true;
      log.warn('journal could not be cut back to its last complete line; will retry before the next write', { path: this.path, error: asError(e) });
    }
  }

  private askForSpace(): boolean {
    try {
      return this.noSpaceHook?.() === true;
    } catch (e) {
      log.warn('onNoSpace hook failed', { path: this.path, error: asError(e) });
      return false;
    }
  }

  private noteFailure(err: Error): void {
    if (!this.failure) {
      this.failure = err;
      this.failureReported = false;
      this.writtenInEpisode = 0;
      log.error('journal write failed; holding records in memory and retrying', { path: this.path, code: errnoCode(err), error: err, pending: this.pending.length });
    }
    this.scheduleRetry();
  }

  /** Emits the episode's events once the state is consistent (after `record`, outside the write loop). */
  private reportEpisode(): void {
    if (this.failure && !this.failureReported) {
      this.failureReported = true;
      this.emit('writeFailed', this.failure);
    }
    if (this.failure && this.pending.length === 0) {
      const n = this.writtenInEpisode;
      this.failure = undefined;
      this.backoff.reset();
      this.cancelRetry();
      log.info('journal writes recovered', { path: this.path, records: n });
      this.emit('writeRecovered', n);
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.fd === undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, this.backoff.next());
    // Held records must not keep a stopping process alive; close() makes the last attempt.
    this.retryTimer.unref();
  }

  private cancelRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
