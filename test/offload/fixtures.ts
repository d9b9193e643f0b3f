/**
 * Real shift directories for offload tests: MPEG-TS segments from ffmpeg (lavfi test source and
 * tone, small and short: the CI box has 2 cores) and a hash-chained journal written with the
 * agent's own Journal, ending with `shift_end` like a closed shift.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Journal } from '../../agent/evidence/journal.js';

const run = promisify(execFile);

export interface ShiftFixture {
  readonly shiftId: string;
  readonly dir: string;
  readonly files: string[];
  readonly bytes: number;
}

export const shiftIdAt = (ms: number, deviceId: string): string =>
  new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z') + '-' + deviceId;

/**
 * Records `seconds` of 320x180 video with tone into ~2 s TS segments. `kbps` sets the video bitrate
 * (test media is noise-like so the bitrate is actually reached: multi-part files with small parts).
 */
export async function makeShift(dataDir: string, deviceId: string, startMs: number, opts: { seconds?: number; kbps?: number } = {}): Promise<ShiftFixture> {
  const shiftId = shiftIdAt(startMs, deviceId);
  const dir = join(dataDir, 'shifts', shiftId);
  mkdirSync(dir, { recursive: true });
  const seconds = opts.seconds ?? 6;
  const kbps = opts.kbps ?? 600;
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=10,noise=alls=60:allf=t`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`,
    '-g', '20', '-c:a', 'aac', '-b:a', '32k',
    '-f', 'segment', '-segment_time', '2', '-segment_format', 'mpegts', '-reset_timestamps', '0', '-segment_start_number', '1',
    join(dir, 'seg-%06d.ts'),
  ], { timeout: 120_000 });
  let t = startMs;
  const j = new Journal(dir, () => t);
  j.open();
  j.append('shift_start', { shift_id: shiftId, device_id: deviceId, board: 'sim', firmware: 'test', boot_id: 'test', policy: {}, clock: { source: 'system', synced: true } });
  const segs = readdirSync(dir).filter((f) => f.startsWith('seg-')).sort();
  segs.forEach((file, i) => {
    const buf = readFileSync(join(dir, file));
    t += 2000;
    j.append('segment', {
      file, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length,
      start: new Date(startMs + i * 2000).toISOString(), end: new Date(startMs + (i + 1) * 2000).toISOString(),
      media_start: i * 2, media_end: (i + 1) * 2, frames: 20, run: 1,
    });
  });
  t += 10;
  j.append('shift_end', { reason: 'wearer', segments: segs.length, media_s: segs.length * 2 });
  j.close();
  const files = readdirSync(dir).sort();
  return { shiftId, dir, files, bytes: files.reduce((a, f) => a + statSync(join(dir, f)).size, 0) };
}
