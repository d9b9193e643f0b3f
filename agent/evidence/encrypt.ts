/**
 * Encryption at rest: the `BCAMENC1` segment container (docs/evidence-format.md, "Encrypted
 * segments") and the storer that writes only ciphertext into the shift directory.
 *
 * One random data key per shift and agent run, held in memory only and wrapped for central's
 * X25519 key (ephemeral-static ECDH + HKDF + AES-256-GCM); the wrap travels in every segment's
 * header, so each file decrypts on its own and nothing on the device can unwrap it. Each segment
 * gets its own key from the data key and a random salt; its plaintext is sealed in fixed-size
 * AES-256-GCM chunks whose nonce is the chunk index and whose AAD binds the header and a
 * last-chunk flag: a torn write loses only the torn chunk, and a cut at a chunk boundary is seen.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdirSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CryptoError, ConfigError, EvidenceError } from '../lib/errors.js';
import { fsyncDir } from '../lib/atomic.js';
import { createLogger } from '../lib/log.js';
import type { SegmentStorer, StoredSegment } from './types.js';
import type { EncryptionConfig } from './config.js';

// The section moved to ./config.js; re-exported for the callers that import it from here.
export { encryptionSection, DEFAULT_STAGE_DIR, type EncryptionConfig } from './config.js';
import {
  generateX25519,
  hkdf32,
  keyIdOf,
  rawPublicKey,
  SEGMENT_KEY_INFO,
  WRAP_INFO,
  wrapKek,
  x25519PublicFromRaw,
  x25519Shared,
} from './crypto.js';

const log = createLogger('evidence.encrypt');

export const ENC_MAGIC = Buffer.from('BCAMENC1', 'ascii');
export const ENC_VERSION = 1;
export const ENC_SUFFIX = '.enc';
/** Plaintext bytes per chunk: small enough that a torn write loses little, large enough that tags cost ~0.02 %. */
export const DEFAULT_CHUNK = 64 * 1024;
const TAG = 16;
const FIXED_HEADER = 134;

export interface WrappedKey {
  /** Central key id (8 bytes: the first half of keyIdOf's hex). */
  readonly recipientKeyId: Buffer;
  readonly ephemeralPublic: Buffer;
  readonly nonce: Buffer;
  /** AES-256-GCM ciphertext of the 32-byte data key followed by its 16-byte tag. */
  readonly wrapped: Buffer;
}

export interface EncHeader extends WrappedKey {
  readonly version: number;
  readonly headerLength: number;
  readonly chunkSize: number;
  readonly salt: Buffer;
  readonly name: string;
  /** The header's exact bytes (the AAD prefix of every chunk). */
  readonly bytes: Buffer;
}

function gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

/** Returns undefined when authentication fails. */
function gcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG) return undefined;
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()]);
  } catch {
    return undefined;
  }
}

/** A fresh data key wrapped for `recipient` (central's X25519 public key). */
export function wrapNewDataKey(recipient: KeyObject): { dataKey: Buffer; wrap: WrappedKey } {
  const dataKey = randomBytes(32);
  const eph = generateX25519();
  const ephRaw = rawPublicKey(eph.publicKey);
  const kek = wrapKek(x25519Shared(eph.privateKey, recipient), ephRaw, rawPublicKey(recipient));
  const nonce = randomBytes(12);
  const wrapped = gcmSeal(kek, nonce, Buffer.from(WRAP_INFO, 'utf8'), dataKey);
  kek.fill(0);
  return { dataKey, wrap: { recipientKeyId: Buffer.from(keyIdOf(recipient), 'hex'), ephemeralPublic: ephRaw, nonce, wrapped } };
}

export function unwrapDataKey(wrap: WrappedKey, centralPrivate: KeyObject, centralPublic: KeyObject): Buffer {
  const kid = keyIdOf(centralPublic);
  if (wrap.recipientKeyId.toString('hex') !== kid) {
    throw new CryptoError(`encrypted for central key ${wrap.recipientKeyId.toString('hex')}, but the given key is ${kid}: wrong key`);
  }
  const shared = x25519Shared(centralPrivate, x25519PublicFromRaw(wrap.ephemeralPublic));
  const kek = wrapKek(shared, wrap.ephemeralPublic, rawPublicKey(centralPublic));
  const dk = gcmOpen(kek, wrap.nonce, Buffer.from(WRAP_INFO, 'utf8'), wrap.wrapped);
  if (!dk) throw new CryptoError('the data key does not unwrap with the given key: wrong key or altered header');
  return dk;
}

export function buildHeader(wrap: WrappedKey, chunkSize: number, salt: Buffer, name: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const h = Buffer.alloc(FIXED_HEADER + nameBytes.length);
  ENC_MAGIC.copy(h, 0);
  h.writeUInt8(ENC_VERSION, 8);
  h.writeUInt8(0, 9);
  h.writeUInt16BE(h.length, 10);
  h.writeUInt32BE(chunkSize, 12);
  wrap.recipientKeyId.copy(h, 16);
  wrap.ephemeralPublic.copy(h, 24);
  wrap.nonce.copy(h, 56);
  wrap.wrapped.copy(h, 68);
  salt.copy(h, 116);
  h.writeUInt16BE(nameBytes.length, 132);
  nameBytes.copy(h, 134);
  return h;
}

/** Parses a container header; throws EvidenceError naming what is wrong. */
export function parseHeader(buf: Buffer): EncHeader {
  if (buf.length < FIXED_HEADER) throw new EvidenceError(`too short for an encrypted segment header (${buf.length} bytes)`);
  if (!buf.subarray(0, 8).equals(ENC_MAGIC)) throw new EvidenceError('not an encrypted segment (magic is not BCAMENC1)');
  const version = buf.readUInt8(8);
  if (version !== ENC_VERSION) throw new EvidenceError(`unsupported container version ${version}`);
  const headerLength = buf.readUInt16BE(10);
  const chunkSize = buf.readUInt32BE(12);
  const nameLen = buf.readUInt16BE(132);
  if (headerLength !== FIXED_HEADER + nameLen || buf.length < headerLength) throw new EvidenceError('inconsistent header length');
  if (chunkSize < 1024 || chunkSize > 16 * 1024 * 1024) throw new EvidenceError(`implausible chunk size ${chunkSize}`);
  return {
    version,
    headerLength,
    chunkSize,
    recipientKeyId: Buffer.from(buf.subarray(16, 24)),
    ephemeralPublic: Buffer.from(buf.subarray(24, 56)),
    nonce: Buffer.from(buf.subarray(56, 68)),
    wrapped: Buffer.from(buf.subarray(68, 116)),
    salt: Buffer.from(buf.subarray(116, 132)),
    name: buf.subarray(134, headerLength).toString('utf8'),
    bytes: Buffer.from(buf.subarray(0, headerLength)),
  };
}

function chunkNonce(i: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(i), 4);
  return n;
}

function chunkAad(header: Buffer, final: boolean): Buffer {
  return Buffer.concat([header, Buffer.from([final ? 1 : 0])]);
}

/** Ciphertext size of a plaintext of `plainBytes` (for checks that need no key). */
export function cipherSize(headerLength: number, chunkSize: number, plainBytes: number): number {
  const chunks = Math.max(1, Math.ceil(plainBytes / chunkSize));
  return headerLength + plainBytes + chunks * TAG;
}

/** Yields the container's pieces (header first, then each sealed chunk) for streaming writes. */
export function* encryptPieces(plain: Buffer, name: string, dataKey: Buffer, wrap: WrappedKey, chunkSize = DEFAULT_CHUNK): Generator<Buffer> {
  const salt = randomBytes(16);
  const header = buildHeader(wrap, chunkSize, salt, name);
  const segKey = hkdf32(dataKey, salt, SEGMENT_KEY_INFO);
  yield header;
  const chunks = Math.max(1, Math.ceil(plain.length / chunkSize));
  for (let i = 0; i < chunks; i++) {
    const part = plain.subarray(i * chunkSize, Math.min(plain.length, (i + 1) * chunkSize));
    yield gcmSeal(segKey, chunkNonce(i), chunkAad(header, i === chunks - 1), part);
  }
  segKey.fill(0);
}

export function encryptSegment(plain: Buffer, name: string, dataKey: Buffer, wrap: WrappedKey, chunkSize = DEFAULT_CHUNK): Buffer {
  return Buffer.concat([...encryptPieces(plain, name, dataKey, wrap, chunkSize)]);
}

export interface DecryptResult {
  readonly header: EncHeader;
  /** The authenticated plaintext (all of it when `complete`, else the good chunks before the first bad one). */
  readonly plain: Buffer;
  readonly complete: boolean;
  readonly chunks: number;
  /** Why it is not complete: which chunk failed, or where the file was cut. */
  readonly problem: string | undefined;
}

/**
 * Decrypts a container with central's key. A wrong key throws CryptoError; damage inside the
 * file is reported in the result (the good prefix is kept: a torn write loses only its chunk).
 */
export function decryptSegment(buf: Buffer, centralPrivate: KeyObject, centralPublic: KeyObject, dataKeyCache?: Map<string, Buffer>): DecryptResult {
  const header = parseHeader(buf);
  const cacheKey = Buffer.concat([header.ephemeralPublic, header.wrapped]).toString('base64');
  let dk = dataKeyCache?.get(cacheKey);
  if (!dk) {
    dk = unwrapDataKey(header, centralPrivate, centralPublic);
    dataKeyCache?.set(cacheKey, dk);
  }
  const segKey = hkdf32(dk, header.salt, SEGMENT_KEY_INFO);
  const sealedSize = header.chunkSize + TAG;
  const parts: Buffer[] = [];
  let off = header.headerLength;
  let i = 0;
  let problem: string | undefined;
  let complete = false;
  for (;;) {
    const rest = buf.length - off;
    if (rest <= 0) {
      problem = i === 0 ? 'no chunk after the header (cut)' : `cut after chunk ${i - 1}: the final chunk is missing`;
      break;
    }
    const take = Math.min(rest, sealedSize);
    const sealed = buf.subarray(off, off + take);
    // A full-size chunk followed by more bytes cannot be the last one; otherwise try "final" first.
    const last = take < sealedSize || rest === sealedSize;
    let pt = gcmOpen(segKey, chunkNonce(i), chunkAad(header.bytes, last), sealed);
    if (!pt && last && take === sealedSize) {
      pt = gcmOpen(segKey, chunkNonce(i), chunkAad(header.bytes, false), sealed);
      if (pt) {
        parts.push(pt);
        problem = `cut after chunk ${i}: the final chunk is missing`;
        i++;
        break;
      }
    }
    if (!pt) {
      problem = `chunk ${i} (bytes ${off}-${off + take - 1}) fails authentication: altered or torn`;
      break;
    }
    parts.push(pt);
    i++;
    off += take;
    if (last) {
      complete = off === buf.length;
      if (!complete) problem = `${buf.length - off} unexpected bytes after the final chunk`;
      break;
    }
  }
  segKey.fill(0);
  return { header, plain: Buffer.concat(parts), complete, chunks: i, problem };
}

// ---------------------------------------------------------------------------------------------
// The storer

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/** True when `dir` lives in RAM (tmpfs/ramfs): nothing written there survives a power cut. */
export function isVolatileDir(dir: string): boolean {
  const t = statfsSync(dir).type;
  return t === TMPFS_MAGIC || t === RAMFS_MAGIC;
}

export class EncryptingStorer implements SegmentStorer {
  /** The current shift's data key: memory only, forgotten (zeroed) when another shift starts. */
  private current: { shiftId: string; dataKey: Buffer; wrap: WrappedKey } | undefined;
  /** Shift dir → shift id, as the evidence writer announced them through stageDir(). */
  private readonly shiftOfDir = new Map<string, string>();

  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly cfg: EncryptionConfig, private readonly idleForgetMs = 120_000) {}

  stageDir(shiftId: string, shiftDir: string): string {
    const dir = join(this.cfg.stageDir, shiftId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Refuse rather than leak: plaintext on a disk-backed stage would survive a stolen device.
    if (!isVolatileDir(dir)) {
      throw new ConfigError('encryption', [{ where: '/encryption/stageDir', message: `${this.cfg.stageDir} is not on tmpfs/ramfs: plaintext would reach non-volatile storage` }]);
    }
    this.shiftOfDir.set(shiftDir, shiftId);
    this.keyFor(shiftId);
    return dir;
  }

  /** Custody mode: one tmpfs stage for the encoder across periods; each period's key by its dir (store). */
  stableStageDir(_dataDir: string): string {
    const dir = join(this.cfg.stageDir, 'custody');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!isVolatileDir(dir)) {
      throw new ConfigError('encryption', [{ where: '/encryption/stageDir', message: `${this.cfg.stageDir} is not on tmpfs/ramfs: plaintext would reach non-volatile storage` }]);
    }
    return dir;
  }

  private keyFor(shiftId: string): { dataKey: Buffer; wrap: WrappedKey } {
    if (this.current?.shiftId !== shiftId) {
      this.current?.dataKey.fill(0);
      const { dataKey, wrap } = wrapNewDataKey(this.cfg.centralPublicKey);
      this.current = { shiftId, dataKey, wrap };
      log.info('new data key for shift', { shiftId, central: this.cfg.centralKeyId });
    }
    this.armIdle();
    return this.current;
  }

  /** Forgets the data key (shift end, clean stop): afterwards nothing here can encrypt or decrypt that shift. */
  forget(): void {
    this.current?.dataKey.fill(0);
    this.current = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /**
   * The evidence writer does not tell the storer when a shift ends, so an idle key is forgotten
   * after a while: a key needed again later is simply a new one (every segment carries its own
   * wrapped key), while a closed shift's key does not linger in memory.
   */
  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.forget(), this.idleForgetMs);
    this.idleTimer.unref();
  }

  async store(stagedPath: string, shiftDir: string, file: string, plain: Buffer, plainSha256: string): Promise<StoredSegment> {
    const shiftId = this.shiftOfDir.get(shiftDir) ?? basename(shiftDir);
    const { dataKey, wrap } = this.keyFor(shiftId);
    const outName = file + ENC_SUFFIX;
    const outPath = join(shiftDir, outName);
    // Written in place chunk by chunk (no temp + rename): after a power cut mid-write every
    // complete chunk still authenticates, so the cut loses only the chunk being written.
    // 'wx': evidence is never overwritten. A file of this name that exists already was left
    // unjournaled by a power cut; segment numbering skips it, so this cannot refuse a new one.
    const fd = openSync(outPath, 'wx', 0o640);
    let bytes = 0;
    const hash = createHash('sha256');
    try {
      for (const piece of encryptPieces(plain, file, dataKey, wrap, this.cfg.chunkSize)) {
        let off = 0;
        while (off < piece.length) off += writeSync(fd, piece, off, piece.length - off);
        hash.update(piece);
        bytes += piece.length;
      }
      fdatasyncSync(fd);
    } catch (e) {
      // A full disk mid-write: this incomplete file is ours, created above and never journaled;
      // remove it so the staged plaintext can be sealed again under the same number.
      closeSync(fd);
      try {
        unlinkSync(outPath);
      } catch {
        /* nothing to remove */
      }
      throw e;
    }
    closeSync(fd);
    fsyncDir(shiftDir);
    // Only now is the ciphertext durable: drop the plaintext from the stage.
    try {
      unlinkSync(stagedPath);
    } catch (e) {
      log.warn('could not remove staged plaintext', { file: stagedPath, error: e });
    }
    return {
      file: outName,
      sha256: hash.digest('hex'),
      bytes,
      plain_sha256: plainSha256,
      plain_bytes: plain.length,
      enc: 'BCAMENC1',
      recipient: this.cfg.centralKeyId,
    };
  }
}
