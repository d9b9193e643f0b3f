/**
 * Decoding checks with ffprobe. Plaintext is fed on stdin so that decrypted media never touches
 * a disk on the verifying machine either.
 */
import { spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptSegment, ENC_SUFFIX } from '../encrypt.js';
import { sha256, type Findings, type Rec } from './chain.js';

export interface ProbeResult {
  readonly ok: boolean;
  /** Video frames decoded (ffprobe -count_frames), when it decoded. */
  readonly frames: number | undefined;
  readonly error: string | undefined;
}

export function probeFrames(data: Buffer, ffprobe = 'ffprobe'): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const p = spawn(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', '-i', 'pipe:0'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // ffprobe may stop reading early on garbage: ignore EPIPE on its stdin.
    p.stdin.on('error', () => undefined);
    p.on('error', (e) => resolve({ ok: false, frames: undefined, error: `cannot run ${ffprobe}: ${e.message}` }));
    p.on('close', (code) => {
      const n = Number.parseInt(out.trim().split(/\s+/)[0] ?? '', 10);
      if (code !== 0 || !Number.isFinite(n)) {
        resolve({ ok: false, frames: undefined, error: (err.trim().split('\n').slice(-2).join(' ') || `ffprobe exit ${code}`).slice(0, 300) });
      } else resolve({ ok: n > 0, frames: n, error: n > 0 ? undefined : 'no video frame decodes' });
    });
    p.stdin.end(data);
  });
}

/** A segment as verify.ts checked it: its record, and whether its file matched the record. */
export interface MediaSeg {
  readonly line: { readonly no: number; readonly rec: Rec };
  readonly file: string;
  readonly frames: unknown;
  readonly ok: boolean;
}

/**
 * Decrypts (with central's key) and decodes every segment whose file matched its record; checks
 * plaintext hash and size and the journaled frame count. Segments that fail are added to
 * `problem` as altered. Returns how many were decoded.
 */
export async function checkMedia<S extends MediaSeg>(
  segs: readonly S[], dir: string, central: { privateKey: KeyObject; publicKey: KeyObject } | undefined, F: Findings, problem: Map<S, 'altered' | 'missing'>,
): Promise<number> {
  let checked = 0;
  const cache = new Map<string, Buffer>();
  for (const s of segs) {
    if (!s.ok) continue;
    const r = s.line.rec;
    let plain: Buffer;
    const raw = readFileSync(join(dir, s.file));
    if (s.file.endsWith(ENC_SUFFIX)) {
      if (!central) continue;
      const d = decryptSegment(raw, central.privateKey, central.publicKey, cache); // wrong key throws CryptoError
      if (!d.complete) F.tampered('decrypt', s.file, `does not decrypt completely: ${d.problem ?? 'unknown'}`);
      plain = d.plain;
      if (!d.complete) problem.set(s, 'altered');
      if (d.complete && (sha256(plain) !== r.plain_sha256 || plain.length !== r.plain_bytes)) {
        problem.set(s, 'altered');
        F.tampered('plain_hash', s.file, `decrypted plaintext does not match plain_sha256/plain_bytes of journal line ${s.line.no}`);
      }
    } else plain = raw;
    const p = await probeFrames(plain);
    checked++;
    if (!p.ok) F.tampered('decode', s.file, `does not decode: ${p.error ?? 'unknown'}`);
    else if (typeof s.frames === 'number' && p.frames !== s.frames) F.tampered('frames', s.file, `decodes to ${p.frames} video frames, journal line ${s.line.no} says ${s.frames}`);
    else continue;
    problem.set(s, 'altered');
  }
  return checked;
}
