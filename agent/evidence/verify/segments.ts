/**
 * The verifier's segment and file checks (verify.ts): each `segment` record's fields, names and
 * numbering in journal order, every file of the shift dir against the record naming it (size and
 * SHA-256, from the hash pool), journaled torn tails and damaged-journal copies, encrypted
 * containers' key-free checks, and the files nobody journaled (the segment being written at a
 * stop, unaccounted ones after a damaged line, extra files).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ENC_SUFFIX, cipherSize, parseHeader } from '../encrypt.js';
import { hashFileSync, type FileDigest } from '../file-hash.js';
import type { HashJob, HashOutcome } from '../hash-pool.js';
import { parseTime, type Findings, type Line, type RecLine, type Rec } from './chain.js';
import { periodFirstSegment } from './period-start.js';
import { alignAt, type ClockStepItem } from './track.js';

const HEX64 = /^[0-9a-f]{64}$/;
export const SEGMENT_NAME = /^seg-(\d{6})\.ts(\.enc)?$/;
const TORN_NAME = /^journal\.torn-\d+$/;

/** The shift directory's entries, or what listing it threw (reported where the checks reach the files). */
export type Listing = { readonly present: ReadonlyMap<string, { size: number; isFile: boolean }> } | { readonly error: unknown };

export interface Seg {
  line: RecLine;
  file: string;
  sha: string;
  bytes: number;
  start: number | undefined;
  end: number | undefined;
  mediaStart: number | undefined;
  mediaEnd: number | undefined;
  run: unknown;
  frames: unknown;
  ok: boolean;
}

export interface SegmentInputs {
  readonly dir: string;
  /** The journal's name in findings. */
  readonly J: string;
  readonly lines: readonly Line[];
  readonly recs: readonly RecLine[];
  readonly F: Findings;
  readonly listing: Listing;
  /** Files the caller hashed already (VerifyOptions.digests). */
  readonly digests: ReadonlyMap<string, FileDigest> | undefined;
  /** The pool hashing the segment files, in `names` order. */
  readonly hashing: { readonly names: readonly string[]; readonly job: HashJob };
  readonly shiftStart: Rec | undefined;
  readonly shiftEnd: RecLine | undefined;
  /** The journal is an open shift's signed prefix: a file not there yet is awaited, not missing. */
  readonly open: boolean;
  /** Filled here: segments the open prefix names whose file has not arrived. */
  readonly awaited: Set<string>;
  readonly steps: readonly ClockStepItem[];
}

export interface SegmentsChecked {
  readonly segs: Seg[];
  /** Segments whose file is gone or differs from its record: marked on the timeline. */
  readonly segProblem: Map<Seg, 'altered' | 'missing'>;
  /** The file being written when the agent stopped (never sealed). */
  readonly unsealed: string[];
  /** Segment number → the damaged line its record was presumably on. */
  readonly unaccounted: Map<number, number>;
  /** Journal lines that are not records. */
  readonly damaged: number[];
  readonly encrypted: boolean;
}

export async function checkSegmentFiles(x: SegmentInputs): Promise<SegmentsChecked> {
  const { dir, J, lines, recs, F, listing, hashing, shiftStart, shiftEnd, open, awaited, steps } = x;
  if ('error' in listing) throw listing.error;
  const present = listing.present;
  const referenced = new Set<string>(['journal.jsonl']);
  /** Digests by file name: the pool's, the caller's, and any other file hashed here when asked. */
  const digests = new Map<string, HashOutcome>(x.digests ?? []);
  const hashOf = (n: string): string => {
    let d = digests.get(n);
    if (!d) {
      try {
        d = hashFileSync(join(dir, n));
      } catch (e) {
        d = e instanceof Error ? e : new Error(String(e));
      }
      digests.set(n, d);
    }
    if (d instanceof Error) throw d; // unreadable: as reading it here would have thrown
    return d.sha256;
  };

  const segs: Seg[] = [];
  /** Segments whose file is gone or differs from its record: marked on the timeline. */
  const segProblem = new Map<Seg, 'altered' | 'missing'>();
  // Journal lines that are not records (garbage, a bit flip): what they held is unknown.
  const damaged = lines.filter((l) => l.rec === undefined).map((l) => l.no);
  /** Segment number → the damaged line its record was presumably on. */
  const unaccounted = new Map<number, number>();
  let skipped = 0;
  let lastSegLine = 0;
  let orderCause: ReturnType<typeof F.tampered> | undefined;
  let orderShift = 0;
  const byHash = new Map<string, string>(); // journaled sha256 -> file
  // A custody period opened by a rotation numbers on from the closing period (the encoder ran on):
  // its first number is in the signed shift_start (periods.ts checks it against the closing period).
  const firstSegment = periodFirstSegment(shiftStart);
  let encrypted = false;
  for (const l of recs) {
    if (l.rec.type !== 'segment') continue;
    const r = l.rec;
    const where = `${J}:${l.no}`;
    const file = typeof r.file === 'string' ? r.file : '';
    const m = SEGMENT_NAME.exec(file);
    const problems: string[] = [];
    if (!m) problems.push(`file ${JSON.stringify(r.file)} is not seg-NNNNNN.ts[.enc]`);
    if (typeof r.sha256 !== 'string' || !HEX64.test(r.sha256)) problems.push('sha256 is not 64 hex digits');
    if (typeof r.bytes !== 'number' || !Number.isInteger(r.bytes) || r.bytes < 0) problems.push('bytes is not a size');
    const start = alignAt(steps, l.no, parseTime(r.start));
    const end = alignAt(steps, l.no, parseTime(r.end));
    if (start === undefined || end === undefined || end < start) problems.push('start/end are not an interval of RFC 3339 ms times');
    if (problems.length) F.tampered('segment_record', where, problems.join('; '));
    const expectNo = segs.length + firstSegment + skipped;
    if (m && Number(m[1]) !== expectNo) {
      const no = Number(m[1]);
      // Lines that are not records before this one may have held the missing segment records: those
      // segments are unaccounted for (their files are reported so), not every later one out of order.
      const damagedBefore = damaged.filter((d) => d < l.no && d > lastSegLine);
      if (no > expectNo && no - expectNo <= damagedBefore.length) {
        for (let k = expectNo; k < no; k++) unaccounted.set(k, damagedBefore[0]!);
        skipped += no - expectNo;
      } else {
        const f = F.tampered('segment_order', where, `${file} is journaled as segment #${expectNo}: segment numbers must run 1, 2, 3… in journal order (records reordered, removed or renamed)`);
        // Later segments off by the same amount follow from this one (one record removed, not twelve).
        if (orderCause && no - expectNo === orderShift) F.follow(f, orderCause);
        else orderCause = f;
        orderShift = no - expectNo;
      }
    } else orderCause = undefined;
    lastSegLine = l.no;
    if (m?.[2]) encrypted = true;
    if (typeof r.invalid === 'string') F.add('warning', 'note', 'segment_invalid', where, `the device journaled ${file} as not valid media: ${r.invalid}`);
    if (referenced.has(file)) F.tampered('segment_duplicate', where, `${file} is journaled twice`);
    referenced.add(file);
    const seg: Seg = {
      line: l,
      file,
      sha: typeof r.sha256 === 'string' ? r.sha256 : '',
      bytes: typeof r.bytes === 'number' ? r.bytes : -1,
      start,
      end,
      mediaStart: typeof r.media_start === 'number' ? r.media_start : undefined,
      mediaEnd: typeof r.media_end === 'number' ? r.media_end : undefined,
      run: r.run,
      frames: r.frames,
      ok: false,
    };
    segs.push(seg);
    if (seg.sha) byHash.set(seg.sha, file);
  }
  const pooled = await hashing.job.outcomes;
  hashing.names.forEach((n, i) => digests.set(n, pooled[i]!));
  // Torn journal tails moved aside by the writer's recovery are evidence too, when journaled.
  for (const l of recs) {
    if (l.rec.type !== 'recovery' || l.rec.what !== 'journal_torn_tail' || typeof l.rec.file !== 'string') continue;
    const f = l.rec.file;
    referenced.add(f);
    const p = present.get(f);
    if (!p) F.tampered('torn_file_missing', `${J}:${l.no}`, `${f} (journaled by this recovery record) is missing`);
    else if (p.size !== l.rec.bytes || hashOf(f) !== l.rec.sha256) F.tampered('torn_file_altered', f, `${f} does not match its recovery record at line ${l.no}`);
  }
  // A damaged journal copied aside as found by the restart that closed the shift (recovery
  // journal_damaged): evidence of what the damage was, checked against the SHA-256 journaled for it.
  for (const l of recs) {
    if (l.rec.type !== 'recovery' || l.rec.what !== 'journal_damaged' || typeof l.rec.set_aside !== 'string') continue;
    const f = l.rec.set_aside;
    referenced.add(f);
    const p = present.get(f);
    if (!p) F.tampered('damaged_copy_missing', `${J}:${l.no}`, `${f} (the damaged journal as found, journaled by this recovery record) is missing`);
    else if (hashOf(f) !== l.rec.sha256) F.tampered('damaged_copy_altered', f, `${f} does not match the SHA-256 its recovery record at line ${l.no} journaled`);
  }
  const unreferenced = [...present.keys()].filter((n) => !referenced.has(n)).sort();
  const claimed = new Set<string>();
  for (const s of segs) {
    if (!s.file) continue;
    const where = s.file;
    const p = present.get(s.file);
    if (!p || !p.isFile) {
      const moved = unreferenced.find((n) => present.get(n)?.isFile && present.get(n)?.size === s.bytes && hashOf(n) === s.sha);
      if (moved) {
        claimed.add(moved);
        F.tampered('segment_renamed', where, `${s.file} (journal line ${s.line.no}) is missing; its exact content is in ${moved}: renamed`);
      } else if (open) {
        awaited.add(s.file);
        F.add('info', 'note', 'segment_awaited', where, `${s.file} (journal line ${s.line.no}) has not arrived yet: the shift is still open`);
        continue;
      } else {
        F.tampered('segment_missing', where, `${s.file} (journal line ${s.line.no}) is missing`);
      }
      segProblem.set(s, 'missing');
      continue;
    }
    if (p.size !== s.bytes || hashOf(s.file) !== s.sha) {
      const other = byHash.get(hashOf(s.file));
      if (other && other !== s.file) {
        F.tampered('segment_swapped', where, `${s.file} holds the content journaled for ${other}: files swapped or reordered`);
      } else {
        F.tampered('segment_hash', where, `${s.file} does not match journal line ${s.line.no}: ${p.size} bytes with SHA-256 ${hashOf(s.file).slice(0, 16)}…, journaled ${s.bytes} bytes with ${s.sha.slice(0, 16)}…`);
      }
      segProblem.set(s, 'altered');
      continue;
    }
    s.ok = true;
    if (s.file.endsWith(ENC_SUFFIX)) {
      // Container checks that need no key: header, name binding, size arithmetic.
      const r = s.line.rec;
      try {
        const h = parseHeader(readHead(join(dir, s.file), 65536 + 134));
        const problems: string[] = [];
        if (h.name !== s.file.slice(0, -ENC_SUFFIX.length)) problems.push(`header names ${JSON.stringify(h.name)}`);
        if (typeof r.recipient === 'string' && h.recipientKeyId.toString('hex') !== r.recipient) problems.push(`header recipient ${h.recipientKeyId.toString('hex')} differs from the journal's ${r.recipient}`);
        if (typeof r.plain_bytes === 'number' && cipherSize(h.headerLength, h.chunkSize, r.plain_bytes) !== s.bytes) problems.push(`size does not fit ${r.plain_bytes} plaintext bytes`);
        if (problems.length) {
          F.tampered('container', s.file, problems.join('; '));
          segProblem.set(s, 'altered');
        }
      } catch (e) {
        F.tampered('container', s.file, (e as Error).message);
        segProblem.set(s, 'altered');
      }
    }
  }
  const maxNo = segs.reduce((m, s) => Math.max(m, Number(SEGMENT_NAME.exec(s.file)?.[1] ?? 0)), 0);
  const unsealed: string[] = [];
  for (const n of unreferenced) {
    if (claimed.has(n)) continue;
    const m = SEGMENT_NAME.exec(n);
    if (m && !shiftEnd && Number(m[1]) === Math.max(maxNo, firstSegment - 1) + 1) {
      unsealed.push(n);
      F.add(open ? 'info' : 'error', open ? 'note' : 'incomplete', 'unsealed_segment', n, `${n} is not in the journal: the segment being written when the agent stopped (never sealed, hash unknown)`);
    } else if (m && unaccounted.has(Number(m[1]))) {
      const d = unaccounted.get(Number(m[1]))!;
      F.follow(
        F.tampered('segment_unaccounted', n, `${n} is unaccounted for: its journal record was presumably on damaged line ${d} (the segments after it are numbered past it), so its hash and times are unknown and it cannot be checked`),
        F.onLine(J, d),
      );
    } else if (TORN_NAME.test(n)) {
      F.tampered('extra_file', n, `${n} is not journaled by any recovery record`);
    } else {
      F.tampered('extra_file', n, `${n} is not part of the journaled evidence${m ? ' (a segment file nobody journaled: added or renamed)' : ''}`);
    }
  }

  return { segs, segProblem, unsealed, unaccounted, damaged, encrypted };
}

/** The first `n` bytes of a file (fewer when it is shorter). */
function readHead(path: string, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    for (let r; got < n && (r = readSync(fd, b, got, n - got, got)) > 0; ) got += r;
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
