/**
 * `make bench`: runs every suite in test/bench/suites.ts and prints one table — each figure beside
 * its baseline (bare ffmpeg, sha256sum, single-stream upload…) and the ratio. Targets from the
 * issues are printed for the reader, never asserted: a benchmark informs, a test decides.
 * BENCH_ONLY=name1,name2 runs a subset.
 */
import { SUITES, type BenchRow } from './suites.js';

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 1 ? n.toFixed(2) : n.toFixed(3);
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
  const results: Array<{ suite: string; rows: BenchRow[]; error?: string }> = [];
  for (const load of SUITES) {
    let name = '?';
    try {
      const suite = await load();
      name = suite.name;
      if (only && !only.includes(name)) continue;
      console.log(`>> bench ${name} …`);
      const t0 = Date.now();
      const rows = await suite.run();
      console.log(`   ${name}: ${rows.length} figures in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      results.push({ suite: name, rows });
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
