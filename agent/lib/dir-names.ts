/**
 * The names in a directory handed over one at a time instead of as one array. A shift dir holds a
 * file per 2-s segment (19,800 at hour 11): listing it whole at a restart, then matching every
 * name at once, kept ~5 MB of names and match arrays alive until V8's next full collection, and
 * the heap it grew to stayed in the agent's RSS (bench `long`, "agent RSS after that restart").
 * Order is the filesystem's, as readdir's; a missing or unreadable dir throws as readdir does.
 */
import { opendirSync } from 'node:fs';
import { opendir } from 'node:fs/promises';

/** Entries fetched from the kernel per read (Node's default is 32). */
const BATCH = 256;

export function eachNameSync(dir: string, visit: (name: string) => void): void {
  const d = opendirSync(dir, { bufferSize: BATCH });
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) visit(e.name);
  } finally {
    d.closeSync();
  }
}

/** eachNameSync off the event loop (the reads run on libuv's pool, BATCH entries at a time). */
export async function eachName(dir: string, visit: (name: string) => void): Promise<void> {
  // `for await` closes the dir when the loop ends or throws.
  for await (const e of await opendir(dir, { bufferSize: BATCH })) visit(e.name);
}
