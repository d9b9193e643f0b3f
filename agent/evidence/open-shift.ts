/**
 * Which shift is open, told by the journals alone — for when `state.json` is missing or corrupt.
 *
 * A shift is open only if its journal has no `shift_end` record at all. Looking at the *last*
 * record is not enough: a closed shift's journal ends with the `signature` written after its
 * `shift_end`, and a closed journal may already be uploaded and confirmed — reopening it would
 * append to sealed evidence. Only the tail is read: nothing but signatures follows a shift_end.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE } from './journal.js';
import { readFirstLine } from '../lib/lines.js';

const TAIL_BYTES = 256 * 1024;
/** formatLine writes `seq`, then `type`: a shift_end line always holds this exact text. */
const SHIFT_END = Buffer.from('"type":"shift_end"');

export function journalHasShiftEnd(journalPath: string): boolean {
  const fd = openSync(journalPath, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    let off = 0;
    while (off < len) {
      const n = readSync(fd, buf, off, len - off, size - len + off);
      if (n === 0) break;
      off += n;
    }
    return buf.includes(SHIFT_END);
  } finally {
    closeSync(fd);
  }
}

/** The newest shift whose journal has no shift_end, if any. */
export function findOpenShiftId(dataDir: string): string | undefined {
  const root = join(dataDir, 'shifts');
  if (!existsSync(root)) return undefined;
  for (const id of readdirSync(root).sort().reverse()) {
    const p = join(root, id, JOURNAL_FILE);
    if (!existsSync(p)) continue;
    if (!journalHasShiftEnd(p)) return id;
  }
  return undefined;
}

/**
 * Custody: the open period that continues `closedId` by rotation (its `shift_start.continues`),
 * if any — for a state file saved just before a rotation, which names the period the rotation
 * closed (docs/custody-periods.md).
 */
export function findRotatedSuccessor(dataDir: string, closedId: string): string | undefined {
  const id = findOpenShiftId(dataDir);
  if (!id || id === closedId) return undefined;
  try {
    const first = readFirstLine(join(dataDir, 'shifts', id, JOURNAL_FILE));
    const c = (JSON.parse(first ?? '{}') as { continues?: { shift_id?: unknown; cause?: unknown } }).continues;
    return c?.cause === 'period_rotation' && c.shift_id === closedId ? id : undefined;
  } catch {
    return undefined;
  }
}
