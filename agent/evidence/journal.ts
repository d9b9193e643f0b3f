/**
 * The shift journal: `journal.jsonl`, append-only, one JSON record per line, hash-chained.
 *
 * Each line is the UTF-8 JSON of one object whose first keys are, in this order,
 * `seq`, `type`, `at`, `prev`, followed by the record's own fields. `prev` is the hex SHA-256 of
 * the previous line's exact bytes (without its `\n`); 64 zeros for line 0. Lines end with `\n`.
 * Every append is written with one write() and fdatasync'd before `append` returns, so a
 * record the agent has acted on is on disk (docs/evidence-format.md is the full contract).
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, writeSync, existsSync, writeFileSync, fsyncSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, basename } from 'node:path';
import { TypedEmitter } from '../lib/typed-emitter.js';
import { EvidenceError } from '../lib/errors.js';
import { fsyncDir } from '../lib/atomic.js';

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
 * Parses a journal's bytes for the writer's recovery. It trusts nothing: a complete line that is
 * not a JSON object is an error (the verifier, not this, reports tampering in detail).
 */
export function parseJournal(buf: Buffer): ParsedJournal {
  const lastNl = buf.lastIndexOf(0x0a);
  const goodBytes = lastNl + 1;
  const tornTail = goodBytes < buf.length ? buf.subarray(goodBytes) : undefined;
  const text = buf.subarray(0, goodBytes).toString('utf8');
  const lines = text.length ? text.slice(0, -1).split('\n') : [];
  const records: JournalRecord[] = [];
  let head = ZERO_HASH;
  lines.forEach((line, i) => {
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      throw new EvidenceError(`journal line ${i} is not JSON`);
    }
    if (typeof rec !== 'object' || rec === null || typeof (rec as JournalRecord).seq !== 'number') {
      throw new EvidenceError(`journal line ${i} is not a record`);
    }
    records.push(rec as JournalRecord);
    head = sha256Hex(line);
  });
  return { records, lines, head, tornTail, goodBytes };
}

export interface JournalEvents extends Record<string, unknown[]> {
  record: [WrittenRecord];
}

/**
 * Appends records to one shift's journal. Opening an existing journal continues its chain; a
 * torn last line (power cut mid-write) is moved aside to `journal.torn-<n>` with its hash, the
 * file is cut back to its last complete line, and a `recovery` record says so, so the chain
 * stays verifiable and the torn bytes stay inspectable.
 */
export class Journal extends TypedEmitter<JournalEvents> {
  private fd: number | undefined;
  private seq = 0;
  private headHash = ZERO_HASH;
  private last: JournalRecord | undefined;
  readonly path: string;

  constructor(readonly dir: string, private readonly now: () => number = Date.now, fileName = JOURNAL_FILE) {
    super();
    this.path = join(dir, fileName);
  }

  /** Opens (creating if needed) and recovers the chain. Returns the records already present. */
  open(): JournalRecord[] {
    const existed = existsSync(this.path);
    const fd = openSync(this.path, 'a+', 0o640);
    const buf = existed ? readFileSync(this.path) : Buffer.alloc(0);
    const parsed = parseJournal(buf);
    this.fd = fd;
    this.seq = parsed.records.length;
    this.headHash = parsed.head;
    this.last = parsed.records.at(-1);
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
    return parsed.records;
  }

  append(type: RecordType | string, fields: Fields = {}, atMs?: number): WrittenRecord {
    if (this.fd === undefined) throw new EvidenceError(`journal ${this.path} is not open`);
    // `at` never goes backwards within a journal (a verifier may rightly flag that as tampering).
    const lastAt = this.last ? Date.parse(this.last.at) : -Infinity;
    const line = formatLine(this.seq, type, Math.max(atMs ?? this.now(), lastAt), this.headHash, fields);
    const bytes = Buffer.from(line + '\n');
    // One write() per record: O_APPEND makes it land whole after the previous one.
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    fdatasyncSync(this.fd);
    const record = JSON.parse(line) as JournalRecord;
    const written: WrittenRecord = { record, line, hash: sha256Hex(line) };
    this.seq++;
    this.headHash = written.hash;
    this.last = record;
    this.emit('record', written);
    return written;
  }

  get head(): string {
    return this.headHash;
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

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
