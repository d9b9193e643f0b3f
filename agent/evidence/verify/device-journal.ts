/**
 * The offline verifier of a device journal (`<data-dir>/device-journal.jsonl`, or a snapshot of
 * it from the evidence store): the same line format, hash chain and signatures as a shift's
 * journal (chain.ts), signed with `shift_id: "device-journal"`. There is no media and no timeline
 * to cover: the verdict rests on the chain and the signatures alone.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { keyIdOf } from '../crypto.js';
import { Findings, UnusableInputError, checkSignatures, countsText, groupJournalFollowOns, readChain, reportUnsigned, type Rec } from './chain.js';
import type { DeviceJournalReport, JournalRow, Verdict } from './report.js';

/** What device-journal signatures carry as `shift_id` (the signer names the journal after its file). */
export const DEVICE_JOURNAL_SUBJECT = 'device-journal';
const DETAIL_MAX = 240;

export interface DeviceJournalVerifyOptions {
  readonly path: string;
  /** The device's Ed25519 public key, from central's records (never one found on the device). */
  readonly publicKey: KeyObject;
}

/** A line that is at least shaped like a journal record (anything else is not a journal at all). */
const looksLikeRecord = (r: Rec | undefined): boolean => r !== undefined && typeof r.seq === 'number' && 'type' in r && 'at' in r && 'prev' in r;

function readFile(path: string): Buffer {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UnusableInputError(`${path}: no such file`);
  }
  if (!st.isFile()) throw new UnusableInputError(`${path}: not a regular file`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UnusableInputError(`${path}: cannot read: ${(e as Error).message}`);
  }
}

function detailOf(r: Rec): string {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (k !== 'seq' && k !== 'type' && k !== 'at' && k !== 'prev') rest[k] = v;
  const s = JSON.stringify(rest);
  return s.length > DETAIL_MAX ? `${s.slice(0, DETAIL_MAX - 1)}…` : s;
}

export function verifyDeviceJournal(o: DeviceJournalVerifyOptions): DeviceJournalReport {
  const buf = readFile(o.path);
  const file = basename(o.path);
  const F = new Findings();
  const keyId = keyIdOf(o.publicKey);
  const chain = readChain(buf, file, F);
  if (!chain.recs.some((l) => looksLikeRecord(l.rec))) {
    throw new UnusableInputError(`${o.path}: no journal record in it (${buf.length} bytes, ${chain.lines.length} line(s)): not a device journal`);
  }
  if (chain.recs[0]?.no === 1 && chain.recs[0].rec.type === 'shift_start') {
    throw new UnusableInputError(`${o.path}: this is a shift's journal (it begins with shift_start): verify its shift directory instead`);
  }
  const deviceId = chain.recs.map((l) => l.rec.device_id).find((v): v is string => typeof v === 'string') ?? null;
  const sigs = checkSignatures(chain, { publicKey: o.publicKey, keyId, file, subjectId: DEVICE_JOURNAL_SUBJECT, subjectLabel: 'device journal', deviceId }, F);
  reportUnsigned(chain, sigs, file, keyId, F);
  groupJournalFollowOns(chain, file, F);

  const counts: Record<string, number> = {};
  const records: JournalRow[] = chain.lines.map((l) => {
    const type = typeof l.rec?.type === 'string' ? l.rec.type : '(not a record)';
    counts[type] = (counts[type] ?? 0) + 1;
    return {
      line: l.no,
      seq: typeof l.rec?.seq === 'number' ? l.rec.seq : null,
      type,
      at: typeof l.rec?.at === 'string' ? l.rec.at : null,
      detail: l.rec ? detailOf(l.rec) : `${l.bytes.length} bytes that are not a JSON object`,
      signed: l.no - 1 <= sigs.signedThrough,
    };
  });
  const errors = F.list.filter((f) => f.severity === 'error');
  const tampered = errors.filter((f) => f.category === 'tampered');
  const verdict: Verdict = tampered.length ? 'tampered' : errors.length ? 'incomplete' : 'intact';
  const n = chain.lines.length;
  const fc = F.counts();
  const firstCause = F.sorted(file).find((f) => f.causedBy === undefined && f.severity === 'error' && f.category === 'tampered');
  const summary =
    verdict === 'intact'
      ? `intact: ${n} records, chain and ${sigs.validSignatures} signature(s) verify with key ${keyId}, signed through the last line`
      : verdict === 'incomplete'
        ? `incomplete: ${countsText(fc)}${sigs.signedThrough >= 0 ? `; authentic up to line ${sigs.signedThrough + 1}, ${sigs.unsignedTail} unsigned record(s) trail` : ''}`
        : `TAMPERED: ${countsText(fc)}: the journal differs from what the device signed (first at ${firstCause?.where ?? '?'})`;
  const ats = chain.recs.map((l) => l.rec.at).filter((v): v is string => typeof v === 'string');
  return {
    format: 'bodycam-verify-v1',
    subject: 'device-journal',
    verdict,
    exitCode: verdict === 'intact' ? 0 : 1,
    summary,
    path: o.path,
    deviceId,
    keyId,
    first: ats[0] ?? null,
    last: ats.at(-1) ?? null,
    journal: {
      lines: n,
      head: chain.head,
      signatures: sigs.signatures,
      validSignatures: sigs.validSignatures,
      signedThroughLine: sigs.signedThrough + 1,
      unsignedTail: sigs.unsignedTail,
      chainBrokenLine: chain.chainBrokenAt === Infinity ? null : chain.chainBrokenAt + 1,
    },
    counts,
    records,
    findings: F.sorted(file),
    findingCounts: fc,
  };
}
