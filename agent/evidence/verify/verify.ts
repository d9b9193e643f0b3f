/**
 * The offline verifier: checks one shift directory against docs/evidence-format.md and the
 * device's public key (always the one given by the caller: a key found inside the shift proves
 * nothing). It reads everything, trusts nothing, and reports every finding with its place
 * instead of stopping at the first.
 */
import type { KeyObject } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dutySummary } from '../../duty/report-duty.js';
import { keyIdOf } from '../crypto.js';
import { ENC_SUFFIX, cipherSize, parseHeader } from '../encrypt.js';
import { hashFileSync, type FileDigest } from '../file-hash.js';
import { hashThreadsFor, startHashing, type HashJob, type HashOutcome } from '../hash-pool.js';
import { Findings, UnusableInputError, checkSignatures, countsText, groupJournalFollowOns, parseTime, readChain, reportUnsigned, round3, type Line, type Rec } from './chain.js';
import { holes, type Interval } from './coverage.js';
import { obstructionIntervals } from './obstruction.js';
import { checkMedia } from './media.js';
import { coveredThrough, openSentence } from './open-prefix.js';
import { pauseBudgetOf } from './pause-use.js';
import { periodFirstSegment } from './period-start.js';
import type { TimelineItem, Totals, Verdict, VerifyReport } from './report.js';
import { alignAt, clockSteps, collectTrack } from './track.js';

export { UnusableInputError } from './chain.js';

export const PAUSE_REASONS = ['PERSONAL_NEEDS', 'SENSITIVE_SITE'] as const;
export const GAP_CAUSES = ['encoder_start', 'encoder_crash', 'encoder_stall', 'encoder_reconfigure', 'encoder_stop', 'agent_restart', 'power_loss', 'agent_stopped', 'camera_lost', 'storage_full'] as const;
/** Holes up to this long are clock granularity, not missing evidence (docs: "Coverage rule"). */
export const COVERAGE_TOLERANCE_MS = 250;
/** A new segment's media_start may differ from the previous media_end of the same run by this much. */
const MEDIA_CONTINUITY_S = 0.1;
/** Pauses may overrun their maximum by this much (timer latency, resume to first frame). */
const PAUSE_OVERRUN_S = 5;

const HEX64 = /^[0-9a-f]{64}$/;
const SEGMENT_NAME = /^seg-(\d{6})\.ts(\.enc)?$/;
const TORN_NAME = /^journal\.torn-\d+$/;

export interface VerifyOptions {
  readonly shiftDir: string;
  /** The device's Ed25519 public key. */
  readonly publicKey: KeyObject;
  /** Central's X25519 key pair: decrypt media and check plaintext hashes, decoding and frames. */
  readonly central?: { privateKey: KeyObject; publicKey: KeyObject };
  /** Decode plaintext segments with ffprobe and compare frame counts (implied by `central`). */
  readonly probe?: boolean;
  /**
   * A journal ending on a valid signature with no shift_end is the prefix of a shift still recording
   * (docs/live-offload.md): "open", not incomplete. Ingest's end-of-shift check sets false.
   */
  readonly allowOpen?: boolean;
  /**
   * Threads hashing the segment files (hash-pool.ts); default: one per core for a shift worth it,
   * else the calling thread. The report is the same whatever the number.
   */
  readonly hashThreads?: number;
  /**
   * Files of `shiftDir` the caller has just hashed with file-hash.ts (central ingest, checking its
   * download against the manifest): not hashed twice. Only for files nothing can have changed since.
   */
  readonly digests?: ReadonlyMap<string, FileDigest>;
}

function readJournal(dir: string): Buffer {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UnusableInputError(`${dir}: no such directory`);
  }
  if (!st.isDirectory()) throw new UnusableInputError(`${dir}: not a directory`);
  try {
    return readFileSync(join(dir, 'journal.jsonl'));
  } catch {
    throw new UnusableInputError(`${dir}: no readable journal.jsonl: not a shift directory`);
  }
}

/** The shift directory's entries, or what listing it threw (reported where the checks reach the files). */
type Listing = { readonly present: ReadonlyMap<string, { size: number; isFile: boolean }> } | { readonly error: unknown };

function listShift(dir: string): Listing {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    return { error: new UnusableInputError(`${dir}: cannot list: ${(e as Error).message}`) };
  }
  const present = new Map<string, { size: number; isFile: boolean }>();
  try {
    for (const n of names) {
      const st = statSync(join(dir, n));
      present.set(n, { size: st.size, isFile: st.isFile() });
    }
  } catch (e) {
    return { error: e };
  }
  return { present };
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

/**
 * Reads the journal and lists the directory, then hashes every segment file on every core while
 * the journal's chain and signatures are checked (hash-pool.ts): the checks then take each file's
 * digest in journal order, so the findings are those of one file after the other.
 */
export async function verifyShift(opts: VerifyOptions): Promise<VerifyReport> {
  const dir = opts.shiftDir;
  const buf = readJournal(dir);
  const listing = listShift(dir);
  const names: string[] = [];
  let bytes = 0;
  if ('present' in listing) {
    for (const [n, p] of listing.present) {
      if (p.isFile && SEGMENT_NAME.test(n) && !opts.digests?.has(n)) {
        names.push(n);
        bytes += p.size;
      }
    }
  }
  names.sort();
  const hashing = startHashing(names.map((n) => join(dir, n)), opts.hashThreads ?? hashThreadsFor(names.length, bytes));
  try {
    return await checkShift(opts, buf, listing, { names, job: hashing });
  } finally {
    hashing.cancel();
  }
}

async function checkShift(opts: VerifyOptions, buf: Buffer, listing: Listing, hashing: { names: readonly string[]; job: HashJob }): Promise<VerifyReport> {
  const dir = opts.shiftDir;
  const F = new Findings();
  const J = 'journal.jsonl';
  const keyId = keyIdOf(opts.publicKey);

  // ---- lines, JSON, seq, chain (shared with the device journal: chain.ts) ---------------------
  const chain = readChain(buf, J, F);
  const { lines, recs, head } = chain;
  if (lines.length === 0 || recs.length === 0) {
    throw new UnusableInputError(`${join(dir, J)}: no journal record in it (${buf.length} bytes)`);
  }

  const first = lines[0]!.rec;
  const shiftStart = first?.type === 'shift_start' ? first : undefined;
  if (!shiftStart) F.tampered('no_shift_start', `${J}:1`, `the first record is ${JSON.stringify(first?.type)}, not shift_start`);
  const shiftId = typeof shiftStart?.shift_id === 'string' ? shiftStart.shift_id : null;
  const deviceId = typeof shiftStart?.device_id === 'string' ? shiftStart.device_id : null;
  const policy = (shiftStart?.policy ?? {}) as Record<string, unknown>;

  // ---- signatures -----------------------------------------------------------------------------
  const sigs = checkSignatures(chain, { publicKey: opts.publicKey, keyId, file: J, subjectId: shiftId, subjectLabel: 'shift', deviceId }, F);
  const { signatures, validSignatures, signedThrough, unsignedTail } = sigs;
  reportUnsigned(chain, sigs, J, keyId, F, (from) => {
    const trailing = recs.filter((l) => l.no >= from && l.rec.type === 'segment');
    const trailingS = trailing.reduce((a, l) => a + ((Number(l.rec.media_end) - Number(l.rec.media_start)) || 0), 0);
    return `, ${trailing.length} segment(s), ${round3(trailingS)} s of media`;
  });
  groupJournalFollowOns(chain, J, F);
  // Signing cadence: the device's own policy, so a deviation is a policy note, not tampering.
  const signEvery = typeof policy.signEverySegments === 'number' ? policy.signEverySegments : undefined;
  if (signEvery !== undefined) {
    let since = 0;
    for (const l of recs) {
      if (l.rec.type === 'segment') since++;
      else if (l.rec.type === 'signature') since = 0;
      if (since > signEvery) {
        F.add('warning', 'policy', 'signature_interval', `${J}:${l.no}`, `more than ${signEvery} segments without a signature`);
        since = 0;
      }
    }
  }

  // ---- shift end ------------------------------------------------------------------------------
  const endIdx = recs.findIndex((l) => l.rec.type === 'shift_end');
  const shiftEnd = endIdx >= 0 ? recs[endIdx]! : undefined;
  // Open: the whole journal is authenticated up to its last line, a signature, and the shift goes on.
  const open = opts.allowOpen !== false && !shiftEnd && chain.torn.length === 0 && signedThrough === lines.length - 1;
  const awaited = new Set<string>(); // open: segments the prefix names, their file not arrived yet
  if (!shiftEnd) {
    if (!open) F.incomplete('no_shift_end', J, 'no shift_end record: the shift was not closed (agent still running, crashed or lost power, or the journal was cut)');
  } else {
    for (const l of recs.slice(endIdx + 1)) {
      if (l.rec.type !== 'signature') F.tampered('after_shift_end', `${J}:${l.no}`, `a ${String(l.rec.type)} record after shift_end`);
    }
  }

  // ---- segments and files ---------------------------------------------------------------------
  if ('error' in listing) throw listing.error;
  const present = listing.present;
  const referenced = new Set<string>(['journal.jsonl']);
  /** Digests by file name: the pool's, the caller's, and any other file hashed here when asked. */
  const digests = new Map<string, HashOutcome>(opts.digests ?? []);
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

  interface Seg {
    line: Line & { rec: Rec };
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
  // Clock steps journaled by the agent. Every time the agent wrote after a step's record — a
  // record's `at`, a segment's or a gap's bounds — is on the clock after that step (evidence time:
  // agent/lib/evidence-clock.ts); `alignAt` maps each back onto the shift's starting timebase.
  const steps = clockSteps(recs);
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

  // ---- media continuity ---------------------------------------------------------------------
  for (let i = 1; i < segs.length; i++) {
    const a = segs[i - 1]!;
    const b = segs[i]!;
    if (a.run === b.run && a.mediaEnd !== undefined && b.mediaStart !== undefined && Math.abs(b.mediaStart - a.mediaEnd) > MEDIA_CONTINUITY_S) {
      F.add('warning', 'policy', 'media_discontinuity', `${J}:${b.line.no}`, `media_start ${b.mediaStart} does not continue ${a.file}'s media_end ${a.mediaEnd} in the same encoder run`);
    }
  }

  // ---- timeline and coverage --------------------------------------------------------------
  const segOfLine = new Map(segs.map((x) => [x.line.no, x]));
  const timeline: TimelineItem[] = [];
  const t0 = lines[0]?.atMs;
  const lastLine = [...recs].reverse().find((l) => l.atMs !== undefined);
  const lastAt = lastLine ? alignAt(steps, lastLine.no, lastLine.atMs) : undefined;
  // The shift ends when the end was decided (`shift_end.end`); the record itself is written after
  // the encoder has drained, so its `at` is later.
  const t1 = (shiftEnd ? alignAt(steps, shiftEnd.no, parseTime(shiftEnd.rec.end) ?? shiftEnd.atMs) : undefined) ?? lastAt;
  const covered: Interval[] = [];
  const unverifiedCover = new Set<Interval>(); // a segment not verified (awaited, altered): verified-through stops there
  const pauseS: Record<string, number> = {};
  const gapS: Record<string, number> = {};
  let mediaS = 0;
  let bytes = 0;
  let faults = 0;
  let gestures = 0;
  let openPause: { at: number; reason: string; line: Line & { rec: Rec }; maxS: number | undefined } | undefined;
  const closePause = (closeAt: number): void => {
    if (!openPause) return;
    const p = openPause;
    const endMs = Math.max(closeAt, p.at);
    openPause = undefined;
    const allowed = (PAUSE_REASONS as readonly string[]).includes(p.reason);
    if (allowed) covered.push({ start: p.at, end: endMs });
    pauseS[p.reason] = (pauseS[p.reason] ?? 0) + (endMs - p.at) / 1000;
    timeline.push({ kind: 'pause', start: p.at, end: endMs, label: p.reason, line: p.line.no });
    if (p.maxS !== undefined && (endMs - p.at) / 1000 > p.maxS + PAUSE_OVERRUN_S) {
      F.add('warning', 'policy', 'pause_over_max', `${J}:${p.line.no}`, `${p.reason} pause lasted ${round3((endMs - p.at) / 1000)} s, its maximum is ${p.maxS} s`);
    }
  };
  for (const l of recs) {
    const r = l.rec;
    const at = alignAt(steps, l.no, l.atMs);
    const where = `${J}:${l.no}`;
    switch (r.type) {
      case 'segment': {
        const s = segOfLine.get(l.no)!;
        if (s.start !== undefined && s.end !== undefined) {
          const iv = { start: s.start, end: s.end };
          covered.push(iv);
          if (awaited.has(s.file) || segProblem.has(s)) unverifiedCover.add(iv);
          timeline.push({ kind: 'media', start: s.start, end: s.end, label: s.file, line: l.no });
        }
        mediaS += s.mediaStart !== undefined && s.mediaEnd !== undefined ? s.mediaEnd - s.mediaStart : s.start !== undefined && s.end !== undefined ? (s.end - s.start) / 1000 : 0;
        bytes += Math.max(0, s.bytes);
        break;
      }
      case 'pause': {
        if (at === undefined) break;
        if (openPause) closePause(at);
        const reason = typeof r.reason === 'string' ? r.reason : '(none)';
        if (!(PAUSE_REASONS as readonly string[]).includes(reason)) {
          F.tampered('pause_reason', where, `pause reason ${JSON.stringify(r.reason)} is not one of ${PAUSE_REASONS.join(', ')}: the pause does not cover the timeline`);
        }
        const maxS = typeof r.max_s === 'number' ? r.max_s : reason === 'PERSONAL_NEEDS' ? (policy.personalNeedsMaxS as number | undefined) : (policy.sensitiveSiteMaxS as number | undefined);
        openPause = { at, reason, line: l, maxS };
        break;
      }
      case 'resume':
        if (at !== undefined) {
          if (openPause) closePause(at);
          else {
            const w = F.add('warning', 'note', 'resume_without_pause', where, 'resume without a preceding pause');
            // The pause may have been on a damaged line since the last pause or resume.
            const since = [...recs].reverse().find((x) => x.no < l.no && (x.rec.type === 'resume' || x.rec.type === 'pause'))?.no ?? 0;
            const d = damaged.find((no) => no > since && no < l.no);
            if (d !== undefined) F.follow(w, F.onLine(J, d));
          }
        }
        break;
      case 'gap': {
        const gs = alignAt(steps, l.no, parseTime(r.start));
        const ge = alignAt(steps, l.no, parseTime(r.end));
        const cause = typeof r.cause === 'string' && r.cause !== '' ? r.cause : undefined;
        if (gs === undefined || ge === undefined || ge < gs) {
          F.tampered('gap_record', where, 'gap start/end are not an interval of RFC 3339 ms times');
          break;
        }
        if (!cause) F.tampered('gap_cause', where, 'gap without a cause: it does not cover the timeline');
        else {
          covered.push({ start: gs, end: ge });
          if (!(GAP_CAUSES as readonly string[]).includes(cause)) F.add('warning', 'note', 'gap_cause_unknown', where, `gap cause ${JSON.stringify(cause)} is not one of the documented causes`);
        }
        gapS[cause ?? '(none)'] = (gapS[cause ?? '(none)'] ?? 0) + (ge - gs) / 1000;
        timeline.push({ kind: 'gap', start: gs, end: ge, label: cause ?? '(none)', line: l.no });
        break;
      }
      case 'fault':
        faults++;
        if (at !== undefined) timeline.push({ kind: 'fault', start: at, end: at, label: String(r.fault ?? 'fault'), line: l.no });
        break;
      case 'gesture':
        gestures++;
        if (at !== undefined) {
          const what = [r.button, r.gesture].filter((v) => typeof v === 'string').join(' ');
          timeline.push({ kind: 'gesture', start: at, end: at, label: `${what || 'gesture'}${typeof r.outcome === 'string' ? ` → ${r.outcome}` : ''}`, line: l.no });
        }
        break;
      case 'signature':
        if (at !== undefined) timeline.push({ kind: 'signature', start: at, end: at, label: String(r.why ?? 'signature'), line: l.no });
        break;
      case 'recovery':
      case 'degrade':
        if (at !== undefined) timeline.push({ kind: r.type, start: at, end: at, label: String(r.what ?? r.source ?? r.type), line: l.no });
        break;
      case 'shift_end':
        if (t1 !== undefined) closePause(t1);
        break;
      default:
        break;
    }
  }
  if (openPause && t1 !== undefined) closePause(t1);
  let uncoveredS = 0;
  const holesTo = open && t1 !== undefined ? Math.min(t1, covered.reduce((m, c) => Math.max(m, c.end), t0 ?? t1)) : t1;
  // Capped at the `at` of the last line the final signature covers (its own `at` is signed by nothing yet).
  const signedAt = alignAt(steps, lines.length - 1, lines[lines.length - 2]?.atMs) ?? t1;
  const verifiedThrough = open && t0 !== undefined && signedAt !== undefined ? new Date(coveredThrough(covered.filter((c) => !unverifiedCover.has(c)), t0, signedAt, COVERAGE_TOLERANCE_MS)).toISOString() : null;
  if (t0 !== undefined && t1 !== undefined && holesTo !== undefined) {
    for (const h of holes(covered, t0, holesTo, COVERAGE_TOLERANCE_MS)) {
      uncoveredS += (h.end - h.start) / 1000;
      timeline.push({ kind: 'hole', start: h.start, end: h.end, label: 'not covered', line: 0 });
      const before = [...recs].reverse().find((l) => l.atMs !== undefined && l.atMs <= h.start);
      const hole = F.incomplete(
        'coverage_hole',
        before ? `${J}:${before.no}` : J,
        `${round3((h.end - h.start) / 1000)} s from ${new Date(h.start).toISOString()} to ${new Date(h.end).toISOString()} are covered by no segment, pause or gap`,
      );
      // A hole between the records around a damaged line is what that line held (a segment, a pause…).
      const d = damaged.find((no) => {
        const prevAt = [...recs].reverse().find((x) => x.no < no && x.atMs !== undefined)?.atMs;
        const nextAt = recs.find((x) => x.no > no && x.atMs !== undefined)?.atMs;
        return prevAt !== undefined && nextAt !== undefined && h.start >= prevAt - COVERAGE_TOLERANCE_MS && h.end <= nextAt + COVERAGE_TOLERANCE_MS;
      });
      if (d !== undefined) {
        F.follow(hole, F.onLine(J, d));
        const segsThere = [...unaccounted].filter(([, line]) => line === d).map(([k]) => `seg-${String(k).padStart(6, '0')}`);
        timeline.push({ kind: 'missing', start: h.start, end: h.end, label: `record on damaged line ${d}${segsThere.length ? ` (${segsThere.join(', ')} unaccounted)` : ''}`, line: d });
      }
    }
    if (!shiftEnd && lastAt !== undefined) {
      // After the last record nothing is known; show it as unsealed when files trail.
      if (unsealed.length) timeline.push({ kind: 'unsealed', start: lastAt, end: lastAt + 2000, label: unsealed.join(', '), line: 0 });
    }
  }
  const obstructions = obstructionIntervals(recs, t1, (line, ms) => alignAt(steps, line, ms));
  timeline.push(...obstructions.timeline);
  timeline.sort((a, b) => a.start - b.start || a.end - b.end);

  // ---- decrypt / decode ---------------------------------------------------------------------
  const mediaChecked = opts.central || opts.probe ? await checkMedia(segs, dir, opts.central, F, segProblem) : 0;
  for (const [s, kind] of segProblem) {
    if (s.start !== undefined && s.end !== undefined) timeline.push({ kind, start: s.start, end: s.end, label: `${s.file} ${kind === 'missing' ? 'missing' : 'altered'}`, line: s.line.no });
  }
  timeline.sort((a, b) => a.start - b.start || a.end - b.end);

  // ---- verdict --------------------------------------------------------------------------------
  const errors = F.list.filter((f) => f.severity === 'error');
  const verdict: Verdict = errors.some((f) => f.category === 'tampered') ? 'tampered' : errors.length ? 'incomplete' : 'intact';
  const totals: Totals = {
    shiftS: t0 !== undefined && t1 !== undefined ? round3((t1 - t0) / 1000) : 0,
    mediaS: round3(mediaS),
    segments: segs.length,
    bytes,
    pauseS: Object.fromEntries(Object.entries(pauseS).map(([k, v]) => [k, round3(v)])),
    gapS: Object.fromEntries(Object.entries(gapS).map(([k, v]) => [k, round3(v)])),
    uncoveredS: round3(uncoveredS),
    faults,
    gestures,
  };
  const fc = F.counts();
  const summary =
    verdict === 'intact' && open
      ? `${openSentence(verifiedThrough)}: ${lines.length} records, chain and ${validSignatures} signature(s) verify with key ${keyId}, ${segs.length - awaited.size} segments match${awaited.size ? `, ${awaited.size} awaited` : ''}`
      : verdict === 'intact'
      ? `intact: ${lines.length} records, chain and ${validSignatures} signature(s) verify with key ${keyId}, ${segs.length} segments match, timeline covered`
      : verdict === 'incomplete'
        ? `incomplete: ${countsText(fc)}${signedThrough >= 0 ? `; authentic up to line ${signedThrough + 1}` : ''}${unsignedTail > 0 && signedThrough >= 0 ? `, ${unsignedTail} unsigned record(s) trail` : ''}`
        : `TAMPERED: ${countsText(fc)}: the evidence differs from what the device signed${open ? ' (shift still open)' : ''}`;
  const findings = F.sorted(J);
  return {
    format: 'bodycam-verify-v1',
    verdict,
    exitCode: verdict === 'intact' ? 0 : 1,
    summary,
    shiftDir: dir,
    shiftId,
    deviceId,
    keyId,
    start: t0 !== undefined ? new Date(t0).toISOString() : null,
    end: t1 !== undefined ? new Date(t1).toISOString() : null,
    open,
    verifiedThrough,
    awaited: [...awaited],
    journal: { lines: lines.length, head, signatures, validSignatures, signedThroughLine: signedThrough + 1, unsignedTail: signedThrough >= 0 ? unsignedTail : lines.length, chainBrokenLine: chain.chainBrokenAt === Infinity ? null : chain.chainBrokenAt + 1, closed: !!shiftEnd },
    encrypted,
    mediaChecked,
    totals,
    timeline,
    findings,
    findingCounts: fc,
    duty: dutySummary(recs.map((l) => l.rec)),
    obstructions: obstructions.summary,
    pauseBudget: pauseBudgetOf(recs, totals.pauseS),
    track: collectTrack(recs, steps),
    clockSteps: steps,
  };
}
