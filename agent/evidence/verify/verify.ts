/**
 * The offline verifier: checks one shift directory against docs/evidence-format.md and the
 * device's public key (always the one given by the caller: a key found inside the shift proves
 * nothing). It reads everything, trusts nothing, and reports every finding with its place
 * instead of stopping at the first.
 *
 * This file reads the inputs, checks the chain, signatures and shift end, and composes the report;
 * segments.ts checks the segment records and the files, timeline.ts builds the timeline, the
 * coverage and the totals, media.ts decrypts and decodes.
 */
import type { KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dutySummary } from '../../duty/report-duty.js';
import { keyIdOf } from '../crypto.js';
import type { FileDigest } from '../file-hash.js';
import { hashThreadsFor, startHashing, type HashJob } from '../hash-pool.js';
import { Findings, UnusableInputError, checkSignatures, countsText, groupJournalFollowOns, readChain, reportUnsigned, round3 } from './chain.js';
import { checkMedia } from './media.js';
import { openSentence } from './open-prefix.js';
import { pauseBudgetOf } from './pause-use.js';
import type { Totals, Verdict, VerifyReport } from './report.js';
import { SEGMENT_NAME, checkSegmentFiles, type Listing } from './segments.js';
import { buildTimeline } from './timeline.js';
import { clockSteps, collectTrack } from './track.js';

export { UnusableInputError } from './chain.js';
export { PAUSE_REASONS, GAP_CAUSES, COVERAGE_TOLERANCE_MS } from './timeline.js';

/** A new segment's media_start may differ from the previous media_end of the same run by this much. */
const MEDIA_CONTINUITY_S = 0.1;

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
  // Clock steps journaled by the agent. Every time the agent wrote after a step's record — a
  // record's `at`, a segment's or a gap's bounds — is on the clock after that step (evidence time:
  // agent/lib/evidence-clock.ts); `alignAt` maps each back onto the shift's starting timebase.
  const steps = clockSteps(recs);
  const { segs, segProblem, unsealed, unaccounted, damaged, encrypted } = await checkSegmentFiles({
    dir, J, lines, recs, F, listing, digests: opts.digests, hashing, shiftStart, shiftEnd, open, awaited, steps,
  });

  // ---- media continuity ---------------------------------------------------------------------
  for (let i = 1; i < segs.length; i++) {
    const a = segs[i - 1]!;
    const b = segs[i]!;
    if (a.run === b.run && a.mediaEnd !== undefined && b.mediaStart !== undefined && Math.abs(b.mediaStart - a.mediaEnd) > MEDIA_CONTINUITY_S) {
      F.add('warning', 'policy', 'media_discontinuity', `${J}:${b.line.no}`, `media_start ${b.mediaStart} does not continue ${a.file}'s media_end ${a.mediaEnd} in the same encoder run`);
    }
  }

  // ---- timeline and coverage --------------------------------------------------------------
  const { timeline, t0, t1, mediaS, bytes, faults, gestures, pauseS, gapS, uncoveredS, verifiedThrough, obstructions } = buildTimeline({
    J, lines, recs, F, steps, policy, shiftEnd, open, segs, segProblem, awaited, unsealed, unaccounted, damaged,
  });

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
