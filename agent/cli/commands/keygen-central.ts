/**
 * `bodycam keygen-central --out DIR`: an X25519 key pair for central (encryption at rest).
 * Equivalent to `openssl genpkey -algorithm X25519 -out central-x25519.key.pem` and
 * `openssl pkey -in central-x25519.key.pem -pubout -out central-x25519.pub.pem`; this command
 * exists so that no one has to get the file modes right by hand.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { BodycamError, UsageError } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { generateX25519, keyIdOf } from '../../evidence/crypto.js';

const FLAGS = {
  out: { type: 'string', help: 'directory for central-x25519.key.pem (0600) and central-x25519.pub.pem' },
  force: { type: 'boolean', help: 'overwrite an existing key pair' },
} as const;

export const keygenCentralCommand: Command = {
  name: 'keygen-central',
  summary: "create central's X25519 key pair for encryption at rest",
  usage: `usage: bodycam keygen-central --out DIR [--force]

Writes DIR/central-x25519.key.pem (private, mode 0600: keep it at central, never on a camera)
and DIR/central-x25519.pub.pem (configure it on cameras: "encryption": {"centralPublicKey": …}).`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'keygen-central');
    if (positionals.length) throw new UsageError(`keygen-central: unexpected argument '${positionals[0]}'`);
    if (!flags.out) throw new UsageError('keygen-central: --out DIR is required');
    const priv = join(flags.out, 'central-x25519.key.pem');
    const pub = join(flags.out, 'central-x25519.pub.pem');
    if (!flags.force && (existsSync(priv) || existsSync(pub))) throw new BodycamError('STATE', `${flags.out} already holds a central key pair; refusing to overwrite it (--force)`);
    const { publicKey, privateKey } = generateX25519();
    writeFileAtomic(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    writeFileAtomic(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
    console.error(`central key id ${keyIdOf(publicKey)}`);
    console.log(pub);
    return 0;
  },
};
