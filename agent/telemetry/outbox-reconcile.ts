/**
 * Reconcile: journal records the outbox's live listener did not see (appended before the
 * telemetry extension subscribed, or just before a crash, between the journal write and the
 * outbox write) are queued at start from the journals themselves, after each journal's cursor.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalRecord } from '../evidence/journal.js';
import type { Outbox, Source } from './outbox.js';

export interface ReconcileOptions {
  readonly dataDir: string;
  readonly types: ReadonlySet<string>;
  /** On a fresh outbox: only records at or after this wall-clock ms (this agent run's start). */
  readonly sinceMs: number;
}

function readJournalLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n');
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
    const cur = outbox.cursor(c.source);
    const lines = readJournalLines(c.path);
    // Line i carries seq i (journal format): only lines after the cursor need parsing.
    for (let i = cur + 1; i < lines.length; i++) {
      let rec: JournalRecord;
      try {
        rec = JSON.parse(lines[i]!) as JournalRecord;
      } catch {
        continue;
      }
      if (typeof rec.seq !== 'number' || typeof rec.type !== 'string' || !o.types.has(rec.type)) continue;
      if (outbox.fresh && !(Date.parse(rec.at) >= o.sinceMs)) continue;
      found.push({ source: c.source, rec, line: lines[i]! });
    }
  }
  // Interleave journals by time so central sees a plausible order across them.
  found.sort((a, b) => (a.rec.at < b.rec.at ? -1 : a.rec.at > b.rec.at ? 1 : 0));
  for (const f of found) outbox.add(f.source, f.rec, f.line);
  return found.length;
}
