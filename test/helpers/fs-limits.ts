/**
 * Real size-limited filesystems for the faults stage: a tmpfs of a few MiB mounted for one test
 * (we run as root, as CI does), and a filler file that leaves exactly as much free space as a
 * round asks for. tmpfs allocates pages for written bytes, so a filler is real pressure.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './agent.js';

export interface Mounted {
  readonly dir: string;
  umount(): void;
}

export function mountTmpfs(sizeMiB: number, prefix = 'bodycam-fs-'): Mounted {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
  return {
    dir,
    umount() {
      try {
        execFileSync('umount', ['-l', dir]);
      } catch {
        /* already unmounted */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/**
 * Writes `path` until the filesystem has about `leaveBytes` free (never less than 0: the last
 * write stops at ENOSPC). Returns the filler's size.
 */
export function fillLeaving(dir: string, path: string, leaveBytes: number): number {
  const fd = openSync(path, 'a', 0o600);
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  let written = 0;
  try {
    for (;;) {
      const want = freeBytes(dir) - leaveBytes;
      if (want <= 0) break;
      try {
        written += writeSync(fd, chunk, 0, Math.min(chunk.length, want));
      } catch {
        break; // ENOSPC: as full as it gets
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** A board config derived from `board-configs/<base>.json` with top-level sections overridden. */
export function derivedBoard(base: string, dir: string, override: Record<string, unknown>): string {
  const b = JSON.parse(readFileSync(join(REPO, 'board-configs', `${base}.json`), 'utf8')) as Record<string, unknown>;
  delete b.$schema;
  const path = join(dir, `${base}-derived-board.json`);
  writeFileSync(path, JSON.stringify({ ...b, ...override, name: `${base}-derived` }, null, 2));
  return path;
}
