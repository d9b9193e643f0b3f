/**
 * What every benchmark suite measures a process with, in one place: CPU seconds and RSS from
 * /proc, and the median of repeated runs.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on every Linux we target). */
export const CLK_TCK = 100;

/** CPU seconds (user + system, /proc/PID/stat fields 14 and 15) a process has used so far. */
export function cpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and ')': fields start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
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
