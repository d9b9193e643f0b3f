/**
 * What every benchmark suite measures a process with, in one place: CPU seconds and RSS from
 * /proc, and the median of repeated runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRecordingArgs } from '../../hal/encoder/args.js';

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on every Linux we target). */
export const CLK_TCK = 100;

/** CPU seconds (user + system, /proc/PID/stat fields 14 and 15) a process has used so far. */
export function cpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and ')': fields start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** CPU seconds of a process plus those of the children it has reaped (fields 16, 17): an encoder
 * the agent restarted, or its live upload workers, still count once they have exited. */
export function cpuWithReapedS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
}

/** Resident set size in MB (/proc/PID/status VmRSS). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The median (mean of the middle two for an even count; NaN for none). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * BENCH_SMOKE=1: every suite at a smoke size (seconds instead of minutes): `make test` runs each
 * suite once so a broken suite fails the tests; its figures mean nothing.
 */
export const SMOKE = process.env['BENCH_SMOKE'] === '1';
/** `full` for `make bench`, `smoke` under BENCH_SMOKE=1. */
export const sized = <T>(full: T, smoke: T): T => (SMOKE ? smoke : full);

/** The encode a recording agent runs, described for {@link spawnBareFfmpeg}. */
export interface BareEncode {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly preset: string;
  readonly videoKbps: number;
  /** Burnt into the picture like the agent's, so both encode the same pixels. */
  readonly deviceId: string;
  readonly outDir: string;
}

/**
 * The baseline every CPU ratio is taken against: ffmpeg alone doing the agent's exact encode
 * (the same builder and argv, lavfi sources, 2-s segments), its segment list and progress written
 * to files in `outDir` instead of the pipes the agent reads. Stop it with SIGINT.
 */
export function spawnBareFfmpeg(e: BareEncode): ChildProcess {
  const argv = buildRecordingArgs({
    video: { kind: 'lavfi', width: e.width, height: e.height, fps: e.fps },
    audio: { kind: 'lavfi', sampleRate: 48000, channels: 1 },
    encoder: { video: 'libx264', preset: e.preset, videoKbps: e.videoKbps, audioKbps: 64, fps: e.fps },
    burnIn: { deviceId: e.deviceId, font: '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf' },
    segmentS: 2,
    startNumber: 1,
    outDir: e.outDir,
  }).map((x) => (x === 'pipe:3' ? join(e.outDir, 'list.csv') : x === 'pipe:4' ? join(e.outDir, 'progress.txt') : x));
  return spawn('ffmpeg', argv, { stdio: 'ignore' });
}
