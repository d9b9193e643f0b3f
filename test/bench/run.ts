/**
 * `make bench`: runs every suite in test/bench/suites.ts and prints one table — each figure beside
 * its baseline (bare ffmpeg, sha256sum, single-stream upload…) and the ratio. Targets from the
 * issues are printed for the reader, never asserted: a benchmark informs, a test decides.
 * BENCH_ONLY=name1,name2 runs a subset; BENCH_SMOKE=1 runs every suite at a smoke size (seconds: what
 * `make test` does, in test/central/bench-smoke.test.ts, so a broken suite fails the tests).
 */
import { SUITES } from './suites.js';
import type { BenchRow } from './types.js';
import { SMOKE } from './measure.js';

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 1 ? n.toFixed(2) : n.toFixed(3);
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
  const unknown = (only ?? []).filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length) throw new Error(`BENCH_ONLY names no suite: ${unknown.join(', ')} (suites: ${SUITES.map((s) => s.name).join(', ')})`);
  if (SMOKE) console.log('>> BENCH_SMOKE=1: smoke sizes, the figures mean nothing');
  const results: Array<{ suite: string; rows: BenchRow[]; error?: string }> = [];
  for (const { name, load } of SUITES) {
    if (only && !only.includes(name)) continue;
    try {
      const suite = await load();
      console.log(`>> bench ${name} …`);
      const t0 = Date.now();
      const rows = await suite.run();
      console.log(`   ${name}: ${rows.length} figures in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      // A part of a suite that failed is a row saying so (the others' figures are kept): the run
      // still fails, so a broken part cannot pass unnoticed.
      const failed = rows.filter((r) => /FAILED/.test(r.metric));
      results.push({ suite: name, rows, ...(failed.length ? { error: failed.map((r) => `${r.metric} ${r.note ?? ''}`).join('\n') } : {}) });
    } catch (e) {
      results.push({ suite: name, rows: [], error: e instanceof Error ? e.stack ?? e.message : String(e) });
    }
  }
  const header = ['suite', 'metric', 'value', 'baseline', 'ratio', 'target'];
  const table: string[][] = [];
  for (const r of results) {
    if (r.error) table.push([r.suite, `FAILED: ${r.error.split('\n')[0]}`, '', '', '', '']);
    for (const row of r.rows) {
      table.push([
        r.suite,
        row.metric + (row.note ? ` (${row.note})` : ''),
        `${fmt(row.value)} ${row.unit}`,
        row.baseline !== undefined ? `${fmt(row.baseline)} ${row.unit}${row.baselineLabel ? ` [${row.baselineLabel}]` : ''}` : '',
        row.baseline ? `${fmt(row.value / row.baseline)}×` : '',
        row.target ?? '',
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log('\n' + line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of table) console.log(line(r));
  for (const r of results) if (r.error) console.error(`\n${r.suite} failed:\n${r.error}`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

await main();
