/**
 * The unconfirmed-evidence alert (fault `unconfirmed_backlog`): closed shifts or custody periods
 * that central has not confirmed are never deleted (retention.ts), so when confirmations stop the
 * camera's disk fills with them. Recording goes on under the storage guard's rules either way;
 * this fault is what tells central — as a fault event and in every heartbeat, which the console
 * turns into an alert — before and while that happens:
 *
 *   custody mode, the oldest unconfirmed closed period closed more than `2 × periodS` ago
 *       → confirmations have stopped (a period normally leaves and is confirmed within the next
 *         one). A body camera's closed shift waiting for its dock is normal and raises nothing.
 *   any mode, the storage guard reports the disk low or full (`storage_low`, `storage_full`)
 *       while closed evidence is still unconfirmed → the disk is filling with it.
 *
 * The fault is cleared when neither holds (central confirmed, retention deleted, space returned).
 * Its detail changes only when the count or the condition does, so it is not re-announced every
 * check.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueEntry } from './types.js';

export const BACKLOG_FAULT = 'unconfirmed_backlog';

const MiB = 1024 * 1024;

export interface BacklogInput {
  /** The offload queue: closed shifts not yet deleted after a confirmation. */
  readonly entries: Iterable<Pick<QueueEntry, 'shiftId' | 'state' | 'bytes'>>;
  /** When a closed shift closed (ms): its journal's last write. Undefined: unknown (not counted as stalled). */
  readonly closedAtMs: (shiftId: string) => number | undefined;
  readonly custody: boolean;
  readonly periodS: number;
  /** The storage guard says the disk is low or full (its faults). */
  readonly storageLow: boolean;
  readonly nowMs: number;
}

/** The fault's detail, or null when nothing needs saying. Pure: the rules above. */
export function backlogDetail(i: BacklogInput): string | null {
  const waiting = [...i.entries].filter((e) => e.state !== 'confirmed').sort((a, b) => (a.shiftId < b.shiftId ? -1 : 1));
  if (waiting.length === 0) return null;
  const oldest = waiting[0]!;
  const closedAt = i.closedAtMs(oldest.shiftId);
  const stalled = i.custody && closedAt !== undefined && i.nowMs - closedAt > 2 * i.periodS * 1000;
  if (!stalled && !i.storageLow) return null;
  const what = i.custody ? 'period' : 'shift';
  const bytes = waiting.reduce((a, e) => a + e.bytes, 0);
  const since = closedAt !== undefined ? ` closed ${new Date(closedAt).toISOString()}` : '';
  const why = i.storageLow
    ? 'the disk is filling: nothing unconfirmed is deleted; recording goes on under the storage guard'
    : `no confirmation for more than ${2 * i.periodS} s (2 periods)`;
  return `${waiting.length} closed ${what}${waiting.length === 1 ? '' : 's'} (${Math.round(bytes / MiB)} MiB) not confirmed by central, oldest ${oldest.shiftId}${since}; ${why}`;
}

/** A closed shift's close time: the mtime of its journal (sealed at shift_end and its signature). */
export function journalClosedAt(shiftDir: string): number | undefined {
  try {
    return statSync(join(shiftDir, 'journal.jsonl')).mtimeMs;
  } catch {
    return undefined;
  }
}
