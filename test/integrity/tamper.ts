/**
 * What an attacker with the files (but not the device key) can do to a shift: edit journal lines,
 * recompute the hash chain, renumber seq, re-sign with a key of their own, move media around.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, type KeyObject } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { signSubject, keyIdOf } from '../../agent/evidence/crypto.js';

export const JOURNAL = 'journal.jsonl';
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export type Rec = Record<string, unknown>;

export function readRecords(dir: string): Rec[] {
  return readFileSync(join(dir, JOURNAL), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Rec);
}

/** Writes records back; with `rechain` recomputes seq and prev so the chain itself is consistent. */
export function writeRecords(dir: string, recs: Rec[], opts: { rechain: boolean; resignWith?: { key: KeyObject; pub: KeyObject } }): void {
  const lines: string[] = [];
  let prev = '0'.repeat(64);
  recs.forEach((r, i) => {
    const rec = { ...r };
    if (opts.rechain) {
      rec.seq = i;
      rec.prev = prev;
      if (rec.type === 'signature') {
        rec.covers_seq = i - 1;
        rec.head = prev;
        if (opts.resignWith) {
          rec.key_id = keyIdOf(opts.resignWith.pub);
          rec.sig = signSubject(opts.resignWith.key, { deviceId: String(rec.device_id), shiftId: String(rec.shift_id), coversSeq: i - 1, head: prev });
        }
      }
    }
    const line = JSON.stringify(rec);
    lines.push(line);
    prev = sha256(line);
  });
  writeFileSync(join(dir, JOURNAL), lines.map((l) => l + '\n').join(''));
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: { verdict: string; findings: { kind: string; where: string; message: string; severity: string }[]; [k: string]: unknown } | undefined;
}

export const CLI = join(process.cwd(), 'dist/agent/cli/main.js');

export function bodycam(args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  let json;
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout) as CliResult['json'];
    } catch {
      json = undefined;
    }
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

export const kinds = (r: CliResult): string[] => (r.json?.findings ?? []).filter((f) => f.severity === 'error').map((f) => f.kind);
