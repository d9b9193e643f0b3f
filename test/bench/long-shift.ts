/**
 * The synthetic 12-hour shift the `long` and `integrity` suites measure (issues 14 and 27): written
 * by the agent's own `Journal` and `JournalSigner`, 21,600 two-second segments (signed every 15),
 * a 10-min pause every 4 h, a gesture every 15 min, a time sync every hour. The media is ONE real
 * 2-s H.264 TS segment: hard-linked under every segment name for `long` (one inode and one segment
 * of page cache on this shared machine), or copied once per segment with a null packet numbering
 * it for `integrity` (`cachedLongShift`: 2.65 GB, distinct pages, as a real shift). Every byte is
 * read and hashed by whoever checks it; disk read speed is not in the figures (both sides of each
 * comparison read from the page cache after a warm-up). BENCH_LONG_SEG=WxH:kbps picks the stand-in: default 320x180:300 (~122 kB,
 * 2.65 GB per shift: per-file costs weigh most), 1920x1080:4000 for the ~1 MB segments of real
 * 1080p (~22 GB per shift; slow on a loaded 2-core box). BENCH_LONG_SEGMENTS overrides the count.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';
import { Journal, isoMs } from '../../agent/evidence/journal.js';
import { JournalSigner } from '../../agent/evidence/signer.js';
import { provisionIdentity, type DeviceIdentity } from '../../agent/identity/identity.js';
import { sized } from './measure.js';

export const SEGMENTS = Number(process.env.BENCH_LONG_SEGMENTS ?? sized(21_600, 60));
export const SEG_MS = 2000;
export const SIGN_EVERY = 15;
export const segName = (i: number): string => `seg-${String(i).padStart(6, '0')}.ts`;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const segSpec = (): [string, string] => (process.env.BENCH_LONG_SEG ?? '320x180:300').split(':') as [string, string];

/** One real 2-s 30 fps segment (the stand-in for every segment of the long shift). */
export function realSegment(dir: string): string {
  const [size, kbps] = segSpec();
  const out = join(dir, `one-${size}.ts`);
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30,noise=alls=30:allf=t`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`, '-g', '60', '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', out,
  ], { timeout: 120_000 });
  return out;
}

export interface SegmentPlan {
  /** Wall ms of the first segment's start. */
  readonly t0: number;
  readonly count: number;
  readonly run: number;
  readonly file: string;
  /**
   * Each segment its own file (the stand-in plus one MPEG-TS null packet numbering it) instead of
   * a hard link: readers on several cores then read different pages, as on a real shift (threads
   * reading the same page cache pages at once contend for them: sha256sum -P2 was slower than one
   * sha256sum over the hard-linked shift).
   */
  readonly distinct?: boolean;
}

/** A 188-byte MPEG-TS null packet (PID 0x1FFF, ignored by every demuxer) carrying `n`. */
function nullPacket(n: number): Buffer {
  const p = Buffer.alloc(188, 0xff);
  p.set([0x47, 0x1f, 0xff, 0x10]);
  p.writeUInt32BE(n, 4);
  return p;
}

/**
 * Appends `count` segments (with a pause of 10 min every 4 h, a gesture every 15 min and a
 * time_sync every hour) through the agent's Journal, signed every SIGN_EVERY segments, media
 * hard-linked to `plan.file`. Returns the wall ms after the last segment.
 */
export function appendShiftBody(j: Journal, clock: { t: number }, signer: JournalSigner | undefined, dir: string, plan: SegmentPlan, first = 1): number {
  const media = readFileSync(plan.file);
  const add = (type: string, f: Record<string, unknown>): void => {
    const w = j.append(type, f);
    signer?.maybeSign(j, w);
  };
  let run = plan.run;
  let mediaS = 0;
  let hashOfMedia = '';
  clock.t = plan.t0;
  for (let i = first; i < first + plan.count; i++) {
    const k = i - first;
    if (k > 0 && k % 7200 === 0) {
      // A 10-min PERSONAL_NEEDS pause every 4 h; the encoder starts a new run after it.
      add('pause', { reason: 'PERSONAL_NEEDS' });
      clock.t += 600_000;
      add('resume', { reason: 'PERSONAL_NEEDS' });
      run++;
      mediaS = 0;
    }
    if (k % 450 === 0) add('gesture', { gesture: 'double_tap', button: 'shift' });
    if (k % 1800 === 0) add('time_sync', { source: 'ntp', synced: true, offset_ms: 3 });
    const file = segName(i);
    let body = media;
    if (plan.distinct) writeFileSync(join(dir, file), (body = Buffer.concat([media, nullPacket(i)])));
    else linkSync(plan.file, join(dir, file));
    const hash = plan.distinct || i === first ? sha256(body) : hashOfMedia;
    hashOfMedia = hash;
    const bytes = body.length;
    const start = clock.t;
    clock.t += SEG_MS;
    add('segment', { file, sha256: hash, bytes, start: isoMs(start), end: isoMs(clock.t), media_start: mediaS, media_end: mediaS + 2, frames: 60, run });
    mediaS += 2;
  }
  return clock.t;
}

export interface LongShift {
  readonly dir: string;
  /** The device's public key (PEM path) to verify it with. */
  readonly pub: string;
  readonly identity: DeviceIdentity;
  /** Seconds the journal took to write (fdatasync per record). */
  readonly writeS: number;
}

/** The closed, signed 12-hour shift (SEGMENTS segments) under `root`, media hard-linked to `segFile`. */
export function longShift(root: string, segFile: string, segments = SEGMENTS, distinct = false): LongShift {
  const identity = provisionIdentity(join(root, 'data'), { deviceId: 'cam-long' });
  const id = '20261122T080000Z-cam-long';
  const dir = join(root, 'data', 'shifts', id);
  mkdirSync(dir, { recursive: true });
  const clock = { t: Date.UTC(2026, 10, 22, 8) };
  const j = new Journal(dir, () => clock.t);
  j.open();
  const signer = new JournalSigner(identity, SIGN_EVERY);
  const t0 = performance.now();
  j.append('shift_start', { shift_id: id, device_id: identity.deviceId, board: 'sim', policy: { signEverySegments: SIGN_EVERY }, clock: { source: 'ntp', synced: true } });
  const end = appendShiftBody(j, clock, signer, dir, { t0: clock.t, count: segments, run: 1, file: segFile, distinct });
  j.append('shift_end', { reason: 'wearer', end: isoMs(end), segments, media_s: segments * 2 });
  signer.signNow(j, 'shift_end');
  j.close();
  return { dir, pub: identity.publicKeyPath, identity, writeS: (performance.now() - t0) / 1000 };
}

/**
 * The same shift with distinct segment files (2.65 GB on disk), kept under .cache/bench between
 * runs (read only by its users: verifying does not change it), so a suite that only reads it does
 * not write 2.65 GB and 23,000 fsynced records each run. Built in a scratch folder and renamed into place when complete: a run killed
 * while building leaves no half shift to be found next time.
 */
export function cachedLongShift(segments = SEGMENTS): { dir: string; pub: string; segFile: string } {
  const name = `shift-12h-${segments}-${segSpec().join('-')}-distinct`;
  const root = join(REPO, '.cache', 'bench', name);
  const done = join(root, 'complete.json');
  if (!existsSync(done)) {
    const tmp = `${root}.building-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const seg = realSegment(tmp);
    const s = longShift(tmp, seg, segments, true);
    writeFileSync(join(tmp, 'complete.json'), JSON.stringify({ dir: s.dir.slice(tmp.length + 1), pub: s.pub.slice(tmp.length + 1), segFile: seg.slice(tmp.length + 1) }));
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
  }
  const c = JSON.parse(readFileSync(done, 'utf8')) as { dir: string; pub: string; segFile: string };
  return { dir: join(root, c.dir), pub: join(root, c.pub), segFile: join(root, c.segFile) };
}
