/** `bodycam decrypt SHIFT_DIR --key FILE --out DIR`: central turns encrypted segments back into plain ones. */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { CryptoError, UsageError, describe } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { loadPrivateKey } from '../../evidence/crypto.js';
import { decryptSegment, ENC_SUFFIX } from '../../evidence/encrypt.js';
import { sha256Hex } from '../../evidence/journal.js';

const FLAGS = {
  key: { type: 'string', help: "central's X25519 private key (PEM)" },
  out: { type: 'string', help: 'directory for the plain segments' },
} as const;

export const decryptCommand: Command = {
  name: 'decrypt',
  summary: "decrypt a shift's segments with central's private key",
  usage: `usage: bodycam decrypt SHIFT_DIR --key CENTRAL_PRIVATE_KEY --out DIR

Writes DIR/seg-NNNNNN.ts for every SHIFT_DIR/seg-NNNNNN.ts.enc. A damaged segment keeps its
authenticated chunks (written as seg-NNNNNN.ts.partial) and is reported.
Exit codes: 0 all decrypted, 1 some segment damaged, 2 wrong key or unusable input.`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'decrypt');
    if (positionals.length !== 1) throw new UsageError('decrypt: give exactly one SHIFT_DIR');
    if (!flags.key) throw new UsageError('decrypt: --key FILE is required');
    if (!flags.out) throw new UsageError('decrypt: --out DIR is required');
    const dir = positionals[0]!;
    let names: string[];
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      names = readdirSync(dir).filter((n) => n.endsWith(ENC_SUFFIX)).sort();
    } catch (e) {
      console.error(`bodycam decrypt: ${dir}: ${describe(e)}`);
      return 2;
    }
    let privateKey;
    try {
      privateKey = loadPrivateKey(flags.key, 'x25519', 'central private key');
    } catch (e) {
      console.error(`bodycam decrypt: ${describe(e)}`);
      return 2;
    }
    const publicKey = createPublicKey(privateKey);
    if (names.length === 0) {
      console.error(`bodycam decrypt: ${dir} holds no encrypted segment (*${ENC_SUFFIX})`);
      return 2;
    }
    mkdirSync(flags.out, { recursive: true });
    const cache = new Map<string, Buffer>();
    let damaged = 0;
    for (const n of names) {
      let res;
      try {
        res = decryptSegment(readFileSync(join(dir, n)), privateKey, publicKey, cache);
      } catch (e) {
        if (e instanceof CryptoError) {
          console.error(`bodycam decrypt: ${n}: ${e.message}`);
          return 2;
        }
        console.error(`bodycam decrypt: ${n}: ${describe(e)}`);
        damaged++;
        continue;
      }
      const plainName = n.slice(0, -ENC_SUFFIX.length);
      if (res.header.name !== plainName) {
        console.error(`bodycam decrypt: ${n}: the container names ${JSON.stringify(res.header.name)} (renamed file)`);
        damaged++;
      }
      if (res.complete) {
        writeFileAtomic(join(flags.out, plainName), res.plain, 0o640);
        console.log(`${plainName}  ${res.plain.length} bytes  sha256 ${sha256Hex(res.plain)}`);
      } else {
        damaged++;
        writeFileAtomic(join(flags.out, `${plainName}.partial`), res.plain, 0o640);
        console.error(`bodycam decrypt: ${n}: ${res.problem}; kept ${res.plain.length} authenticated bytes in ${plainName}.partial`);
      }
    }
    return damaged ? 1 : 0;
  },
};
