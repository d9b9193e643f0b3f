/**
 * Evidence cryptography shared by the agent (signer, encrypting storer) and the offline tools
 * (verify, decrypt, keygen). Every byte layout here is specified in docs/evidence-format.md;
 * change one only together with the document and the format version.
 */
import {
  createPublicKey,
  createPrivateKey,
  createHash,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CryptoError, errnoCode } from '../lib/errors.js';

/** Key id: first 16 hex chars of SHA-256 over the key's SubjectPublicKeyInfo DER. */
export function keyIdOf(pub: KeyObject): string {
  const der = pub.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** Raw 32-byte public key of an Ed25519 or X25519 key (the SPKI DER ends with it). */
export function rawPublicKey(pub: KeyObject): Buffer {
  const der = pub.export({ type: 'spki', format: 'der' });
  return Buffer.from(der.subarray(der.length - 32));
}

/** X25519 SPKI DER prefix (RFC 8410): SEQUENCE { AlgorithmIdentifier id-X25519 } BIT STRING. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export function x25519PublicFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new CryptoError(`an X25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

type KeyKind = 'ed25519' | 'x25519';

function readKeyFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = errnoCode(e);
    throw new CryptoError(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
}

/**
 * Loads a public key of the expected kind from a PEM file. A private key file is accepted too
 * (its public half is used): central may hand either to a verifier.
 */
export function loadPublicKey(path: string, kind: KeyKind, what = 'public key'): KeyObject {
  const pem = readKeyFile(path, what);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new CryptoError(`${what} ${path}: not a PEM public or private key`);
  }
  if (key.asymmetricKeyType !== kind) {
    throw new CryptoError(`${what} ${path}: expected an ${kind.toUpperCase()} key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

export function loadPrivateKey(path: string, kind: KeyKind, what = 'private key'): KeyObject {
  const pem = readKeyFile(path, what);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new CryptoError(`${what} ${path}: not a PEM private key`);
  }
  if (key.asymmetricKeyType !== kind) {
    throw new CryptoError(`${what} ${path}: expected an ${kind.toUpperCase()} private key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// Journal signatures

export const SIGNATURE_ALG = 'ed25519';
export const SIGNATURE_DOMAIN = 'bodycam-journal-signature-v1';

export interface SignatureSubject {
  readonly deviceId: string;
  readonly shiftId: string;
  /** seq of the last record covered (the record just before the signature record). */
  readonly coversSeq: number;
  /** Chain head after that record: hex SHA-256 of its line (the signature record's `prev`). */
  readonly head: string;
}

/**
 * The exact bytes signed: domain, device id, shift id, covered seq and head hash, each followed
 * by a line feed, as UTF-8. A domain string keeps a journal signature from ever being valid as a
 * signature over anything else the same key signs.
 */
export function signatureInput(s: SignatureSubject): Buffer {
  return Buffer.from(`${SIGNATURE_DOMAIN}\n${s.deviceId}\n${s.shiftId}\n${s.coversSeq}\n${s.head}\n`, 'utf8');
}

export function signSubject(key: KeyObject, s: SignatureSubject): string {
  return cryptoSign(null, signatureInput(s), key).toString('base64');
}

export function verifySubject(pub: KeyObject, s: SignatureSubject, sigB64: string): boolean {
  const sig = Buffer.from(sigB64, 'base64');
  if (sig.length !== 64) return false;
  try {
    return cryptoVerify(null, signatureInput(s), pub, sig);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Key wrapping for central (X25519 + HKDF-SHA256 + AES-256-GCM)

export const WRAP_INFO = 'bodycam-keywrap-v1';
export const SEGMENT_KEY_INFO = 'bodycam-segment-key-v1';

export function generateX25519(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('x25519');
}

export function hkdf32(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'utf8'), 32));
}

/** KEK = HKDF-SHA256(ikm = X25519 shared secret, salt = ephemeral pub ‖ recipient pub, info = WRAP_INFO). */
export function wrapKek(shared: Uint8Array, ephemeralRaw: Uint8Array, recipientRaw: Uint8Array): Buffer {
  return hkdf32(shared, Buffer.concat([ephemeralRaw, recipientRaw]), WRAP_INFO);
}

export function x25519Shared(priv: KeyObject, pub: KeyObject): Buffer {
  return diffieHellman({ privateKey: priv, publicKey: pub });
}
