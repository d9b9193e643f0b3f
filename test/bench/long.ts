/**
 * Costs at the scale of a real 12-hour shift (issue 14), each beside a baseline measured in the
 * same run, on the synthetic 12-hour shift of long-shift.ts (21,600 segments, one real segment
 * hard-linked under every name; BENCH_LONG_SEG, BENCH_LONG_SEGMENTS):
 * - the shift's journal written through Journal + JournalSigner;
 * - `bodycam verify` of it beside `sha256sum` of the same files (alternating, after a warm-up);
 * - the HTML report's size and its load + render in headless Chromium;
 * - the offload manifest build (SHA-256 of every file) beside `sha256sum`;
 * - agent restart at hour 11 → RECORDING with the real agent on the sim board: a recorded shift
 *   (real agent, real ffmpeg) whose journal is rewritten to 11 hours of segments (19,800) before
 *   the agent starts again, beside the same restart at hour 0 (1 segment), alternating; agent RSS
 *   and `status` round trip (what a heartbeat is built from) at hour 11 vs hour 0.
 * BENCH_LONG_RECORD=1 adds a real recording of BENCH_LONG_RECORD_MIN (20) minutes at 1280×720@30
 * (BENCH_LONG_RECORD=only: just that): agent RSS at its start, end and max, agent CPU, segments
 * sealed per 2 s of wall time. BENCH_LONG_PARTS=verify,restart picks parts (verify: the verify, report
 * and manifest rows; restart: the restart rows).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow, BenchSuite } from './types.js';
import { REPO, startAgent, tempDataDir, cleanup, readJournal, type AgentProc } from '../helpers/agent.js';
import { derivedBoard } from '../helpers/fs-limits.js';
import { Journal, type JournalRecord } from '../../agent/evidence/journal.js';
import { JournalSigner } from '../../agent/evidence/signer.js';
import { loadIdentity } from '../../agent/identity/identity.js';
import { buildManifest } from '../../agent/offload/manifest.js';
import { cpuS, median, rssMb, sized } from './measure.js';
import { SEGMENTS, SEG_MS, SIGN_EVERY, appendShiftBody, longShift, realSegment } from './long-shift.js';

const CLI = join(REPO, 'dist/agent/cli/main.js');
const env = { BODYCAM_LOG: 'warn' };

function wallS(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed (${r.status}): ${r.stderr?.toString().slice(0, 500)}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}


async function verifyAndReport(rows: BenchRow[], root: string, segFile: string): Promise<string> {
  const s = longShift(root, segFile);
  const files = readdirSync(s.dir).filter((f) => f.endsWith('.ts')).sort().map((f) => join(s.dir, f));
  const journalBytes = statSync(join(s.dir, 'journal.jsonl')).size;
  const bytes = files.length * statSync(segFile).size;
  const gb = bytes / 1e9;
  const note = `${SEGMENTS} segments of ${(bytes / files.length / 1e3).toFixed(0)} kB, ${gb.toFixed(2)} GB, journal ${(journalBytes / 1e6).toFixed(1)} MB; page cache`;
  rows.push({ metric: `12-h journal written through Journal + JournalSigner (fdatasync per record)`, value: s.writeS, unit: 's', note: `${readJournal(join(s.dir, 'journal.jsonl')).length} records` });
  // sha256sum in chunks: one argv of 21,600 paths is fine, but keep it under ARG_MAX anyway.
  const sums = (): number => {
    let t = 0;
    for (let i = 0; i < files.length; i += 4000) t += wallS('sha256sum', files.slice(i, i + 4000));
    return t;
  };
  const html = join(root, 'report.html');
  // One inode under every name: one warm-up read puts it in the page cache for both sides.
  wallS(process.execPath, [CLI, 'verify', s.dir, '--pubkey', s.pub]);
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < sized(2, 1); i++) {
    ours.push(wallS(process.execPath, [CLI, 'verify', s.dir, '--pubkey', s.pub, '--html', html]));
    base.push(sums());
  }
  rows.push({ metric: 'bodycam verify of the 12-h shift (CLI, --html; median of 2)', value: gb * 1000 / median(ours), unit: 'MB/s', baseline: gb * 1000 / median(base), baselineLabel: 'sha256sum, same files', target: '≥ 0.9×', note });
  rows.push({ metric: 'bodycam verify of the 12-h shift, wall (median of 2)', value: median(ours), unit: 's', baseline: median(base), baselineLabel: 'sha256sum, same files' });
  const v = spawnSync(process.execPath, [CLI, 'verify', s.dir, '--pubkey', s.pub], { encoding: 'utf8' });
  if (v.status !== 0) throw new Error(`the 12-h shift does not verify intact: ${v.stdout.slice(0, 800)}`);

  // The HTML report: size and load + render in headless Chromium.
  rows.push({ metric: 'HTML report size (12-h shift)', value: statSync(html).size / 1e3, unit: 'kB' });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const render: number[] = [];
    for (let i = 0; i < sized(3, 1); i++) {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const t0 = performance.now();
      await page.goto(`file://${html}`, { waitUntil: 'load' });
      await page.screenshot({ fullPage: true });
      render.push((performance.now() - t0) / 1000);
      await page.close();
    }
    rows.push({ metric: 'HTML report load + full-page render in headless Chromium (median of 3)', value: median(render), unit: 's', target: '≤ 2 s' });
  } finally {
    await browser.close();
  }

  // The offload manifest: a SHA-256 of every file of the shift, once per shift.
  const man: number[] = [];
  for (let i = 0; i < sized(2, 1); i++) {
    const t0 = performance.now();
    await buildManifest(s.dir, 'cam-long', 'S', 'p/', Date.now());
    man.push((performance.now() - t0) / 1000);
  }
  rows.push({ metric: 'offload manifest build of the 12-h shift (in process; median of 2)', value: median(man), unit: 's', baseline: median(base), baselineLabel: 'sha256sum, same files', note });
  return s.dir;
}

/**
 * Turns a data dir whose agent was SIGKILLed while recording into the same shift `segments`
 * segments later: the journal is rewritten through the agent's Journal (its own non-segment
 * records first, times moved back so the last segment ends now), segments hard-linked.
 */
export function rewriteToHour(dataDir: string, shiftId: string, segments: number, segFile: string): void {
  const dir = join(dataDir, 'shifts', shiftId);
  const old = readJournal(join(dir, 'journal.jsonl'));
  for (const f of readdirSync(dir)) if (/^seg-\d{6}\.ts$/.test(f)) unlinkSync(join(dir, f));
  const tmp = mkdtempSync(join(dataDir, 'rewrite-'));
  const now = Date.now();
  const pauses = Math.floor((segments - 1) / 7200);
  const t0 = now - segments * SEG_MS - pauses * 600_000 - 5000;
  const clock = { t: t0 - 1000 };
  const j = new Journal(tmp, () => clock.t);
  j.open();
  const identity = loadIdentity(dataDir);
  const signer = identity ? new JournalSigner(identity, SIGN_EVERY) : undefined;
  const keep = (r: JournalRecord): boolean => r.type !== 'segment' && r.type !== 'signature' && r.type !== 'gap';
  const run = Math.max(1, ...old.filter((r) => r.type === 'segment').map((r) => Number(r.run) || 1));
  for (const r of old.filter(keep)) {
    const { seq: _s, type, at: _a, prev: _p, ...fields } = r;
    j.append(type, fields);
  }
  // The stand-in segments end with the dead agent's last run, so the restart continues it.
  appendShiftBody(j, clock, signer, dir, { t0, count: segments, run: Math.max(1, run - pauses), file: segFile });
  j.close();
  const fd = openSync(join(tmp, 'journal.jsonl'), 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(join(tmp, 'journal.jsonl'), join(dir, 'journal.jsonl'));
  rmSync(tmp, { recursive: true, force: true });
}

async function restartAtHour(rows: BenchRow[], segFile: string): Promise<void> {
  const hours = [{ name: 'hour 0', segments: 1 }, { name: 'hour 11', segments: Math.round((SEGMENTS * 11) / 12) }];
  const setups: Array<{ name: string; dataDir: string; back: number[]; rss: number[]; statusMs: number[] }> = [];
  let a: AgentProc | undefined;
  try {
    for (const h of hours) {
      const dataDir = tempDataDir('bench-long-');
      a = await startAgent({ dataDir, env });
      await a.press('shift', { holdS: 2.1 });
      const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 1, 60_000, 'recording');
      const ffPid = s.ext.encoder?.pid as number | undefined;
      await a.kill('SIGKILL');
      // The dead agent's encoder would go on writing into the shift dir while it is rewritten.
      if (ffPid) try { process.kill(ffPid, 'SIGKILL'); } catch { /* already gone */ }
      await new Promise((r) => setTimeout(r, 300));
      rewriteToHour(dataDir, s.shiftId!, h.segments, segFile);
      setups.push({ name: h.name, dataDir, back: [], rss: [], statusMs: [] });
      a = undefined;
    }
    for (let round = 0; round < sized(3, 1); round++) {
      for (const st of round % 2 ? [...setups].reverse() : setups) {
        const t0 = performance.now();
        a = await startAgent({ dataDir: st.dataDir, env });
        await a.waitFor((x) => x.state === 'RECORDING' && x.encoderRunning, 120_000, 'recording again');
        st.back.push((performance.now() - t0) / 1000);
        const s = await a.waitFor((x) => x.segments >= 1 && x.state === 'RECORDING', 60_000, 'a segment');
        await a.waitFor((x) => x.segments > s.segments, 60_000, 'another segment');
        for (let i = 0; i < sized(20, 3); i++) {
          const q0 = performance.now();
          await a.status();
          st.statusMs.push(performance.now() - q0);
        }
        st.rss.push(rssMb(a.pid));
        await a.kill('SIGKILL');
        a = undefined;
      }
    }
  } finally {
    await a?.kill('SIGKILL');
    for (const st of setups) cleanup(st.dataDir);
  }
  const [h0, h11] = setups as [typeof setups[0], typeof setups[0]];
  const note = `${hours[1]!.segments} segments journaled; real agent + ffmpeg, sim board`;
  rows.push({ metric: 'agent SIGKILL at hour 11 → RECORDING again (median of 3)', value: median(h11.back), unit: 's', baseline: median(h0.back), baselineLabel: 'same at hour 0', target: '≤ 1 s', note });
  rows.push({ metric: 'agent RSS after the restart, two segments in (median of 3)', value: median(h11.rss), unit: 'MB', baseline: median(h0.rss), baselineLabel: 'same at hour 0', target: 'no growth', note });
  rows.push({ metric: '`status` round trip over the control socket (what heartbeats are built from; median of 60)', value: median(h11.statusMs), unit: 'ms', baseline: median(h0.statusMs), baselineLabel: 'same at hour 0', note });
}

/** Opt-in: a real recording of BENCH_LONG_RECORD_MIN minutes at 1280×720@30 (libx264 veryfast). */
async function longRecording(rows: BenchRow[]): Promise<void> {
  const minutes = Number(process.env.BENCH_LONG_RECORD_MIN ?? 20);
  const root = mkdtempSync(join(tmpdir(), 'bench-long-rec-'));
  const dataDir = join(root, 'data');
  const board = derivedBoard('sim', root, { camera: { source: 'lavfi', width: 1280, height: 720, fps: 30 }, encoder: { video: 'libx264', preset: 'veryfast', bitrateKbps: 3000, audioBitrateKbps: 64, burnIn: true } });
  const a = await startAgent({ dataDir, board, env });
  try {
    await a.press('shift', { holdS: 2.1 });
    const s0 = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 2, 60_000, 'recording');
    const rss0 = rssMb(a.pid);
    const cpu0 = cpuS(a.pid);
    const t0 = performance.now();
    const samples: number[] = [];
    while (performance.now() - t0 < minutes * 60_000) {
      await new Promise((r) => setTimeout(r, 30_000));
      samples.push(rssMb(a.pid));
    }
    const s1 = await a.status();
    const wall = (performance.now() - t0) / 1000;
    const cpu = (cpuS(a.pid) - cpu0) / wall;
    const note = `${minutes} min at 1280×720@30 3 Mbit/s; ${s1.segments - s0.segments} segments sealed in ${wall.toFixed(0)} s`;
    rows.push({ metric: `real recording: agent RSS at the end vs two segments in`, value: rssMb(a.pid), unit: 'MB', baseline: rss0, baselineLabel: 'two segments in', note });
    rows.push({ metric: 'real recording: agent RSS max over the recording', value: Math.max(...samples), unit: 'MB', note });
    rows.push({ metric: 'real recording: agent CPU', value: cpu, unit: 'cores', note });
    rows.push({ metric: 'real recording: segments sealed per 2 s of wall time', value: (s1.segments - s0.segments) / (wall / 2), unit: '', baseline: 1, baselineLabel: 'one per segment', note });
  } finally {
    await a.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
}

export function longSuite(): BenchSuite {
  return {
    name: 'long',
    async run(): Promise<BenchRow[]> {
      const rows: BenchRow[] = [];
      const root = mkdtempSync(join(tmpdir(), 'bodycam-bench-long-'));
      try {
        const rec = process.env.BENCH_LONG_RECORD;
        // BENCH_LONG_PARTS=verify,restart runs a subset (the restart rows alone take a minute).
        const parts = process.env.BENCH_LONG_PARTS?.split(',');
        const want = (p: string): boolean => !parts || parts.includes(p);
        if (rec !== 'only') {
          const seg = realSegment(root);
          if (want('verify')) await verifyAndReport(rows, root, seg);
          if (want('restart')) await restartAtHour(rows, seg);
        }
        if (rec === '1' || rec === 'only') await longRecording(rows);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
      return rows;
    },
  };
}
