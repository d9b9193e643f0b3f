/** `bodycam verify SHIFT_DIR --pubkey FILE [--json] [--html FILE] [--key FILE] [--probe]`: the offline verifier. */
import { writeFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { UsageError, CryptoError, describe } from '../../lib/errors.js';
import { loadPrivateKey, loadPublicKey } from '../../evidence/crypto.js';
import { createPublicKey } from 'node:crypto';
import { verifyShift, UnusableInputError } from '../../evidence/verify/verify.js';
import { renderText } from '../../evidence/verify/text.js';
import { renderHtml } from '../../evidence/html-report.js';

const FLAGS = {
  pubkey: { type: 'string', help: "the device's Ed25519 public key (PEM), from central's records" },
  json: { type: 'boolean', help: 'print the report as JSON' },
  html: { type: 'string', help: 'also write a self-contained HTML timeline to FILE' },
  key: { type: 'string', help: "central's X25519 private key: decrypt media, check plaintext hashes, decoding and frame counts" },
  probe: { type: 'boolean', help: 'decode plaintext segments with ffprobe and compare frame counts' },
} as const;

const USAGE = `usage: bodycam verify SHIFT_DIR --pubkey FILE [--json] [--html FILE] [--key CENTRAL_PRIVATE_KEY] [--probe]

Checks a shift directory offline: hash chain, seq, signatures (against --pubkey only), every
segment's hash and size, missing/extra/renamed/reordered files, and timeline coverage.
Exit codes: 0 intact, 1 tampered or incomplete (findings name file and line), 2 unusable input.`;

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify a shift directory offline (chain, signatures, media, timeline)',
  usage: USAGE,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'verify');
    if (positionals.length !== 1) throw new UsageError('verify: give exactly one SHIFT_DIR');
    if (!flags.pubkey) throw new UsageError('verify: --pubkey FILE is required: signatures are checked only against a key you supply, never one found in the shift');
    const shiftDir = positionals[0]!;
    let report;
    try {
      const publicKey = loadPublicKey(flags.pubkey, 'ed25519', 'device public key');
      let central;
      if (flags.key) {
        const privateKey = loadPrivateKey(flags.key, 'x25519', 'central private key');
        central = { privateKey, publicKey: createPublicKey(privateKey) };
      }
      report = await verifyShift({ shiftDir, publicKey, central, probe: flags.probe ?? false });
    } catch (e) {
      if (e instanceof UnusableInputError || e instanceof CryptoError) {
        if (flags.json) console.log(JSON.stringify({ format: 'bodycam-verify-v1', verdict: 'unusable', exitCode: 2, error: e.message }));
        console.error(`bodycam verify: unusable input: ${e.message}`);
        return 2;
      }
      throw e;
    }
    if (flags.html) {
      try {
        writeFileSync(flags.html, renderHtml(report));
      } catch (e) {
        console.error(`bodycam verify: cannot write ${flags.html}: ${describe(e)}`);
        return 2;
      }
    }
    console.log(flags.json ? JSON.stringify(report, null, 2) : renderText(report));
    return report.exitCode;
  },
};
