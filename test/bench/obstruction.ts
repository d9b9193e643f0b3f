/**
 * Obstruction detection benchmarks on the sim board (640x360 30 fps, veryfast) with real ffmpeg:
 * - CPU of agent + its ffmpeg with detection on vs off: two agents recording side by side, the
 *   same encode, one with `obstructionDetect: 0` (target ≤ 1.03×);
 * - the cost of the analysis alone, and of the alternative considered (ffmpeg's blackdetect +
 *   freezedetect + silencedetect on the full picture): bare, paced ffmpegs over the same sources
 *   (the README's choice rests on these);
 * - detection latency: sim lens covered → the `obstruction` start record in the journal (the
 *   policy's 5 s onset debounce included), and → the first dark sample (the analysis path);
 * - interval bounds (issue 25): the sim lens covered for 15 s; the journaled `start`/`end` against
 *   the moments the sim was told (docs/evidence-format.md states what these show).
 *   Alone: `node dist/test/bench/obstruction.js bounds`.
 */
import { spawn } from 'node:child_process';
import type { BenchRow, BenchSuite } from './types.js';
import { startAgent, shiftJournal, cleanup, type AgentProc } from '../helpers/agent.js';
import { buildAnalysisArgs } from '../../hal/encoder/args.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';
import { cpuS, median, sized } from './measure.js';
import { SIM_ANALYSIS_SOURCES } from './obstruction-scenes.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function recording(detect: 0 | 1): Promise<{ a: AgentProc; ff: number }> {
  const a = await startAgent({ config: { policy: { obstructionDetect: detect } }, env: { BODYCAM_LOG: 'warn' } });
  await a.press('shift', { holdS: 2.1 });
  const s = await a.waitFor((x) => x.segments >= sized(2, 1) && (x.ext.encoder?.pid as number | null) != null, 30_000, 'recording');
  return { a, ff: s.ext.encoder!.pid as number };
}

async function cpuOnOff(rows: BenchRow[]): Promise<void> {
  const on = await recording(1);
  const off = await recording(0);
  try {
    await sleep(sized(3000, 500));
    const window = sized(40, 2);
    const c0 = [cpuS(on.a.pid) + cpuS(on.ff), cpuS(off.a.pid) + cpuS(off.ff)];
    await sleep(window * 1000);
    const c1 = [cpuS(on.a.pid) + cpuS(on.ff), cpuS(off.a.pid) + cpuS(off.ff)];
    const onCores = (c1[0]! - c0[0]!) / window;
    const offCores = (c1[1]! - c0[1]!) / window;
    rows.push({ metric: 'CPU: agent + ffmpeg, detection on vs off, same encode side by side', value: onCores, baseline: offCores, baselineLabel: 'detection off', unit: 'cores', target: 'ratio ≤ 1.03', note: `${window} s window` });
  } finally {
    for (const r of [on, off]) {
      await r.a.stop();
      cleanup(r.a.dataDir);
    }
  }
}

/** A bare paced ffmpeg over the sim sources for `seconds`; its CPU in cores. */
async function bareCpu(argv: string[], seconds: number): Promise<number> {
  const p = spawn('ffmpeg', argv, { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
  for (const fd of [5, 6]) (p.stdio[fd] as NodeJS.ReadableStream | null)?.on('data', () => undefined);
  const done = new Promise<void>((r) => p.on('close', () => r()));
  await sleep(2000);
  const c0 = cpuS(p.pid!);
  await sleep((seconds - 4) * 1000);
  const c1 = cpuS(p.pid!);
  await done;
  return (c1 - c0) / (seconds - 4);
}

async function analysisCost(rows: BenchRow[]): Promise<void> {
  const sources = SIM_ANALYSIS_SOURCES;
  // bareCpu measures from 2 s in to 2 s before the end.
  const S = sized(24, 6);
  const ours = buildAnalysisArgs(sources, { paced: true, durationS: S });
  const inputs = ours.slice(0, ours.indexOf('-filter_complex'));
  const detectFilters = [...inputs, '-filter_complex', '[0:v]blackdetect=d=5,freezedetect=d=5[v];[1:a]silencedetect=d=5[a]', '-map', '[v]', '-map', '[a]', '-f', 'null', '-'];
  const split = await bareCpu(ours, S);
  const detect = await bareCpu(detectFilters, S);
  rows.push({
    metric: 'analysis alone, sources included: split to 64x36 gray 2 fps + 4 kHz audio on pipes vs blackdetect + freezedetect + silencedetect on the full picture',
    value: split, baseline: detect, baselineLabel: "ffmpeg's detect filters", unit: 'cores', note: `${S} s paced, 640x360 30 fps`,
  });
}

async function latency(rows: BenchRow[]): Promise<void> {
  const { a } = await recording(1);
  const toRecord: number[] = [];
  const toSample: number[] = [];
  try {
    for (let i = 0; i < sized(3, 1); i++) {
      const n = i + 1;
      const at = Date.now();
      await a.sim({ picture: 'black' });
      await a.waitFor((s) => Number(s.ext.obstruction?.intervals ?? 0) === i && 'obstruction_covered' in s.faults, 30_000, 'covered');
      const st = await a.status();
      const rec = shiftJournal(a.dataDir, st.shiftId!).filter((r) => r.type === 'obstruction' && r.phase === 'start')[i]!;
      toRecord.push((Date.parse(String(rec.at)) - at) / 1000);
      toSample.push((Date.parse(String(rec.start)) - at) / 1000);
      await a.sim({ picture: 'live' });
      await a.waitFor((s) => Number(s.ext.obstruction?.intervals ?? 0) === n, 30_000, 'cleared');
    }
  } finally {
    await a.stop();
    cleanup(a.dataDir);
  }
  rows.push({ metric: `detection latency: lens covered → journal record (median of ${toRecord.length}, ${DEFAULT_POLICY.obstructionOnsetS} s onset debounce included)`, value: median(toRecord), unit: 's', target: 'event at central ≤ 10 s', note: `all: ${toRecord.map((x) => x.toFixed(2)).join(', ')} s` });
  rows.push({ metric: `analysis path: lens covered → first dark sample (median of ${toSample.length})`, value: median(toSample), unit: 's', note: `all: ${toSample.map((x) => x.toFixed(2)).join(', ')} s` });
}

/** Covers the sim lens for `coverS`, `n` times; the journaled bounds against the commanded ones. */
export async function bounds(rows: BenchRow[], n = 3, coverS = 15): Promise<void> {
  const { a } = await recording(1);
  const startLag: number[] = [];
  const endLag: number[] = [];
  const dur: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      await sleep(sized(3000, 1000));
      const t0 = Date.now();
      await a.sim({ picture: 'black' });
      await sleep(coverS * 1000 - (Date.now() - t0));
      const t1 = Date.now();
      await a.sim({ picture: 'live' });
      await a.waitFor((s) => Number(s.ext.obstruction?.intervals ?? 0) === i + 1, 30_000, 'cleared');
      const st = await a.status();
      const rec = shiftJournal(a.dataDir, st.shiftId!).filter((r) => r.type === 'obstruction' && r.phase === 'end')[i]!;
      startLag.push((Date.parse(String(rec.start)) - t0) / 1000);
      endLag.push((Date.parse(String(rec.end)) - t1) / 1000);
      dur.push(Number(rec.duration_s));
    }
  } finally {
    await a.stop();
    cleanup(a.dataDir);
  }
  const all = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(', ');
  rows.push({ metric: `bounds: sim lens covered → journaled start (median of ${n})`, value: median(startLag), unit: 's', note: `all: ${all(startLag)} s` });
  rows.push({ metric: `bounds: sim lens uncovered → journaled end (median of ${n})`, value: median(endLag), unit: 's', note: `all: ${all(endLag)} s` });
  rows.push({ metric: `bounds: journaled duration of ${coverS} s covered (median of ${n})`, value: median(dur), unit: 's', note: `all: ${all(dur)} s` });
}

export async function obstructionSuite(): Promise<BenchSuite> {
  return {
    name: 'obstruction',
    async run() {
      const rows: BenchRow[] = [];
      await cpuOnOff(rows);
      await analysisCost(rows);
      await latency(rows);
      // Smoke: one 8-s cover (past the 5-s onset debounce), not three of 15 s.
      await bounds(rows, sized(3, 1), sized(15, 8));
      return rows;
    },
  };
}

if (process.argv[1]?.endsWith('obstruction.js') && process.argv[2] === 'bounds') {
  const rows: BenchRow[] = [];
  void bounds(rows).then(() => {
    for (const r of rows) console.log(`${r.metric}: ${r.value.toFixed(2)} ${r.unit} (${r.note ?? ''})`);
  });
}
