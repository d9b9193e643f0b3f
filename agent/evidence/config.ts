/**
 * Config section `encryption` (agent/evidence/encryption.schema.json): central's X25519 public
 * key, for which footage is stored encrypted. Here, apart from the storer, so that the config
 * registry does not import the storer that reads the config.
 */
import type { KeyObject } from 'node:crypto';
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/types.js';
import { schemaCheck, objectOrEmpty } from '../config/schema.js';
import { encryptionSchema, type EncryptionSection } from '../generated/config-schemas.js';
import { keyIdOf, loadPublicKey } from './crypto.js';

export interface EncryptionConfig {
  readonly centralPublicKeyPath: string;
  readonly centralPublicKey: KeyObject;
  readonly centralKeyId: string;
  /** tmpfs directory where ffmpeg writes plaintext segments before they are encrypted. */
  readonly stageDir: string;
  readonly chunkSize: number;
}

export const DEFAULT_STAGE_DIR = encryptionSchema.properties.stageDir.default;

const check = schemaCheck<Required<EncryptionSection>>('encryptionValidate');

export const encryptionSection: SectionParser<EncryptionConfig | undefined> = {
  name: 'encryption',
  parse(value: unknown, where: string, issues: Issue[]): EncryptionConfig | undefined {
    if (value === undefined || value === null) return undefined;
    const c = check(value, where, issues);
    // The key is loaded even when another field is wrong: every problem is reported at once.
    const path = objectOrEmpty(value).centralPublicKey;
    let key: KeyObject | undefined;
    if (typeof path === 'string' && path !== '') {
      try {
        key = loadPublicKey(path, 'x25519', 'central public key');
      } catch (e) {
        issues.push({ where: `${where}/centralPublicKey`, message: (e as Error).message });
      }
    }
    if (!c || !key) return undefined;
    return { centralPublicKeyPath: c.centralPublicKey, centralPublicKey: key, centralKeyId: keyIdOf(key), stageDir: c.stageDir, chunkSize: c.chunkSize };
  },
};
