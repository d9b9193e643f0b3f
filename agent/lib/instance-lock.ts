/**
 * One agent per data dir. Two agents on one data dir would share the encoder pidfile, the state
 * file and the open shift's journal: the second one killed the first one's encoder (a gap in the
 * evidence) before it even noticed the control socket was taken. So the very first thing the
 * agent does is take an exclusive `flock` on `<data-dir>/agent.lock`; a second agent is refused
 * before it touches any device, pidfile, encoder or journal.
 *
 * Node has no flock(2). The lock is taken by util-linux's (or busybox's) `flock -n 3` on a file
 * descriptor the agent opened and handed to it as fd 3: a flock belongs to the open file
 * description, which the agent keeps after the helper exits, so the kernel releases the lock only
 * when the agent's process is gone — also after a SIGKILL or a power cut (no stale lock file).
 */
import { openSync, closeSync, ftruncateSync, writeSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BodycamError, describe } from './errors.js';

export const LOCK_FILE = 'agent.lock';

/** Another agent already runs on this data dir. */
export class InstanceLockedError extends BodycamError {
  constructor(readonly lockPath: string, readonly holder: string) {
    super('STATE', `another bodycam agent already runs on this data dir (${holder}; lock ${lockPath}): refusing to start`);
  }
}
export const isInstanceLockedError = (e: unknown): e is InstanceLockedError => e instanceof InstanceLockedError;

export interface InstanceLock {
  readonly path: string;
  release(): void;
}

export function acquireInstanceLock(dataDir: string): InstanceLock {
  const path = join(dataDir, LOCK_FILE);
  let fd: number;
  try {
    fd = openSync(path, 'a+', 0o640);
  } catch (e) {
    throw new BodycamError('STORAGE', `cannot open ${path}: ${describe(e)}`, { cause: e });
  }
  const r = spawnSync('flock', ['-n', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], timeout: 10_000 });
  if (r.error) {
    closeSync(fd);
    throw new BodycamError('STATE', `cannot lock ${path}: flock(1) from util-linux or busybox is needed (${r.error.message})`);
  }
  if (r.status !== 0) {
    let holder = 'pid unknown';
    try {
      const pid = readFileSync(path, 'utf8').trim();
      if (/^\d+$/.test(pid)) holder = `pid ${pid}`;
    } catch {
      /* the holder may be writing it right now */
    }
    closeSync(fd);
    throw new InstanceLockedError(path, holder);
  }
  // Our pid, for the refusal message of the next one (informational; the lock is the flock).
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`);
  return {
    path,
    release() {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    },
  };
}
