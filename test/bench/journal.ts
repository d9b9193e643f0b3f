/**
 * Journal append latency: one record = one write() + one fdatasync, on the data dir's
 * filesystem (BENCH_DATA_DIR, default the OS temp dir), without and with a 1 MiB JournalReserve
 * in place and wired to onNoSpace. The reserve must cost nothing while space is plentiful; this
 * shows it. Also the time ensure() takes to (re)create the reserve. Prints, asserts nothing.
 * Run alone: `node dist/test/bench/journal.js`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchRow, BenchSuite } from './types.js';
import { sized } from './measure.js';
import { Journal, sha256Hex } from '../../agent/evidence/journal.js';
import { JournalReserve } from '../../agent/evidence/journal-reserve.js';

const APPENDS = sized(1000, 50);
const WARMUP = sized(50, 5);

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Milliseconds per append of a segment-sized record, sorted. */
function appendLatencies(dir: string, reserve: JournalReserve | undefined): number[] {
  const j = new Journal(dir);
  j.open();
  if (reserve) j.onNoSpace = reserve.releaseOnNoSpace;
  const out: number[] = [];
  for (let i = 0; i < WARMUP + APPENDS; i++) {
    const t0 = process.hrtime.bigint();
    j.append('segment', { file: `seg-${String(i + 1).padStart(6, '0')}.ts`, bytes: 1_000_000 + i, sha256: sha256Hex(String(i)), start: '2026-11-22T08:00:00.000Z', end: '2026-11-22T08:00:02.000Z' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= WARMUP) out.push(ms);
  }
  j.close();
  return out.sort((a, b) => a - b);
}

export async function journalSuite(): Promise<BenchSuite> {
  return {
    name: 'journal',
    run: async () => {
      const base = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'bench-journal-'));
      const rows: BenchRow[] = [];
      try {
        const plain = appendLatencies(mkdtempSync(join(base, 'plain-')), undefined);
        const reserve = new JournalReserve(base);
        const t0 = process.hrtime.bigint();
        const whole = reserve.ensure();
        const ensureMs = Number(process.hrtime.bigint() - t0) / 1e6;
        const withDir = mkdtempSync(join(base, 'with-reserve-'));
        const reserved = appendLatencies(withDir, reserve);
        const note = `${APPENDS} appends, fdatasync each, ${base}`;
        for (const p of [50, 99]) {
          rows.push({
            metric: `journal append latency p${p}, 1 MiB reserve in place`,
            value: percentile(reserved, p),
            unit: 'ms',
            baseline: percentile(plain, p),
            baselineLabel: 'no reserve',
            note,
          });
        }
        rows.push({ metric: 'JournalReserve.ensure() creating 1 MiB (zero-fill + fdatasync)', value: ensureMs, unit: 'ms', note: whole ? 'whole reserve held' : 'filesystem full: partial' });
        reserve.release();
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
      return rows;
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await (await journalSuite()).run();
  for (const r of rows) console.log(`${r.metric}: ${r.value.toFixed(3)} ${r.unit}${r.baseline !== undefined ? ` (${r.baselineLabel}: ${r.baseline.toFixed(3)} ${r.unit})` : ''}${r.note ? ` [${r.note}]` : ''}`);
}
