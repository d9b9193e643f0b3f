/**
 * The audit trail: `<stateDir>/audit.jsonl`, written by the agent's own journal writer
 * (agent/evidence/journal.ts) — append-only JSON lines, each carrying the SHA-256 of the line
 * before (`prev`), every append fdatasync'd, a torn last line moved aside on open. Its head is
 * signed with the console's Ed25519 key every `auditSignS` seconds when something was added, and
 * at stop, with the same `signature` record and signed bytes as a camera's journal
 * (agent/evidence/crypto.ts signatureInput; device_id = the console instance, shift_id = `audit`).
 * So the format a court expert already checks for a shift checks the console's log too, and an
 * edit, a removed line or a truncation after a signature shows (docs/central-console.md).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { Journal, sha256Hex, ZERO_HASH, type JournalRecord } from '../../agent/evidence/journal.js';
import { SIGNATURE_ALG, signSubject, verifySubject } from '../../agent/evidence/crypto.js';
import { keyId } from '../../agent/commands/commands.js';
import { createLogger } from '../../agent/lib/log.js';

const log = createLogger('console.audit');
export const AUDIT_FILE = 'audit.jsonl';

export type AuditType = 'console_start' | 'console_stop' | 'login' | 'login_failed' | 'login_throttled' | 'logout' | 'session_expired' | 'alert_raised' | 'alert_ack' | 'command' | 'command_result' | 'forbidden' | 'shift_viewed';

export interface AuditCheck {
  readonly records: number;
  readonly chainOk: boolean;
  /** 1-based line of the first broken link, when any. */
  readonly brokenAt: number | undefined;
  readonly lastSignedSeq: number;
  readonly signaturesOk: boolean;
  readonly head: string;
}

export class AuditLog {
  private readonly journal: Journal;
  private readonly keyId: string;
  private timer: NodeJS.Timeout | undefined;
  private unsigned = 0;

  constructor(readonly dir: string, private readonly key: KeyObject, private readonly instance: string, private readonly signEveryS: number) {
    this.journal = new Journal(dir, Date.now, AUDIT_FILE);
    this.keyId = keyId(createPublicKey(key));
  }

  get path(): string {
    return this.journal.path;
  }

  start(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const existing = this.journal.open();
    // Records after the last signature (a crash) are signed at the next interval, with the rest.
    const lastSig = existing.findLastIndex((r) => r.type === 'signature');
    this.unsigned = existing.length - 1 - lastSig;
    this.timer = setInterval(() => this.signIfDue('interval'), this.signEveryS * 1000);
    this.timer.unref();
  }

  append(type: AuditType, fields: Record<string, unknown>): JournalRecord {
    const w = this.journal.append(type, { console: this.instance, ...fields });
    this.unsigned++;
    return w.record;
  }

  private signIfDue(why: string): void {
    if (this.unsigned === 0) return;
    try {
      const coversSeq = this.journal.nextSeq - 1;
      const head = this.journal.head;
      const sig = signSubject(this.key, { deviceId: this.instance, shiftId: 'audit', coversSeq, head });
      this.journal.append('signature', { alg: SIGNATURE_ALG, key_id: this.keyId, device_id: this.instance, shift_id: 'audit', covers_seq: coversSeq, head, why, sig });
      this.unsigned = 0;
    } catch (e) {
      log.error('signing the audit log failed', { error: e });
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.signIfDue('stop');
    this.journal.close();
  }

  /** The last `n` records, newest first, and a check of the whole chain and its signatures. */
  read(n: number): { records: JournalRecord[]; check: AuditCheck } {
    const text = readFileSync(this.path, 'utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    const records: JournalRecord[] = [];
    let prev = ZERO_HASH;
    let brokenAt: number | undefined;
    let lastSignedSeq = -1;
    let signaturesOk = true;
    const pub = createPublicKey(this.key);
    lines.forEach((line, i) => {
      let r: JournalRecord;
      try {
        r = JSON.parse(line) as JournalRecord;
      } catch {
        brokenAt ??= i + 1;
        return;
      }
      if (r.prev !== prev || r.seq !== i) brokenAt ??= i + 1;
      if (r.type === 'signature') {
        const ok = r.head === prev && verifySubject(pub, { deviceId: String(r.device_id), shiftId: 'audit', coversSeq: Number(r.covers_seq), head: String(r.head) }, String(r.sig));
        if (ok) lastSignedSeq = Number(r.covers_seq);
        else signaturesOk = false;
      }
      prev = sha256Hex(line);
      records.push(r);
    });
    return {
      records: records.slice(-n).reverse(),
      check: { records: records.length, chainOk: brokenAt === undefined, brokenAt, lastSignedSeq, signaturesOk, head: prev },
    };
  }
}
