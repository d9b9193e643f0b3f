/**
 * Device identity under `<data-dir>/identity/`: `device.json` (device id, public key, created)
 * and `device.key` (Ed25519 private key, PKCS#8 PEM, mode 0600: the agent only).
 * `bodycam provision` creates it; nothing overwrites it unless told to.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, mkdirSync, chmodSync, chownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../lib/atomic.js';
import { BodycamError, ConfigError } from '../lib/errors.js';

export interface DeviceIdentity {
  readonly deviceId: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  /** Short fingerprint of the public key (hex SHA-256 of its SPKI DER, first 16 chars). */
  readonly keyId: string;
  readonly publicKeyPath: string;
}

export const identityDir = (dataDir: string): string => join(dataDir, 'identity');

export function publicKeyId(pub: KeyObject): string {
  const der = pub.export({ type: 'spki', format: 'der' });
  return createHashHex(der).slice(0, 16);
}

import { createHash } from 'node:crypto';
const createHashHex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function loadIdentity(dataDir: string): DeviceIdentity | undefined {
  const dir = identityDir(dataDir);
  const metaPath = join(dir, 'device.json');
  if (!existsSync(metaPath)) return undefined;
  let meta: { deviceId?: unknown };
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { deviceId?: unknown };
  } catch (e) {
    throw new ConfigError(metaPath, [{ where: metaPath, message: `unreadable identity: ${(e as Error).message}` }]);
  }
  if (typeof meta.deviceId !== 'string') throw new ConfigError(metaPath, [{ where: '/deviceId', message: 'missing' }]);
  const privateKey = createPrivateKey(readFileSync(join(dir, 'device.key')));
  const publicKey = createPublicKey(privateKey);
  return { deviceId: meta.deviceId, privateKey, publicKey, keyId: publicKeyId(publicKey), publicKeyPath: join(dir, 'device.pub.pem') };
}

export function provisionIdentity(dataDir: string, opts: { deviceId?: string; force?: boolean } = {}): DeviceIdentity {
  const dir = identityDir(dataDir);
  if (existsSync(join(dir, 'device.json')) && !opts.force) {
    throw new BodycamError('STATE', `an identity already exists in ${dir}; refusing to overwrite it (use --force to replace it: the old key can no longer sign)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const deviceId = opts.deviceId ?? `cam-${randomBytes(4).toString('hex')}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(deviceId)) throw new BodycamError('USAGE', `invalid device id '${deviceId}'`);
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  writeFileAtomic(join(dir, 'device.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  const pubPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  writeFileAtomic(join(dir, 'device.pub.pem'), pubPem, 0o644);
  const keyId = publicKeyId(publicKey);
  writeJsonAtomic(join(dir, 'device.json'), { deviceId, keyId, algorithm: 'ed25519', created: new Date().toISOString() }, 0o644);
  handToDataDirOwner(dataDir, dir);
  return { deviceId, publicKey, privateKey, keyId, publicKeyPath: join(dir, 'device.pub.pem') };
}

/**
 * `bodycam provision` usually runs as root while the agent runs as its own user (the data dir's
 * owner): a root-owned 0600 key would be unreadable by the agent, which would then record
 * unsigned. So when root provisions a data dir owned by someone else, the identity goes to them.
 */
function handToDataDirOwner(dataDir: string, dir: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const { uid, gid } = statSync(dataDir);
  if (uid === 0) return;
  for (const p of [dir, join(dir, 'device.key'), join(dir, 'device.pub.pem'), join(dir, 'device.json')]) chownSync(p, uid, gid);
}
