/** Media and journal checks shared by tests: real ffprobe/ffmpeg, and a hash-chain walk. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface ProbedSegment {
  frames: number;
  firstPts: number;
  lastPts: number;
  /** stderr of a full decode: empty means it decoded cleanly. */
  decodeErrors: string;
}

/** Decodes every video frame (ffprobe -count_frames), reads packet PTS, and decodes fully with ffmpeg. */
export function probeSegment(path: string): ProbedSegment {
  const count = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'default=nw=1:nk=1', path], { encoding: 'utf8' });
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const pts = out.split('\n').map((l) => l.trim().replace(/,$/, '')).filter(Boolean).map(Number).filter(Number.isFinite);
  const dec = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-'], { encoding: 'utf8' });
  return { frames: Number(count.trim().split('\n')[0]), firstPts: Math.min(...pts), lastPts: Math.max(...pts), decodeErrors: (dec.stderr ?? '').trim() };
}

/** Walks a journal's hash chain; returns the first problem or undefined. */
export function chainProblem(path: string): string | undefined {
  const text = readFileSync(path, 'utf8');
  if (!text.endsWith('\n')) return 'journal does not end with a newline';
  const lines = text.slice(0, -1).split('\n');
  let prev = '0'.repeat(64);
  for (let i = 0; i < lines.length; i++) {
    const r = JSON.parse(lines[i]!) as { seq: number; prev: string };
    if (r.seq !== i) return `line ${i}: seq ${r.seq}`;
    if (r.prev !== prev) return `line ${i}: prev does not match the previous line's hash`;
    prev = createHash('sha256').update(lines[i]!).digest('hex');
  }
  return undefined;
}

export const sha256File = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
