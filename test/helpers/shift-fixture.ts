/**
 * Builds shift directories the way the agent writes them, without the daemon: real ffmpeg makes
 * 2-s MPEG-TS segments (320x180, 10 fps, with audio), the real Journal writes the records, the
 * real JournalSigner signs, and the real EncryptingStorer encrypts when asked. Tests then tamper
 * with copies of it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Journal, type Fields } from '../../agent/evidence/journal.js';
import { JournalSigner } from '../../agent/evidence/signer.js';
import { EncryptingStorer, DEFAULT_CHUNK } from '../../agent/evidence/encrypt.js';
import { keyIdOf } from '../../agent/evidence/crypto.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';
import type { DeviceIdentity } from '../../agent/identity/identity.js';

export interface Media {
  readonly dir: string;
  readonly files: readonly string[];
  readonly frames: readonly number[];
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Encodes `count` segments of 2 s into a fresh temp dir (one ffmpeg run, gapless). */
export function makeMedia(count: number): Media {
  const dir = mkdtempSync(join(tmpdir(), 'bodycam-media-'));
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000',
    '-t', String(count * 2),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-keyint_min', '10', '-sc_threshold', '0', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '32k',
    '-f', 'segment', '-segment_time', '2', '-segment_format', 'mpegts', '-reset_timestamps', '0', '-segment_start_number', '1',
    join(dir, 'seg-%06d.ts'),
  ]);
  const files = readdirSync(dir).filter((f) => /^seg-\d{6}\.ts$/.test(f)).sort();
  if (files.length !== count) throw new Error(`ffmpeg made ${files.length} segments, wanted ${count}`);
  const frames = files.map((f) =>
    Number(
      execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', join(dir, f)])
        .toString()
        .trim(),
    ),
  );
  return { dir, files, frames };
}

export interface ShiftOptions {
  /** Parent directory; the shift dir is `<root>/<shiftId>`. */
  readonly root: string;
  readonly identity: DeviceIdentity;
  readonly media: Media;
  readonly shiftId?: string;
  readonly signEvery?: number;
  /** Central's X25519 public key: store ciphertext only (stage on /dev/shm). */
  readonly encryptFor?: KeyObject;
  /** Leave out the gap record after the resume: the device journals a hole (coverage finding). */
  readonly hole?: boolean;
  /** Stop like a crash: no shift_end, no final signature; the next segment stays unsealed on disk. */
  readonly crash?: boolean;
}

export interface ShiftFixture {
  readonly dir: string;
  readonly shiftId: string;
  readonly startMs: number;
}

export const FIXTURE_T0 = Date.UTC(2026, 10, 22, 8, 0, 0);

/**
 * Timeline (4 segments): start → encoder_start gap 0.4 s → seg 1, 2 → PERSONAL_NEEDS pause 6 s →
 * encoder_start gap → seg 3 → encoder crash (fault + gap 1.5 s) → seg 4 (run 2) → shift_end.
 */
export async function makeShift(o: ShiftOptions): Promise<ShiftFixture> {
  const shiftId = o.shiftId ?? `20261122T080000Z-${o.identity.deviceId}`;
  const dir = join(o.root, shiftId);
  mkdirSync(dir, { recursive: true });
  let t = FIXTURE_T0;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const journal = new Journal(dir, () => t);
  journal.open();
  const signEvery = o.signEvery ?? 2;
  const signer = new JournalSigner(o.identity, signEvery);
  const stage = o.encryptFor ? mkdtempSync('/dev/shm/bodycam-fixture-') : undefined;
  const storer = o.encryptFor
    ? new EncryptingStorer({ centralPublicKey: o.encryptFor, centralPublicKeyPath: '(fixture)', centralKeyId: keyIdOf(o.encryptFor), stageDir: stage!, chunkSize: DEFAULT_CHUNK })
    : undefined;
  const stageDir = storer?.stageDir(shiftId, dir);
  const append = (type: string, fields: Fields, at = t): void => {
    t = Math.max(t, at);
    const w = journal.append(type, fields, at);
    signer.maybeSign(journal, w);
  };
  append('shift_start', {
    shift_id: shiftId,
    device_id: o.identity.deviceId,
    board: 'sim',
    firmware: 'fixture',
    boot_id: '00000000-0000-4000-8000-000000000000',
    policy: { ...DEFAULT_POLICY, signEverySegments: signEvery },
    clock: { source: 'ntp', synced: true },
  });
  append('gesture', { button: 'shift', gesture: 'hold', outcome: 'shift_start', feedback: { led: 'rec_on', haptic: 'long' } });
  let cursor = FIXTURE_T0 + 400;
  append('gap', { cause: 'encoder_start', start: iso(FIXTURE_T0), end: iso(cursor) }, cursor);
  let run = 1;
  let mediaT = 0;
  const n = o.media.files.length;
  const segsToSeal = o.crash ? n - 1 : n;
  for (let i = 0; i < segsToSeal; i++) {
    const file = o.media.files[i]!;
    const plain = readFileSync(join(o.media.dir, file));
    const start = cursor;
    const end = start + 2000;
    let stored: Fields = { file, sha256: sha256(plain), bytes: plain.length };
    if (storer && stageDir) {
      const staged = join(stageDir, file);
      copyFileSync(join(o.media.dir, file), staged);
      stored = await storer.store(staged, dir, file, plain, sha256(plain));
    } else {
      copyFileSync(join(o.media.dir, file), join(dir, file));
    }
    append('segment', { ...stored, start: iso(start), end: iso(end), media_start: mediaT, media_end: mediaT + 2, frames: o.media.frames[i], run }, end + 30);
    mediaT += 2;
    cursor = end;
    if (i === 1) {
      append('gesture', { button: 'privacy', gesture: 'press', outcome: 'pause', feedback: { led: 'rec_blink', haptic: 'short' } }, cursor + 40);
      append('pause', { reason: 'PERSONAL_NEEDS', max_s: DEFAULT_POLICY.personalNeedsMaxS, via: 'gesture' }, cursor + 50);
      const resumeAt = cursor + 50 + 6000;
      append('gesture', { button: 'privacy', gesture: 'press', outcome: 'resume', feedback: { led: 'rec_on', haptic: 'short' } }, resumeAt - 10);
      append('resume', { cause: 'manual', reason: 'PERSONAL_NEEDS', paused_s: 6 }, resumeAt);
      if (!o.hole) append('gap', { cause: 'encoder_start', start: iso(resumeAt), end: iso(resumeAt + 400) }, resumeAt + 400);
      cursor = resumeAt + 400;
      run++;
      mediaT = 0;
    } else if (i === 2 && i < segsToSeal - 1) {
      append('fault', { fault: 'encoder_crash', detail: 'ffmpeg exited with code 1' }, cursor + 200);
      append('gap', { cause: 'encoder_crash', start: iso(cursor), end: iso(cursor + 1500) }, cursor + 1500);
      append('recovery', { what: 'encoder_restart', attempt: 1 }, cursor + 1500);
      cursor += 1500;
      run++;
      mediaT = 0;
    }
  }
  if (o.crash) {
    // The segment being recorded when the agent died: on disk, never sealed or journaled.
    // (Encrypted, it would still be plaintext on the tmpfs stage: nothing lands in the shift dir.)
    const file = o.media.files[n - 1]!;
    if (!o.encryptFor) copyFileSync(join(o.media.dir, file), join(dir, file));
  } else {
    append('gesture', { button: 'shift', gesture: 'confirm', outcome: 'shift_end', feedback: { led: 'off', haptic: 'double' } }, cursor + 50);
    append('shift_end', { reason: 'wearer', segments: segsToSeal, media_s: segsToSeal * 2 }, cursor + 100);
    signer.signNow(journal, 'shift_end');
  }
  journal.close();
  storer?.forget();
  if (stage) rmSync(stage, { recursive: true, force: true });
  return { dir, shiftId, startMs: FIXTURE_T0 };
}
