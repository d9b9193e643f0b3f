/**
 * Journal signatures: a `signature` record signs the chain head (the hash of the line before
 * it) with the device's Ed25519 key. Because every line carries the hash of the one before, one
 * signature covers every record up to it; anyone holding the device's public key can then tell a
 * truncated, reordered or rewritten journal from the one the device wrote. The exact signed bytes
 * are `signatureInput` in crypto.ts (docs/evidence-format.md, "Signatures").
 *
 * The evidence writer calls `maybeSign` after every append (it signs once N segment records have
 * passed since the journal's last signature) and `signNow` at shift end and on clean stop. A
 * crash between signatures leaves an unsigned tail, which the verifier reports by length.
 */
import { basename } from 'node:path';
import type { DeviceIdentity } from '../identity/identity.js';
import type { Journal, WrittenRecord } from './journal.js';
import { SIGNATURE_ALG, signSubject } from './crypto.js';
import { createLogger } from '../lib/log.js';

const log = createLogger('evidence.signer');

interface JournalState {
  segmentsSince: number;
  shiftId: string;
  lastSignedSeq: number;
}

export class JournalSigner {
  private readonly state = new WeakMap<Journal, JournalState>();

  constructor(private readonly identity: DeviceIdentity, private signEverySegments: number) {
    if (!Number.isInteger(signEverySegments) || signEverySegments < 1) throw new RangeError(`signEverySegments must be a positive integer, got ${signEverySegments}`);
  }

  /** Policy changed (config reload or signed command). Takes effect at the next segment. */
  setSignEverySegments(n: number): void {
    if (Number.isInteger(n) && n >= 1) this.signEverySegments = n;
  }

  get keyId(): string {
    return this.identity.keyId;
  }

  private stateOf(journal: Journal, seed?: WrittenRecord): JournalState {
    let s = this.state.get(journal);
    if (!s) {
      // The shift id is the shift_start's; a journal reopened after a restart is named after it.
      // (the device journal, `device-journal.jsonl` in the data dir, signs as `device-journal`).
      const fallback = basename(journal.path) === 'journal.jsonl' ? basename(journal.dir) : basename(journal.path, '.jsonl');
      const start = seed?.record.type === 'shift_start' && typeof seed.record.shift_id === 'string' ? seed.record.shift_id : fallback;
      s = { segmentsSince: 0, shiftId: start, lastSignedSeq: -1 };
      this.state.set(journal, s);
    }
    return s;
  }

  /**
   * Tells the signer about records that were already in a journal it reopens (after a restart),
   * so that segments written before the crash count towards the next signature.
   */
  resume(journal: Journal, existing: readonly { type: string; shift_id?: unknown }[]): void {
    const s = this.stateOf(journal);
    const first = existing[0];
    if (first?.type === 'shift_start' && typeof first.shift_id === 'string') s.shiftId = first.shift_id;
    let since = 0;
    for (let i = existing.length - 1; i >= 0; i--) {
      const t = existing[i]!.type;
      if (t === 'signature') break;
      if (t === 'segment') since++;
    }
    s.segmentsSince = since;
  }

  /** Call after every append; appends a signature record when one is due and returns it. */
  maybeSign(journal: Journal, written: WrittenRecord): WrittenRecord | undefined {
    const s = this.stateOf(journal, written);
    if (written.record.type === 'shift_start' && typeof written.record.shift_id === 'string') s.shiftId = written.record.shift_id;
    if (written.record.type === 'signature') return undefined;
    if (written.record.type === 'segment') s.segmentsSince++;
    if (s.segmentsSince < this.signEverySegments) return undefined;
    return this.signNow(journal, 'interval');
  }

  /** Signs the current head now (shift end after `shift_end`, clean stop). */
  signNow(journal: Journal, why: string): WrittenRecord {
    const s = this.stateOf(journal);
    const coversSeq = journal.nextSeq - 1;
    const head = journal.head;
    const subject = { deviceId: this.identity.deviceId, shiftId: s.shiftId, coversSeq, head };
    const sig = signSubject(this.identity.privateKey, subject);
    const written = journal.append('signature', {
      alg: SIGNATURE_ALG,
      key_id: this.identity.keyId,
      device_id: this.identity.deviceId,
      shift_id: s.shiftId,
      covers_seq: coversSeq,
      head,
      segments_since: s.segmentsSince,
      why,
      sig,
    });
    s.segmentsSince = 0;
    s.lastSignedSeq = coversSeq;
    log.debug('signed journal head', { shiftId: s.shiftId, coversSeq, why });
    return written;
  }
}

/**
 * Wires a signer to a shift journal the evidence writer has just opened: counts the segments
 * already there (agent restart), then signs after every append that makes a signature due.
 * Safe against re-entrant appends (a listener journaling in response to a record): signatures
 * always cover the journal's current head. Returns the detach function.
 */
export function attachSigner(journal: Journal, signer: JournalSigner, existing: readonly { type: string; shift_id?: unknown }[] = []): () => void {
  signer.resume(journal, existing);
  const onRecord = (w: WrittenRecord): void => {
    try {
      signer.maybeSign(journal, w);
    } catch (e) {
      // A failed signature must never stop recording: the verifier will report the unsigned run.
      log.error('signing failed', { error: e });
    }
  };
  journal.on('record', onRecord);
  return () => journal.off('record', onRecord);
}
