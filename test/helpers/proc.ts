/**
 * Processes seen through /proc, for tests that must find what the agent started (encoders,
 * upload workers) — including after the agent died and they were re-parented.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Live children of `ppid`, with their command lines (arguments joined by spaces). */
export function childrenOf(ppid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) comes after the parenthesised comm, which may itself hold spaces.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== ppid) continue;
      out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ') });
    } catch {
      /* the process ended while we looked */
    }
  }
  return out;
}
