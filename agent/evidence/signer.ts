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
 *
 * Checkpoints (policy `checkpointS`): a shift journal attached with `attachSigner` is also signed
 * at least every `checkpointS` seconds while it has unsigned records — on the append that finds
 * the last signature that old, or by a timer when nothing is appended. Live offload uploads the
 * journal up to its latest signature (docs/live-offload.md), so this bounds the tail central
 * cannot verify yet. A checkpoint signature says `why: "checkpoint"`; it is the same record as
 * any other signature.
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
  /** Wall time (Date.now, ms) of the last signature, or of the first record seen since. */
  lastSignedAt: number;
}

/** A journal's unsigned records older than this (ms) get a checkpoint signature. */
export const DEFAULT_CHECKPOINT_S = 60;

export class JournalSigner {
  private readonly state = new WeakMap<Journal, JournalState>();

  constructor(private readonly identity: DeviceIdentity, private signEverySegments: number, private checkpointS = DEFAULT_CHECKPOINT_S) {
    if (!Number.isInteger(signEverySegments) || signEverySegments < 1) throw new RangeError(`signEverySegments must be a positive integer, got ${signEverySegments}`);
    if (!(checkpointS > 0)) throw new RangeError(`checkpointS must be positive, got ${checkpointS}`);
  }

  /** Policy changed: the longest time (s) unsigned records wait for a signature. Takes effect at the next record or timer. */
  setCheckpointS(s: number): void {
    if (s > 0) this.checkpointS = s;
  }

  get checkpointMs(): number {
    return this.checkpointS * 1000;
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
      s = { segmentsSince: 0, shiftId: start, lastSignedSeq: -1, lastSignedAt: Date.now() };
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
      const r = existing[i]! as { type: string; seq?: unknown; at?: unknown };
      if (r.type === 'signature') {
        if (typeof r.seq === 'number') s.lastSignedSeq = r.seq;
        // The checkpoint clock runs from the last signature the dead agent wrote: a restart does
        // not reset it (an old unsigned tail is signed at the next record).
        const at = typeof r.at === 'string' ? Date.parse(r.at) : NaN;
        if (Number.isFinite(at)) s.lastSignedAt = Math.min(at, Date.now());
        break;
      }
      if (r.type === 'segment') since++;
    }
    s.segmentsSince = since;
  }

  /** Call after every append; appends a signature record when one is due and returns it. */
  maybeSign(journal: Journal, written: WrittenRecord): WrittenRecord | undefined {
    const s = this.stateOf(journal, written);
    if (written.record.type === 'shift_start' && typeof written.record.shift_id === 'string') s.shiftId = written.record.shift_id;
    if (written.record.type === 'signature') return undefined;
    // A clock step's record is journaled before the evidence clock moves (ClockWatch journals,
    // then applies): a signature appended on it would carry the old clock after the step record.
    // The next record, or the checkpoint timer, signs instead.
    if (written.record.type === 'time_sync') return undefined;
    if (written.record.type === 'segment') s.segmentsSince++;
    if (s.segmentsSince >= this.signEverySegments) return this.signNow(journal, 'interval');
    if (this.checkpointDue(journal)) return this.signNow(journal, 'checkpoint');
    return undefined;
  }

  /** The journal has records after its last signature and that signature is `checkpointS` old. */
  checkpointDue(journal: Journal, now = Date.now()): boolean {
    const s = this.stateOf(journal);
    return this.unsigned(journal) && now - s.lastSignedAt >= this.checkpointMs;
  }

  /** Milliseconds until a checkpoint would be due (0: due now). */
  msToCheckpoint(journal: Journal, now = Date.now()): number {
    return Math.max(0, this.stateOf(journal).lastSignedAt + this.checkpointMs - now);
  }

  private unsigned(journal: Journal): boolean {
    const s = this.stateOf(journal);
    const last = journal.lastRecord;
    return journal.nextSeq - 1 > s.lastSignedSeq && last !== undefined && last.type !== 'signature';
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
    s.lastSignedSeq = written.record.seq;
    s.lastSignedAt = Date.now();
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
  let timer: NodeJS.Timeout | undefined;
  let detached = false;
  // The checkpoint timer: armed for when the last signature turns checkpointS old, re-armed after
  // every record (a signature moves the deadline). It signs only a journal still open with
  // unsigned records; an idle journal costs one timer, no signature.
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    if (detached || !journal.isOpen) return;
    timer = setTimeout(onTimer, Math.max(1000, signer.msToCheckpoint(journal)));
    timer.unref();
  };
  const onTimer = (): void => {
    timer = undefined;
    if (detached || !journal.isOpen) return;
    try {
      if (signer.checkpointDue(journal)) signer.signNow(journal, 'checkpoint');
    } catch (e) {
      log.error('checkpoint signing failed', { error: e });
    }
    arm();
  };
  const onRecord = (w: WrittenRecord): void => {
    try {
      signer.maybeSign(journal, w);
    } catch (e) {
      // A failed signature must never stop recording: the verifier will report the unsigned run.
      log.error('signing failed', { error: e });
    }
    arm();
  };
  journal.on('record', onRecord);
  arm();
  return () => {
    detached = true;
    if (timer) clearTimeout(timer);
    journal.off('record', onRecord);
  };
}
