/**
 * What every journal check shares — a shift's `journal.jsonl` and the device journal alike
 * (docs/evidence-format.md, sections 3 and 5): splitting the bytes into lines, the seq/prev hash
 * chain, signatures against the trusted key only, and the unsigned tail. Findings are collected,
 * never thrown: a verifier reports everything it finds, each with its file and line.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { EvidenceError } from '../../lib/errors.js';
import { verifySubject } from '../crypto.js';
import type { Category, Finding, FindingCounts, Severity } from './report.js';

/** The input cannot be verified at all (exit 2): no such file or directory, no journal, garbage. */
export class UnusableInputError extends EvidenceError {}

export type Rec = Record<string, unknown> & { seq?: unknown; type?: unknown; at?: unknown; prev?: unknown };

export interface Line {
  /** 1-based line number. */
  readonly no: number;
  readonly bytes: Buffer;
  /** Chain head after this line: SHA-256 of its bytes without the `\n`. */
  readonly hash: string;
  readonly rec: Rec | undefined;
  readonly atMs: number | undefined;
}
export type RecLine = Line & { rec: Rec };

const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const ZERO = '0'.repeat(64);

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
export const parseTime = (v: unknown): number | undefined => (typeof v === 'string' && RFC3339_MS.test(v) && Number.isFinite(Date.parse(v)) ? Date.parse(v) : undefined);
export const round3 = (n: number): number => Math.round(n * 1000) / 1000;

type MutableFinding = { -readonly [K in keyof Finding]: Finding[K] };

export class Findings {
  readonly list: MutableFinding[] = [];
  private nextId = 1;
  add(severity: Severity, category: Category, kind: string, where: string, message: string): Finding {
    const m = /^[^:]+:(\d+)$/.exec(where);
    const f: MutableFinding = { id: this.nextId++, severity, category, kind, where, ...(m ? { line: Number(m[1]) } : {}), message };
    this.list.push(f);
    return f;
  }
  tampered(kind: string, where: string, message: string): Finding {
    return this.add('error', 'tampered', kind, where, message);
  }
  incomplete(kind: string, where: string, message: string): Finding {
    return this.add('error', 'incomplete', kind, where, message);
  }
  /** The cause at the top of `f`'s chain of causes. */
  root(f: Finding): Finding {
    let r = f;
    for (let i = 0; r.causedBy !== undefined && i < 100; i++) r = this.list.find((x) => x.id === r.causedBy) ?? r;
    return r;
  }
  /** Lists `f` beneath `cause` (it is explained by it and not counted on its own). */
  follow(f: Finding | undefined, cause: Finding | undefined): void {
    if (!f || !cause || f === cause) return;
    const root = this.root(cause);
    if (root !== f) (f as MutableFinding).causedBy = root.id;
  }
  /** The first error finding on journal line `no` of `file`, resolved to its cause. */
  onLine(file: string, no: number, kinds?: readonly string[]): Finding | undefined {
    const f = this.list.find((x) => x.severity === 'error' && x.where === `${file}:${no}` && (!kinds || kinds.includes(x.kind)));
    return f ? this.root(f) : undefined;
  }
  /** Journal findings in line order, then the rest by name (what every report prints). */
  sorted(file: string): Finding[] {
    const order = (w: string): number => (w.startsWith(`${file}:`) ? Number(w.slice(file.length + 1)) : w === file ? 0 : 1e9);
    return [...this.list].sort((a, b) => order(a.where) - order(b.where) || a.where.localeCompare(b.where) || a.id - b.id);
  }
  counts(): FindingCounts {
    const causes = this.list.filter((f) => f.causedBy === undefined);
    return {
      findings: causes.length,
      tampered: causes.filter((f) => f.severity === 'error' && f.category === 'tampered').length,
      incomplete: causes.filter((f) => f.severity === 'error' && f.category === 'incomplete').length,
      warnings: causes.filter((f) => f.severity !== 'error').length,
      followOns: this.list.length - causes.length,
    };
  }
}

/** The count sentence every rendering uses: `3 finding(s) (2 tampered, 1 incomplete), 5 follow-on(s) listed beneath their cause`. */
export function countsText(c: FindingCounts): string {
  const parts = [c.tampered ? `${c.tampered} tampered` : '', c.incomplete ? `${c.incomplete} incomplete` : '', c.warnings ? `${c.warnings} warning(s)` : ''].filter(Boolean);
  return `${c.findings} finding(s)${parts.length ? ` (${parts.join(', ')})` : ''}${c.followOns ? `, ${c.followOns} follow-on(s) listed beneath their cause` : ''}`;
}

/** What a journal line's damage explains: the chain break after it, a run of wrong seq, what no signature covers. */
const LINE_DAMAGE = ['line_not_json', 'line_not_record', 'chain_broken', 'seq', 'key_order', 'record_type', 'timestamp'] as const;

/**
 * Groups the follow-ons of journal damage under their cause: a chain break on the line after a
 * damaged line, a run of seq findings off by the same amount, `no_valid_signature` and an unsigned
 * tail that begin where the chain breaks.
 */
export function groupJournalFollowOns(chain: Chain, file: string, F: Findings): void {
  const at = (kind: string, no: number): Finding | undefined => F.list.find((x) => x.kind === kind && x.where === `${file}:${no}`);
  for (const l of chain.lines) {
    const broken = at('chain_broken', l.no);
    if (broken && l.no > 1) F.follow(broken, F.onLine(file, l.no - 1, LINE_DAMAGE));
    const seq = at('seq', l.no);
    const prevSeq = at('seq', l.no - 1);
    const prevRec = chain.lines[l.no - 2]?.rec;
    if (seq && prevSeq && l.rec && prevRec && typeof l.rec.seq === 'number' && typeof prevRec.seq === 'number' && l.rec.seq - (l.no - 1) === prevRec.seq - (l.no - 2)) F.follow(seq, prevSeq);
    else if (seq && broken) F.follow(seq, broken);
    // The other findings of one damaged line are explained by whichever came first on it.
    const first = F.onLine(file, l.no, LINE_DAMAGE);
    for (const x of F.list) if (x !== first && x.where === `${file}:${l.no}` && (LINE_DAMAGE as readonly string[]).includes(x.kind) && x.causedBy === undefined) F.follow(x, first);
  }
  if (chain.chainBrokenAt !== Infinity) {
    const cause = F.onLine(file, chain.chainBrokenAt + 1, LINE_DAMAGE);
    F.follow(F.list.find((x) => x.kind === 'no_valid_signature'), cause);
    // An unsigned tail that starts at the break, or that has signatures after the break (which
    // cannot count), is unsigned because of the damage, not because the device stopped signing.
    const tail = F.list.find((x) => x.kind === 'unsigned_tail');
    const tailFrom = tail?.line ?? Infinity;
    const signedAfterBreak = chain.recs.some((l) => l.rec.type === 'signature' && l.no - 1 > chain.chainBrokenAt);
    if (tail && (tailFrom === chain.chainBrokenAt + 1 || (tailFrom <= chain.chainBrokenAt + 1 && signedAfterBreak))) F.follow(tail, cause);
  }
}

export interface Chain {
  readonly lines: readonly Line[];
  /** The lines that parsed as JSON objects. */
  readonly recs: readonly RecLine[];
  /** Chain head after the last complete line (64 zeros for none). */
  readonly head: string;
  /** Bytes after the last `\n`. */
  readonly torn: Buffer;
  /** First 0-based line whose prev does not match (Infinity: the chain is intact). */
  readonly chainBrokenAt: number;
}

/**
 * Splits journal bytes into lines and checks each (section 3): UTF-8 JSON object, keys beginning
 * `seq, type, at, prev`, `seq` = line − 1, `at` a valid time, `prev` the previous line's hash.
 * `file` names the journal in findings (`<file>:<line>`). A torn tail is reported as incomplete.
 */
export function readChain(buf: Buffer, file: string, F: Findings): Chain {
  const lastNl = buf.lastIndexOf(0x0a);
  const body = buf.subarray(0, lastNl + 1);
  const torn = buf.subarray(lastNl + 1);
  const lines: Line[] = [];
  let off = 0;
  let chainBrokenAt = Infinity;
  let expectedPrev = ZERO;
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  while (off < body.length) {
    const nl = body.indexOf(0x0a, off);
    const bytes = body.subarray(off, nl);
    off = nl + 1;
    const i = lines.length;
    const no = i + 1;
    const where = `${file}:${no}`;
    let rec: Rec | undefined;
    try {
      const v = JSON.parse(utf8.decode(bytes)) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) rec = v as Rec;
      else F.tampered('line_not_record', where, 'the line is JSON but not an object');
    } catch {
      F.tampered('line_not_json', where, bytes.length === 0 ? 'blank line' : 'the line is not valid UTF-8 JSON');
    }
    const hash = sha256(bytes);
    if (rec) {
      const keys = Object.keys(rec).slice(0, 4).join(',');
      if (keys !== 'seq,type,at,prev') F.tampered('key_order', where, `the record must begin with seq, type, at, prev (found ${keys})`);
      if (rec.seq !== i) F.tampered('seq', where, `seq is ${JSON.stringify(rec.seq)}, expected ${i}: records removed, inserted or reordered`);
      if (typeof rec.type !== 'string') F.tampered('record_type', where, 'type is missing');
      if (parseTime(rec.at) === undefined) F.tampered('timestamp', where, `at ${JSON.stringify(rec.at)} is not RFC 3339 UTC with milliseconds`);
      if (rec.prev !== expectedPrev) {
        F.tampered(
          'chain_broken',
          where,
          i === 0
            ? 'prev of the first line must be 64 zeros: lines before it were removed'
            : `prev does not match the SHA-256 of line ${no - 1}: line ${no - 1} was altered, or lines were removed, inserted or reordered here`,
        );
        chainBrokenAt = Math.min(chainBrokenAt, i);
      }
    } else chainBrokenAt = Math.min(chainBrokenAt, i);
    lines.push({ no, bytes, hash, rec, atMs: rec ? parseTime(rec.at) : undefined });
    expectedPrev = hash;
  }
  if (torn.length > 0) {
    F.incomplete('torn_tail', `${file}:${lines.length + 1}`, `${torn.length} bytes after the last complete line (a write cut by a crash or power loss, or an edit)`);
  }
  return { lines, recs: lines.filter((l): l is RecLine => l.rec !== undefined), head: expectedPrev, torn, chainBrokenAt };
}

export interface SignatureRules {
  /** The trusted device key (never one found in the evidence) and its key id. */
  readonly publicKey: KeyObject;
  readonly keyId: string;
  readonly file: string;
  /** What every signature's `shift_id` must be (the shift's id, or `device-journal`); null: unknown. */
  readonly subjectId: string | null;
  /** How messages name the subject: `shift`, `device journal`. */
  readonly subjectLabel: string;
  /** The device the evidence names; a valid signature under another device id is a note. */
  readonly deviceId: string | null;
}

export interface SignatureSummary {
  readonly signatures: number;
  readonly validSignatures: number;
  /** 0-based index of the last valid signature with an intact chain from line 1 to it (−1: none). */
  readonly signedThrough: number;
  /** Lines after `signedThrough` (every line when nothing is signed). */
  readonly unsignedTail: number;
}

/** Section 5: every signature valid for the trusted key and covering exactly the line before it. */
export function checkSignatures(chain: Chain, o: SignatureRules, F: Findings): SignatureSummary {
  let signatures = 0;
  let validSignatures = 0;
  let signedThrough = -1;
  for (const l of chain.recs) {
    if (l.rec.type !== 'signature') continue;
    signatures++;
    const r = l.rec;
    const where = `${o.file}:${l.no}`;
    const i = l.no - 1;
    const problems: string[] = [];
    if (r.alg !== 'ed25519') problems.push(`alg ${JSON.stringify(r.alg)} is not ed25519`);
    if (r.covers_seq !== i - 1) problems.push(`covers_seq ${JSON.stringify(r.covers_seq)} is not ${i - 1}`);
    if (r.head !== r.prev) problems.push('head differs from prev');
    if (o.subjectId !== null && r.shift_id !== o.subjectId) problems.push(`shift_id ${JSON.stringify(r.shift_id)} is not the ${o.subjectLabel}'s ${JSON.stringify(o.subjectId)}`);
    if (typeof r.device_id !== 'string' || typeof r.sig !== 'string' || typeof r.head !== 'string' || typeof r.shift_id !== 'string' || typeof r.covers_seq !== 'number') {
      problems.push('fields missing');
    }
    if (problems.length) {
      F.tampered('signature_fields', where, `malformed signature record: ${problems.join('; ')}`);
      continue;
    }
    const ok = verifySubject(o.publicKey, { deviceId: r.device_id as string, shiftId: r.shift_id as string, coversSeq: r.covers_seq as number, head: r.head as string }, r.sig as string);
    if (!ok) {
      if (r.key_id !== o.keyId) {
        F.tampered('signature_other_key', where, `signature is not by the given key ${o.keyId} (the record names key ${JSON.stringify(r.key_id)}): signed by another device or re-signed`);
      } else {
        F.tampered('signature_invalid', where, `signature does not verify with key ${o.keyId}: the records it covers (lines 1-${l.no - 1}) were altered, removed or re-chained`);
      }
      continue;
    }
    validSignatures++;
    if (o.deviceId !== null && r.device_id !== o.deviceId) {
      F.add('warning', 'note', 'signature_device', where, `signed as device ${JSON.stringify(r.device_id)}, the ${o.subjectLabel} names ${JSON.stringify(o.deviceId)}`);
    }
    // Only when the chain is intact up to and including this line: a signature whose own prev does
    // not match signs the head of a line that is no longer there.
    if (i < chain.chainBrokenAt) signedThrough = i;
  }
  const unsignedTail = signedThrough >= 0 ? chain.lines.length - 1 - signedThrough : chain.lines.length;
  return { signatures, validSignatures, signedThrough, unsignedTail };
}

/**
 * Findings for what no valid signature covers: no signature at all (incomplete), an unsigned tail
 * (incomplete: a crash leaves one; reported by length), or signatures of which none authenticates
 * an intact chain from line 1 (tampered). `tailDetail` adds to the tail's message (media in it).
 */
export function reportUnsigned(chain: Chain, s: SignatureSummary, file: string, keyId: string, F: Findings, tailDetail?: (fromLineNo: number) => string): void {
  const n = chain.lines.length;
  if (s.signatures === 0) {
    F.incomplete('no_signature', file, `no signature record: none of the ${n} records can be authenticated`);
  } else if (s.signedThrough < 0) {
    F.tampered('no_valid_signature', file, `no signature verifies with key ${keyId} over an intact chain from line 1: nothing in this journal is authenticated`);
  } else if (s.unsignedTail > 0) {
    const from = s.signedThrough + 2;
    F.incomplete(
      'unsigned_tail',
      `${file}:${from}`,
      `${s.unsignedTail} record(s) after the last valid signature (line ${s.signedThrough + 1}) are not covered by any signature: lines ${from}-${n}${tailDetail ? tailDetail(from) : ''}`,
    );
  }
}
