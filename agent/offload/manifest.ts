/**
 * The offload manifest: what the device uploaded for one shift, as central checks it.
 *
 * `manifest.json` is UTF-8 JSON (2-space indent, `\n` at the end) with
 *   format      "bodycam-offload-manifest/1"
 *   deviceId, shiftId, createdAt (RFC 3339 ms)
 *   journalHead hex SHA-256 of the journal's last line (the chain head at shift end)
 *   keyPrefix   object key prefix of this shift (`<prefix>/<deviceId>/<shiftId>/`)
 *   files       [{ name, bytes, sha256 }] sorted by name: every regular file of the shift dir
 *               exactly as stored (encrypted media stays encrypted), including journal.jsonl and any
 *               journal.torn-N
 * The manifest hash is the SHA-256 of the manifest file's exact bytes; central confirms receipt by
 * naming it. The manifest is written once and kept outside the shift dir (which holds evidence
 * only), so its bytes — and its hash — never change across restarts.
 */
import { readdirSync, statSync, readFileSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { JOURNAL_FILE, parseJournal } from '../evidence/journal.js';
import { HASH_CHUNK, hashFile } from '../evidence/file-hash.js';
import { EvidenceError } from '../lib/errors.js';

export const MANIFEST_FORMAT = 'bodycam-offload-manifest/1';
export const MANIFEST_FILE = 'manifest.json';

export interface ManifestFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly deviceId: string;
  readonly shiftId: string;
  readonly createdAt: string;
  readonly journalHead: string;
  readonly keyPrefix: string;
  readonly files: readonly ManifestFile[];
}

/** Files of a shift dir that are evidence: regular files, no dot-files (atomic-write temps). */
export function shiftFiles(shiftDir: string): string[] {
  return readdirSync(shiftDir, { withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}

/**
 * Reads the journal's last complete line cheaply (the tail only: journals of long shifts are
 * megabytes). Returns the last record's type and the chain head, or undefined without a journal.
 */
export function journalTail(shiftDir: string): { lastType: string | undefined; head: string } | undefined {
  let fd: number;
  try {
    fd = openSync(join(shiftDir, JOURNAL_FILE), 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    // A shift_end line plus a signature line fit well within 64 KiB; fall back to the whole file.
    const want = Math.min(size, 64 * 1024);
    let buf = Buffer.alloc(want);
    readSync(fd, buf, 0, want, size - want);
    if (want < size) {
      const firstNl = buf.indexOf(0x0a);
      if (firstNl < 0 || firstNl === buf.length - 1) buf = readFileSync(join(shiftDir, JOURNAL_FILE));
      else buf = buf.subarray(firstNl + 1);
    }
    const lastNl = buf.lastIndexOf(0x0a);
    if (lastNl < 0) return { lastType: undefined, head: '0'.repeat(64) };
    const prevNl = buf.lastIndexOf(0x0a, lastNl - 1);
    const line = buf.subarray(prevNl + 1, lastNl).toString('utf8');
    const parsed = parseJournal(Buffer.from(line + '\n'));
    return { lastType: parsed.records[0]?.type, head: parsed.head };
  } finally {
    closeSync(fd);
  }
}

/** A shift is closed when its journal's last record is `shift_end` (a signature may follow it). */
export function isShiftClosed(shiftDir: string): boolean {
  const t = journalTail(shiftDir);
  if (!t) return false;
  if (t.lastType === 'shift_end') return true;
  if (t.lastType !== 'signature') return false;
  // The lead signs the head right after shift_end: look one line further back.
  const buf = readFileSync(join(shiftDir, JOURNAL_FILE));
  const recs = parseJournal(buf).records;
  for (let i = recs.length - 1; i >= 0; i--) {
    const type = recs[i]!.type;
    if (type === 'signature') continue;
    return type === 'shift_end';
  }
  return false;
}

export async function buildManifest(shiftDir: string, deviceId: string, shiftId: string, keyPrefix: string, nowMs: number): Promise<Manifest> {
  const names = shiftFiles(shiftDir);
  if (!names.includes(JOURNAL_FILE)) throw new EvidenceError(`${shiftDir} has no ${JOURNAL_FILE}`);
  const tail = journalTail(shiftDir);
  const files: ManifestFile[] = [];
  const buf = Buffer.allocUnsafe(HASH_CHUNK);
  for (const name of names) {
    const before = statSync(join(shiftDir, name));
    const { bytes, sha256 } = await hashFile(join(shiftDir, name), buf);
    if (bytes !== before.size) throw new EvidenceError(`${join(shiftDir, name)} changed while it was hashed`);
    files.push({ name, bytes, sha256 });
  }
  return {
    format: MANIFEST_FORMAT,
    deviceId,
    shiftId,
    createdAt: new Date(nowMs).toISOString(),
    journalHead: tail?.head ?? '0'.repeat(64),
    keyPrefix,
    files,
  };
}

export const manifestBytes = (m: Manifest): Buffer => Buffer.from(JSON.stringify(m, null, 2) + '\n');
export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
