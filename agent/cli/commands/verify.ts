/**
 * `bodycam verify SHIFT_DIR|DEVICE_JOURNAL --pubkey FILE [--json] [--html FILE] [--key FILE] [--probe]`:
 * the offline verifier. A directory is a shift; a regular file is a device journal
 * (`DATA_DIR/device-journal.jsonl`, or a snapshot of it downloaded from the evidence store).
 * Several shift dirs, or a directory of them, are custody periods verified as one chain
 * (verify/periods.ts).
 */
import { statSync, writeFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { UsageError, CryptoError, describe } from '../../lib/errors.js';
import { loadPrivateKey, loadPublicKey } from '../../evidence/crypto.js';
import { createPublicKey } from 'node:crypto';
import { verifyShift, UnusableInputError } from '../../evidence/verify/verify.js';
import { verifyDeviceJournal } from '../../evidence/verify/device-journal.js';
import { isPeriodsInput, renderPeriodsText, verifyPeriods } from '../../evidence/verify/periods.js';
import { renderDeviceJournalText, renderText } from '../../evidence/verify/text.js';
import { renderDeviceJournalHtml, renderHtml, renderPeriodsHtml } from '../../evidence/html-report.js';
import type { DeviceJournalReport, VerifyReport } from '../../evidence/verify/report.js';

const FLAGS = {
  pubkey: { type: 'string', help: "the device's Ed25519 public key (PEM), from central's records" },
  json: { type: 'boolean', help: 'print the report as JSON' },
  html: { type: 'string', help: 'also write a self-contained HTML timeline to FILE' },
  key: { type: 'string', help: "central's X25519 private key: decrypt media, check plaintext hashes, decoding and frame counts" },
  probe: { type: 'boolean', help: 'decode plaintext segments with ffprobe and compare frame counts' },
} as const;

const USAGE = `usage: bodycam verify SHIFT_DIR --pubkey FILE [--json] [--html FILE] [--key CENTRAL_PRIVATE_KEY] [--probe]
       bodycam verify DATA_DIR/device-journal.jsonl --pubkey FILE [--json] [--html FILE]
       bodycam verify PERIOD_DIR PERIOD_DIR... | SHIFTS_DIR --pubkey FILE [--json] [--html FILE] [--key FILE] [--probe]

Checks a shift directory offline: hash chain, seq, signatures (against --pubkey only), every
segment's hash and size, missing/extra/renamed/reordered files, and timeline coverage.
Given a file instead, checks it as a device journal (what happens off duty; also a snapshot of it
from the evidence store): hash chain, seq, signatures (shift_id "device-journal") and the
unsigned tail. There is no media to check.
Given several shift dirs (or one directory holding shift dirs), checks them as consecutive custody
periods: each period as above, and every boundary (continues: last hash, final signature, segment
numbering, no time between); a missing, swapped or foreign period is a named finding.
Exit codes: 0 intact, 1 tampered or incomplete (findings name file and line), 2 unusable input.`;

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify a shift directory (chain, signatures, media, timeline) or a device journal offline',
  usage: USAGE,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'verify');
    if (positionals.length === 0) throw new UsageError('verify: give a SHIFT_DIR, a device journal file, or custody period dirs');
    if (!flags.pubkey) throw new UsageError('verify: --pubkey FILE is required: signatures are checked only against a key you supply, never one found in the shift');
    if (isPeriodsInput(positionals)) return runPeriods(positionals, flags);
    const target = positionals[0]!;
    // A regular file can only be a journal on its own: the device journal. Anything else
    // (a directory, or nothing at all) goes to the shift verifier, which says what is wrong.
    const deviceJournal = isFile(target);
    if (deviceJournal && (flags.key || flags.probe)) throw new UsageError('verify: --key and --probe check media: a device journal has none');
    let report: VerifyReport | DeviceJournalReport;
    try {
      const publicKey = loadPublicKey(flags.pubkey, 'ed25519', 'device public key');
      let central;
      if (flags.key) {
        const privateKey = loadPrivateKey(flags.key, 'x25519', 'central private key');
        central = { privateKey, publicKey: createPublicKey(privateKey) };
      }
      report = deviceJournal ? verifyDeviceJournal({ path: target, publicKey }) : await verifyShift({ shiftDir: target, publicKey, central, probe: flags.probe ?? false });
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
        writeFileSync(flags.html, isDeviceJournal(report) ? renderDeviceJournalHtml(report) : renderHtml(report));
      } catch (e) {
        console.error(`bodycam verify: cannot write ${flags.html}: ${describe(e)}`);
        return 2;
      }
    }
    console.log(flags.json ? JSON.stringify(report, null, 2) : isDeviceJournal(report) ? renderDeviceJournalText(report) : renderText(report));
    return report.exitCode;
  },
};

async function runPeriods(dirs: readonly string[], flags: { pubkey?: string; json?: boolean; html?: string; key?: string; probe?: boolean }): Promise<number> {
  try {
    const publicKey = loadPublicKey(flags.pubkey!, 'ed25519', 'device public key');
    let central;
    if (flags.key) {
      const privateKey = loadPrivateKey(flags.key, 'x25519', 'central private key');
      central = { privateKey, publicKey: createPublicKey(privateKey) };
    }
    const report = await verifyPeriods({ dirs, publicKey, ...(central ? { central } : {}), probe: flags.probe ?? false });
    if (flags.html) {
      try {
        writeFileSync(flags.html, renderPeriodsHtml(report));
      } catch (e) {
        console.error(`bodycam verify: cannot write ${flags.html}: ${describe(e)}`);
        return 2;
      }
    }
    console.log(flags.json ? JSON.stringify(report, null, 2) : renderPeriodsText(report));
    return report.exitCode;
  } catch (e) {
    if (e instanceof UnusableInputError || e instanceof CryptoError) {
      if (flags.json) console.log(JSON.stringify({ format: 'bodycam-verify-periods-v1', verdict: 'unusable', exitCode: 2, error: e.message }));
      console.error(`bodycam verify: unusable input: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

const isDeviceJournal = (r: VerifyReport | DeviceJournalReport): r is DeviceJournalReport => 'subject' in r && r.subject === 'device-journal';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
