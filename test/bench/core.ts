/**
 * Recording core benchmarks on the sim board with real ffmpeg:
 * start/resume latency (gesture recognised → first frame), frames lost at segment boundaries,
 * encoder-crash gap, agent CPU and RSS while recording, and CPU of (agent + its ffmpeg) beside a
 * bare ffmpeg doing the same encode at the same time.
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow, BenchSuite } from './suites.js';
import { startAgent, shiftJournal, cleanup } from '../helpers/agent.js';
import { buildRecordingArgs } from '../../hal/encoder/args.js';
import { resolveBoard } from '../../agent/config/board.js';
import { probeTs } from '../../agent/evidence/ts-probe.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const CLK_TCK = 100;

/** CPU seconds (user + system) a process has used so far. */
function cpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function latencies(rows: BenchRow[]): Promise<void> {
  const a = await startAgent({ config: { policy: { shiftStartHoldS: 0.5, shiftEndHoldS: 1, shiftEndConfirmS: 3 } }, env: { BODYCAM_LOG: 'warn' } });
  try {
    for (let i = 0; i < 5; i++) {
      await a.press('shift', { holdS: 0.6 });
      await a.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning && s.fps > 0, 20_000, 'recording');
      await sleep(1500);
      await a.press('privacy');
      await a.waitFor((s) => s.state === 'PAUSED' && !s.encoderRunning, 10_000, 'paused');
      await a.press('privacy');
      await a.waitFor((s) => s.state === 'RECORDING' && s.fps > 0, 10_000, 'resumed');
      await sleep(1000);
      await a.press('shift', { holdS: 1.1 });
      await a.press('shift');
      await a.waitFor((s) => s.state === 'OFF_DUTY', 20_000, 'ended');
    }
    const st = await a.status();
    const lat = st.ext.latency as { startMs: number[]; resumeMs: number[] };
    rows.push({ metric: 'shift start latency, gesture → first frame (median of 5)', value: median(lat.startMs) / 1000, unit: 's', target: '≤ 0.5 s', note: `all: ${lat.startMs.join(', ')} ms` });
    rows.push({ metric: 'resume latency, gesture → first frame (median of 5)', value: median(lat.resumeMs) / 1000, unit: 's', target: '≤ 0.5 s', note: `all: ${lat.resumeMs.join(', ')} ms` });
  } finally {
    await a.stop();
    cleanup(a.dataDir);
  }
}

async function longRun(rows: BenchRow[]): Promise<void> {
  const board = resolveBoard('sim').board;
  const a = await startAgent({ env: { BODYCAM_LOG: 'warn' } });
  const bareDir = mkdtempSync(join(tmpdir(), 'bodycam-bare-'));
  try {
    await a.press('shift', { holdS: 2.1 });
    const s0 = await a.waitFor((s) => s.segments >= 2 && (s.ext.encoder?.pid as number | null) != null, 30_000, 'recording');
    const ffPid = s0.ext.encoder!.pid as number;
    // The same encode, bare: identical argv, list and progress into files instead of our pipes.
    const argv = buildRecordingArgs({
      video: { kind: 'lavfi', width: board.camera.width, height: board.camera.height, fps: board.camera.fps },
      audio: { kind: 'lavfi', sampleRate: 48000, channels: 1 },
      encoder: { video: 'libx264', preset: board.encoder.preset ?? 'veryfast', videoKbps: board.encoder.bitrateKbps ?? 2000, audioKbps: 64, fps: board.camera.fps },
      burnIn: { deviceId: s0.deviceId, font: '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf' },
      segmentS: 2,
      startNumber: 1,
      outDir: bareDir,
    }).map((x) => (x === 'pipe:3' ? join(bareDir, 'list.csv') : x === 'pipe:4' ? join(bareDir, 'progress.txt') : x));
    const bare = spawn('ffmpeg', argv, { stdio: 'ignore' });
    await sleep(3000);
    const window = 40;
    const c0 = { agent: cpuS(a.pid), ff: cpuS(ffPid), bare: cpuS(bare.pid!) };
    const rss: number[] = [];
    for (let i = 0; i < window; i++) {
      await sleep(1000);
      rss.push(rssMb(a.pid));
    }
    const c1 = { agent: cpuS(a.pid), ff: cpuS(ffPid), bare: cpuS(bare.pid!) };
    bare.kill('SIGINT');
    const agentCpu = (c1.agent - c0.agent) / window;
    const ffCpu = (c1.ff - c0.ff) / window;
    const bareCpu = (c1.bare - c0.bare) / window;
    rows.push({ metric: 'agent CPU while recording (cores)', value: agentCpu, unit: 'cores', note: `${window} s window` });
    rows.push({ metric: 'agent RSS while recording (max)', value: Math.max(...rss), unit: 'MB', target: '≤ 80 MB' });
    rows.push({ metric: 'CPU: agent + its ffmpeg vs bare ffmpeg, same encode, side by side', value: agentCpu + ffCpu, baseline: bareCpu, baselineLabel: 'bare ffmpeg', unit: 'cores', target: 'ratio ≤ 1.05' });

    // Frames lost at boundaries: a boundary loses frames when the next segment's first video PTS
    // is more than one frame after the previous segment's last (read from the files themselves).
    await sleep(20_000);
    await a.press('shift', { holdS: 3.1 });
    await a.press('shift');
    await a.waitFor((s) => s.state === 'OFF_DUTY', 20_000, 'end');
    const dir = join(a.dataDir, 'shifts', s0.shiftId!);
    const segs = shiftJournal(a.dataDir, s0.shiftId!).filter((r) => r.type === 'segment' && Number(r.run) === 1);
    const fps = board.camera.fps;
    let lost = 0;
    let frames = 0;
    let prevLast: number | undefined;
    for (const r of segs) {
      const p = probeTs(readFileSync(join(dir, String(r.file))));
      frames += p.videoFrames;
      if (prevLast !== undefined && p.firstPts !== undefined) lost += Math.max(0, Math.round((p.firstPts - prevLast) * fps) - 1);
      prevLast = p.lastPts;
    }
    rows.push({ metric: `frames lost at ${segs.length - 1} segment boundaries (PTS holes between segments)`, value: lost, unit: 'frames', target: '0', note: `${frames} frames in ${segs.length} segments` });
  } finally {
    await a.stop();
    cleanup(a.dataDir);
    cleanup(bareDir);
  }
}

async function crashGap(rows: BenchRow[]): Promise<void> {
  const a = await startAgent({ env: { BODYCAM_LOG: 'warn' } });
  try {
    await a.press('shift', { holdS: 2.1 });
    let s = await a.waitFor((x) => x.segments >= 2, 30_000, 'recording');
    for (let i = 0; i < 5; i++) {
      s = await a.waitFor((x) => x.encoderRunning && (x.ext.encoder?.pid as number | null) != null && x.segments >= s.segments + 2, 30_000, 'healthy');
      process.kill(s.ext.encoder!.pid as number, 'SIGKILL');
      await sleep(500);
    }
    await a.waitFor((x) => x.segments >= s.segments + 3, 30_000, 'recovered');
    const gaps = shiftJournal(a.dataDir, s.shiftId!).filter((r) => r.type === 'gap' && r.cause === 'encoder_crash');
    const d = gaps.map((g) => (Date.parse(String(g.end)) - Date.parse(String(g.start))) / 1000);
    rows.push({ metric: `encoder-crash gap, SIGKILL → next frame (median of ${d.length})`, value: median(d), unit: 's', target: '≤ 1.5 s', note: `all: ${d.map((x) => x.toFixed(2)).join(', ')} s` });
  } finally {
    await a.stop();
    cleanup(a.dataDir);
  }
}

export async function coreSuite(): Promise<BenchSuite> {
  return {
    name: 'core',
    async run() {
      const rows: BenchRow[] = [];
      await latencies(rows);
      await crashGap(rows);
      await longRun(rows);
      return rows;
    },
  };
}
