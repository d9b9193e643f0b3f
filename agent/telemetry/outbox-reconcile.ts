/**
 * Reconcile: journal records the outbox's live listener did not see (appended before the
 * telemetry extension subscribed, or just before a crash, between the journal write and the
 * outbox write) are queued at start from the journals themselves, after each journal's cursor.
 */
import { closeSync, existsSync, openSync, readdirSync } from 'node:fs';
import { LineSplitter, PIECE_BYTES, feedFile } from '../lib/lines.js';
import { join } from 'node:path';
import type { JournalRecord } from '../evidence/journal.js';
import type { Outbox, Source } from './outbox.js';

export interface ReconcileOptions {
  readonly dataDir: string;
  readonly types: ReadonlySet<string>;
  /** On a fresh outbox: only records at or after this wall-clock ms (this agent run's start). */
  readonly sinceMs: number;
}

/**
 * Hands the complete lines of a journal file after line index `cursor` (0-based; line i carries
 * seq i) to `visit`, read a piece at a time (lib/lines.ts): lines up to the cursor are counted,
 * never decoded, and the file is never in memory at once (reading an 11-hour journal whole at
 * every start cost the agent 8 MB of buffer and its split lines). A torn last line is not a line.
 * A missing or unreadable journal has none. `pieceBytes` is for tests.
 */
export function eachLineAfter(path: string, cursor: number, visit: (line: string, index: number) => void, pieceBytes = PIECE_BYTES): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    feedFile(fd, new LineSplitter((i, text) => {
      if (i > cursor) visit(text(), i);
    }), pieceBytes);
  } catch {
    /* an unreadable journal: what was read is queued; the rest stays in the journal, which the offload delivers */
  } finally {
    closeSync(fd);
  }
}

/**
 * Queues every record of the device journal and of the shift journals that lies after the
 * outbox's cursor for that journal. Shifts unknown to the outbox are scanned only when they are
 * newer than every shift it knows (shift ids begin with their UTC start), so old, long-offloaded
 * shifts are not replayed. Returns how many records were queued.
 */
export function reconcile(outbox: Outbox, o: ReconcileOptions): number {
  const candidates: Array<{ source: Source; path: string }> = [{ source: '', path: join(o.dataDir, 'device-journal.jsonl') }];
  const shiftsDir = join(o.dataDir, 'shifts');
  const known = outbox.sources().filter((s) => s !== '').sort();
  const newest = known.at(-1) ?? '';
  const present = new Set(existsSync(shiftsDir) ? readdirSync(shiftsDir) : []);
  for (const id of [...present].sort()) {
    if (outbox.cursor(id) >= 0 || outbox.fresh || id > newest) candidates.push({ source: id, path: join(shiftsDir, id, 'journal.jsonl') });
  }
  // Keep the newest known shift: it is what tells new shifts from old ones above.
  for (const id of known) if (!present.has(id) && id !== newest) outbox.forget(id);
  const found: Array<{ source: Source; rec: JournalRecord; line: string }> = [];
  for (const c of candidates) {
    // Line i carries seq i (journal format): only lines after the cursor need decoding and parsing.
    eachLineAfter(c.path, outbox.cursor(c.source), (line) => {
      let rec: JournalRecord;
      try {
        rec = JSON.parse(line) as JournalRecord;
      } catch {
        return;
      }
      if (typeof rec.seq !== 'number' || typeof rec.type !== 'string' || !o.types.has(rec.type)) return;
      if (outbox.fresh && !(Date.parse(rec.at) >= o.sinceMs)) return;
      found.push({ source: c.source, rec, line });
    });
  }
  // Interleave journals by time so central sees a plausible order across them.
  found.sort((a, b) => (a.rec.at < b.rec.at ? -1 : a.rec.at > b.rec.at ? 1 : 0));
  for (const f of found) outbox.add(f.source, f.rec, f.line);
  return found.length;
}
