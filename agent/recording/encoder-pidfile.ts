/**
 * `<data-dir>/encoder.pid`: the running encoder's pid and start time. An encoder left behind by
 * a killed agent (on a system without `setpriv --pdeathsig`) would go on writing into the shift;
 * the next agent — which holds the data dir's instance lock, so it is the only one — ends it
 * before anything else. The start time guards against pid reuse.
 */
import { readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../lib/log.js';

/**
 * Start time of a live process in clock ticks since boot (field 22 of /proc/PID/stat); undefined
 * when it is gone — or a zombie: a killed encoder whose parent died waits for init to reap it,
 * which in a container may take long, and it writes nothing more (the restart waited 3 s for it).
 */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

export class EncoderPidfile {
  readonly path: string;
  constructor(dataDir: string, private readonly log: Logger) {
    this.path = join(dataDir, 'encoder.pid');
  }

  write(pid: number): void {
    try {
      writeFileSync(this.path, JSON.stringify({ pid, start: procStartTime(pid) }));
    } catch (e) {
      this.log.warn('cannot write encoder pidfile', { err: e });
    }
  }

  remove(): void {
    try {
      unlinkSync(this.path);
    } catch {
      /* absent */
    }
  }

  /** Kills the encoder a previous agent left running, if the pidfile names a live one. */
  killStale(): void {
    let rec: { pid?: number; start?: string };
    try {
      rec = JSON.parse(readFileSync(this.path, 'utf8')) as { pid?: number; start?: string };
    } catch {
      return;
    }
    if (typeof rec.pid === 'number' && rec.start && procStartTime(rec.pid) === rec.start) {
      this.log.warn('killing encoder left by a previous agent', { pid: rec.pid });
      try {
        process.kill(rec.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
      const until = Date.now() + 3000;
      while (procStartTime(rec.pid) === rec.start && Date.now() < until) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    this.remove();
  }
}
