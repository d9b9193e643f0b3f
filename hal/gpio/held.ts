/**
 * Knowing when a libgpiod tool actually holds its lines. gpioset and gpiomon print nothing when
 * they have requested their lines, and under load a child can take hundreds of ms from spawn to
 * request; an output "set" before that is not on the pin, an edge before that is lost. A line
 * request is an anonymous-inode fd (`gpio-linehandle`/`gpio-event` in uAPI v1, `gpio-line` in
 * v2): counting them in /proc/PID/fd is a cheap, exact readiness signal (no process spawned).
 */
import { readdirSync, readlinkSync } from 'node:fs';

export function heldLineRequests(pid: number): number {
  let n = 0;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return -1;
  }
  for (const fd of fds) {
    try {
      if (/^anon_inode:\[?gpio-(linehandle|event|line)/.test(readlinkSync(`/proc/${pid}/fd/${fd}`))) n++;
    } catch {
      /* fd closed meanwhile */
    }
  }
  return n;
}

/** Resolves true once `pid` holds `count` line requests, false if it exits or the time runs out. */
export async function waitHeld(pid: number, count: number, timeoutMs: number, gone: () => boolean): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    if (gone()) return false;
    const n = heldLineRequests(pid);
    if (n < 0) return false;
    if (n >= count) return true;
    if (performance.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}
