/**
 * Verifying an open shift chunk by chunk (docs/live-offload.md): each `live/journal-<from>-<to>.jsonl`
 * continues the chain where the previous one ended and ends on a signature record. The state
 * after chunk k (`LiveState`, plain JSON: central ingest persists it as `live.json`) holds what
 * verifying chunks k+1… needs — the chain head and line count, the coverage so far, every
 * journaled segment with its verdict — so nothing already verified is read or hashed again.
 *
 * Rules (the same as the whole-shift verifier, agent/evidence/verify/verify.ts, on the records a
 * prefix holds): every line a JSON object beginning `seq, type, at, prev`, seq = line − 1, prev =
 * SHA-256 of the previous line; the chunk's last line a signature by the device's registered key
 * over the line before it; segment records numbered 1, 2, 3… with their file's size and SHA-256.
 * A chunk is taken whole or not at all: a chunk with any chain or signature problem leaves the
 * state as it was, with the problem named (`problems`) and the follow halted (`halted`), because
 * nothing after a broken chain can be authenticated. A segment whose bytes differ from its record
 * is named too (tampered), and the chain goes on. A chunk that starts past the next line (a gap:
 * the chunk before it has not arrived) is named but not kept: the next pass looks again.
 */
import type { KeyObject } from 'node:crypto';
import { keyIdOf, verifySubject } from '../crypto.js';
import { ENC_SUFFIX, parseHeader } from '../encrypt.js';
import { ZERO, parseTime, sha256, type Rec } from './chain.js';
import type { Interval } from './coverage.js';
import { coveredThrough, mergeInterval } from './open-prefix.js';
import type { ClockStepItem } from './report.js';
import { alignAt } from './track.js';
import { periodFirstSegment } from './period-start.js';

export const LIVE_STATE_FORMAT = 'bodycam-live-state/1';
/** Same as verify.ts: holes up to this are clock granularity. */
const TOLERANCE_MS = 250;
const PAUSE_REASONS: readonly string[] = ['PERSONAL_NEEDS', 'SENSITIVE_SITE'];
const SEGMENT_NAME = /^seg-(\d{6})\.ts(\.enc)?$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** `live/journal-00000001-00000042.jsonl` */
export const CHUNK_NAME = /^journal-(\d{8})-(\d{8})\.jsonl$/;
export const chunkName = (from: number, to: number): string => `journal-${String(from).padStart(8, '0')}-${String(to).padStart(8, '0')}.jsonl`;

/** Why a chunk or a segment was not accepted: one machine name, where, what. */
export interface LiveProblem {
  readonly kind: string;
  readonly where: string;
  readonly message: string;
}

export interface LiveSegment {
  /** 1-based journal line of its record. */
  readonly line: number;
  readonly sha256: string;
  readonly bytes: number;
  /** Wall-clock ms on the shift's starting timebase. */
  readonly start: number;
  readonly end: number;
  /** awaited: named by a verified chunk, not in the store yet; verified: size and SHA-256 match; altered: they do not. */
  state: 'awaited' | 'verified' | 'altered';
  /** The store's version id of what was hashed (ingest pins it). */
  versionId?: string;
}

/** Everything verifying the next chunk needs; JSON round-trips it exactly. */
export interface LiveState {
  readonly format: typeof LIVE_STATE_FORMAT;
  deviceId: string | null;
  shiftId: string | null;
  readonly keyId: string;
  /** Journal lines verified (the last chunk's `to`). */
  lines: number;
  /** Chain head after line `lines` (64 zeros before any). */
  head: string;
  chunks: number;
  lastChunk: string | null;
  /** shift_start's `at` (ms). */
  t0: number | null;
  /**
   * `at` (ms, aligned) of the last line the last verified signature covers (the line before it:
   * the signature record's own `at` is signed only by the next one).
   */
  signedAt: number | null;
  /** `at` (ms, aligned) of line `lines` (what the next chunk's signature will cover). */
  lastAt: number | null;
  /** A shift_end record was verified: the shift is closed. */
  closed: boolean;
  /** Number of the last segment record seen, or the one before a period's first (the next must be seg-<segmentCount+1>). */
  segmentCount: number;
  segments: Record<string, LiveSegment>;
  /** Merged intervals covered by verified segments, allowed pauses and caused gaps (ms). */
  covered: Interval[];
  /** A pause still open at the last signature: covers from `at` to whatever comes next. */
  openPause: { at: number; reason: string } | null;
  clockSteps: ClockStepItem[];
  encrypted: boolean;
  /** Content bytes hashed for this shift, in all (each segment once). */
  bytesHashed: number;
  /** Covered from t0 through this time (ms): see open-prefix.ts. */
  verifiedThrough: number | null;
  problems: LiveProblem[];
  /** A chain or signature problem: no later chunk can be authenticated. */
  halted: boolean;
}

export function newLiveState(publicKey: KeyObject): LiveState {
  return {
    format: LIVE_STATE_FORMAT, deviceId: null, shiftId: null, keyId: keyIdOf(publicKey), lines: 0, head: ZERO, chunks: 0, lastChunk: null,
    t0: null, signedAt: null, lastAt: null, closed: false, segmentCount: 0, segments: {}, covered: [], openPause: null, clockSteps: [], encrypted: false,
    bytesHashed: 0, verifiedThrough: null, problems: [], halted: false,
  };
}

/** Parses a persisted state; throws on anything that is not one (a foreign or older file is not trusted). */
export function parseLiveState(text: string): LiveState {
  const s = JSON.parse(text) as LiveState;
  if (s?.format !== LIVE_STATE_FORMAT || typeof s.lines !== 'number' || typeof s.head !== 'string' || typeof s.segments !== 'object') {
    throw new Error(`not a ${LIVE_STATE_FORMAT} state`);
  }
  return s;
}

/** The bytes of one segment file and the store's version of them, or undefined when not there yet. */
export type SegmentSource = (file: string) => Promise<{ bytes: Buffer; versionId?: string } | undefined>;

export interface ChunkInput {
  /** Object name, `journal-<from>-<to>.jsonl`. */
  readonly name: string;
  readonly bytes: Buffer;
}

export interface ChunkOutcome {
  readonly accepted: boolean;
  /** Problems this call found (also appended to state.problems). */
  readonly problems: readonly LiveProblem[];
  /** Segment bytes hashed by this call. */
  readonly bytesHashed: number;
}

/**
 * Verifies one chunk against the state after the previous one and, when it is sound, advances the
 * state (in place). Then looks for awaited segments (all of them, old ones too) through `fetch`.
 */
export async function verifyChunk(state: LiveState, chunk: ChunkInput, publicKey: KeyObject, fetch: SegmentSource): Promise<ChunkOutcome> {
  const found: LiveProblem[] = [];
  /** halt: a problem of the evidence (kept in state.problems, the follow stops); else a wait (not kept: the next pass looks again). */
  const refuse = (kind: string, where: string, message: string, halt = true): ChunkOutcome => {
    found.push({ kind, where, message });
    if (halt) {
      state.problems.push(...found);
      state.halted = true;
    }
    return { accepted: false, problems: found, bytesHashed: 0 };
  };
  if (state.halted) return { accepted: false, problems: [], bytesHashed: 0 };
  const m = CHUNK_NAME.exec(chunk.name);
  if (!m) return refuse('chunk_name', chunk.name, 'not journal-<from>-<to>.jsonl with 8-digit line numbers');
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (from !== state.lines + 1) {
    // A gap may still be filled (the chunk before is on its way): named, not kept; an overlap never can.
    if (from > state.lines + 1) return refuse('chunk_gap', chunk.name, `starts at line ${from}: lines ${state.lines + 1}-${from - 1} are in no chunk`, false);
    return refuse('chunk_overlap', chunk.name, `starts at line ${from}, but lines through ${state.lines} are verified already`);
  }
  const next = structuredClone(state);
  const where = (no: number): string => `${chunk.name}:${no}`;
  const b = chunk.bytes;
  if (b.length === 0 || b[b.length - 1] !== 0x0a) return refuse('chunk_torn', chunk.name, 'does not end in a line feed');
  const raw: Buffer[] = [];
  for (let off = 0; off < b.length; ) {
    const nl = b.indexOf(0x0a, off);
    raw.push(b.subarray(off, nl));
    off = nl + 1;
  }
  if (raw.length !== to - from + 1) return refuse('chunk_lines', chunk.name, `holds ${raw.length} lines, its name says ${to - from + 1} (lines ${from}-${to})`);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const pending: Array<{ no: number; rec: Rec }> = [];
  for (let i = 0; i < raw.length; i++) {
    const no = from + i;
    let rec: Rec;
    try {
      rec = JSON.parse(utf8.decode(raw[i])) as Rec;
    } catch {
      return refuse('line_not_json', where(no), `journal line ${no} is not valid UTF-8 JSON`);
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return refuse('line_not_record', where(no), `journal line ${no} is not an object`);
    if (Object.keys(rec).slice(0, 4).join(',') !== 'seq,type,at,prev') return refuse('key_order', where(no), `journal line ${no} does not begin with seq, type, at, prev`);
    if (rec.seq !== no - 1) return refuse('seq', where(no), `journal line ${no} has seq ${JSON.stringify(rec.seq)}, expected ${no - 1}: records removed, inserted or reordered`);
    if (parseTime(rec.at) === undefined) return refuse('timestamp', where(no), `at ${JSON.stringify(rec.at)} is not RFC 3339 UTC with milliseconds`);
    if (rec.prev !== next.head) {
      return refuse('chain_broken', where(no), no === 1 ? 'prev of the first line must be 64 zeros' : `prev does not match the SHA-256 of journal line ${no - 1}: this chunk does not continue the verified chain (altered, or lines removed or inserted)`);
    }
    if (no === 1 && rec.type === 'shift_start' && typeof rec.shift_id === 'string') next.shiftId = rec.shift_id;
    if (rec.type === 'signature') {
      const bad = signatureProblem(rec, no, next, publicKey);
      if (bad) return refuse(bad.kind, where(no), bad.message);
    }
    next.head = sha256(raw[i]!);
    pending.push({ no, rec });
  }
  const last = pending[pending.length - 1]!;
  if (last.rec.type !== 'signature') return refuse('chunk_unsigned', where(last.no), `the chunk ends on a ${String(last.rec.type)} record, not a signature: its lines are not authenticated`);

  // ---- sound: take its records into the state
  for (const { no, rec } of pending) {
    const p = applyRecord(next, no, rec);
    if (p) return refuse(p.kind, where(no), p.message);
  }
  next.lines = to;
  next.chunks++;
  next.lastChunk = chunk.name;
  const covered = pending.length >= 2 ? pending[pending.length - 2]! : undefined;
  next.signedAt = covered ? (alignAt(next.clockSteps, covered.no, parseTime(covered.rec.at)) ?? null) : state.lastAt;
  next.lastAt = alignAt(next.clockSteps, last.no, parseTime(last.rec.at)) ?? null;
  Object.assign(state, next);
  const hashed = await fetchAwaited(state, fetch, found);
  state.problems.push(...found);
  return { accepted: true, problems: found, bytesHashed: hashed };
}

/**
 * Looks for every awaited segment again (no new chunk needed): the camera uploads a segment after
 * the record that seals it, so it may arrive after the chunk naming it.
 */
export async function fetchAwaited(state: LiveState, fetch: SegmentSource, found: LiveProblem[] = []): Promise<number> {
  let hashed = 0;
  for (const [file, seg] of Object.entries(state.segments)) {
    if (seg.state !== 'awaited') continue;
    const got = await fetch(file);
    if (!got) continue;
    hashed += got.bytes.length;
    state.bytesHashed += got.bytes.length;
    seg.versionId = got.versionId;
    const sha = sha256(got.bytes);
    if (got.bytes.length !== seg.bytes || sha !== seg.sha256) {
      seg.state = 'altered';
      found.push({ kind: 'segment_hash', where: file, message: `${file} does not match journal line ${seg.line}: ${got.bytes.length} bytes with SHA-256 ${sha.slice(0, 16)}…, journaled ${seg.bytes} bytes with ${seg.sha256.slice(0, 16)}…` });
      continue;
    }
    if (file.endsWith(ENC_SUFFIX)) {
      // What needs no key: the container names the segment it holds (media stays ciphertext).
      try {
        const h = parseHeader(got.bytes);
        if (h.name !== file.slice(0, -ENC_SUFFIX.length)) throw new Error(`header names ${JSON.stringify(h.name)}`);
      } catch (e) {
        seg.state = 'altered';
        found.push({ kind: 'container', where: file, message: (e as Error).message });
        continue;
      }
    }
    seg.state = 'verified';
    state.covered = mergeInterval(state.covered, { start: seg.start, end: seg.end }, TOLERANCE_MS);
  }
  updateThrough(state);
  return hashed;
}

function updateThrough(s: LiveState): void {
  if (s.t0 === null || s.signedAt === null) return;
  const cover = s.openPause && PAUSE_REASONS.includes(s.openPause.reason) ? mergeInterval(s.covered, { start: s.openPause.at, end: s.signedAt }, TOLERANCE_MS) : s.covered;
  s.verifiedThrough = coveredThrough(cover, s.t0, s.signedAt, TOLERANCE_MS);
}

function signatureProblem(r: Rec, no: number, s: LiveState, publicKey: KeyObject): LiveProblem | undefined {
  const shiftId = s.shiftId;
  if (r.alg !== 'ed25519' || r.covers_seq !== no - 2 || r.head !== r.prev || typeof r.sig !== 'string' || typeof r.device_id !== 'string' || typeof r.shift_id !== 'string') {
    return { kind: 'signature_fields', where: '', message: `malformed signature record at journal line ${no}` };
  }
  if (shiftId && r.shift_id !== shiftId) return { kind: 'signature_fields', where: '', message: `signs shift ${JSON.stringify(r.shift_id)}, not ${JSON.stringify(shiftId)}` };
  if (!verifySubject(publicKey, { deviceId: r.device_id, shiftId: r.shift_id, coversSeq: r.covers_seq, head: r.head as string }, r.sig)) {
    return r.key_id !== s.keyId
      ? { kind: 'signature_other_key', where: '', message: `signature at journal line ${no} is not by the registered key ${s.keyId} (it names ${JSON.stringify(r.key_id)})` }
      : { kind: 'signature_invalid', where: '', message: `signature at journal line ${no} does not verify with key ${s.keyId}: lines 1-${no - 1} were altered` };
  }
  return undefined;
}

/** Takes one authenticated record into the state; a record that breaks the format is a problem. */
function applyRecord(s: LiveState, no: number, r: Rec): { kind: string; message: string } | undefined {
  const at = alignAt(s.clockSteps, no, parseTime(r.at));
  if (s.closed && r.type !== 'signature') return { kind: 'after_shift_end', message: `a ${String(r.type)} record at journal line ${no}, after shift_end` };
  switch (r.type) {
    case 'shift_start':
      if (no !== 1) return { kind: 'shift_start', message: `shift_start at journal line ${no}` };
      s.t0 = parseTime(r.at) ?? null;
      s.shiftId = typeof r.shift_id === 'string' ? r.shift_id : null;
      s.deviceId = typeof r.device_id === 'string' ? r.device_id : null;
      // A custody period continuing a rotation numbers on from the closing period.
      s.segmentCount = periodFirstSegment(r) - 1;
      break;
    case 'time_sync':
      if (typeof r.step_ms === 'number') s.clockSteps.push({ line: no, stepMs: r.step_ms, before: typeof r.before === 'string' ? r.before : null, after: typeof r.after === 'string' ? r.after : null });
      break;
    case 'segment': {
      const file = typeof r.file === 'string' ? r.file : '';
      const m = SEGMENT_NAME.exec(file);
      const start = alignAt(s.clockSteps, no, parseTime(r.start));
      const end = alignAt(s.clockSteps, no, parseTime(r.end));
      if (!m || typeof r.sha256 !== 'string' || !HEX64.test(r.sha256) || typeof r.bytes !== 'number' || start === undefined || end === undefined || end < start) {
        return { kind: 'segment_record', message: `segment record at journal line ${no} lacks a seg-NNNNNN name, SHA-256, size or interval` };
      }
      if (Number(m[1]) !== s.segmentCount + 1) return { kind: 'segment_order', message: `${file} is journaled as segment #${s.segmentCount + 1}` };
      s.segmentCount++;
      if (m[2]) s.encrypted = true;
      s.segments[file] = { line: no, sha256: r.sha256, bytes: r.bytes, start, end, state: 'awaited' };
      break;
    }
    case 'gap': {
      const gs = alignAt(s.clockSteps, no, parseTime(r.start));
      const ge = alignAt(s.clockSteps, no, parseTime(r.end));
      if (gs !== undefined && ge !== undefined && ge >= gs && typeof r.cause === 'string' && r.cause !== '') s.covered = mergeInterval(s.covered, { start: gs, end: ge }, TOLERANCE_MS);
      break;
    }
    case 'pause':
      if (at === undefined) break;
      closePause(s, at);
      s.openPause = { at, reason: typeof r.reason === 'string' ? r.reason : '(none)' };
      break;
    case 'resume':
      if (at !== undefined) closePause(s, at);
      break;
    case 'shift_end': {
      const end = alignAt(s.clockSteps, no, parseTime(r.end)) ?? at;
      if (end !== undefined) closePause(s, end);
      s.closed = true;
      break;
    }
    default:
      break;
  }
  return undefined;
}

function closePause(s: LiveState, at: number): void {
  const p = s.openPause;
  if (!p) return;
  s.openPause = null;
  if (PAUSE_REASONS.includes(p.reason)) s.covered = mergeInterval(s.covered, { start: p.at, end: Math.max(at, p.at) }, TOLERANCE_MS);
}

/** Segment counts by state, for reports and metrics. */
export function segmentTally(s: LiveState): { verified: number; awaited: string[]; altered: string[] } {
  const e = Object.entries(s.segments);
  return { verified: e.filter(([, v]) => v.state === 'verified').length, awaited: e.filter(([, v]) => v.state === 'awaited').map(([k]) => k), altered: e.filter(([, v]) => v.state === 'altered').map(([k]) => k) };
}
