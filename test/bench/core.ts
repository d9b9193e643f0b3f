/**
 * Recording core benchmarks on the sim board with real ffmpeg:
 * start/resume latency (gesture recognised → first frame), frames lost at segment boundaries,
 * encoder-crash gap, agent CPU and RSS while recording, and CPU of (agent + its ffmpeg) beside a
 * bare ffmpeg doing the same encode at the same time — at the sim board's 640×360 and at
 * 1280×720@30 and 1920×1080@30 — and agent RSS with MQTT and offload configured, one extension at
 * a time.
 *
 * Latency is taken from the agent's own log: the `gesture` line (logged when the recogniser
 * fires, before the shift machine runs) to the `first frame` line (the encoder's progress reports
 * a frame). The pipeline's own figure (`status.ext.latency`) starts later, at the encoder start
 * effect; it is printed beside it as the baseline.
 */
import { existsSync, readFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow, BenchSuite } from './types.js';
import { startAgent, shiftJournal, cleanup, REPO, type AgentProc } from '../helpers/agent.js';
import { fromGesture, HIL_FIRST_FRAME, type HilFirstFrame } from '../helpers/first-frame.js';
import { derivedBoard } from '../helpers/fs-limits.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { agentConfig } from '../mqtt/fixtures.js';
import { resolveBoard } from '../../agent/config/board.js';
import { probeTs } from '../../agent/evidence/ts-probe.js';
import { cpuS, cpuWithReapedS, spawnBareFfmpeg, median, rssMb, sized, SMOKE } from './measure.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The same figure on the HIL board (qemu-hil: vivid, gpio-sim button), from the last `make hil`
 * (test/hil/main/30-agent writes it to its results): beside the sim board's, so a sim-only input
 * cannot hide a real-board number. The VM runs under TCG emulation here, many times slower than
 * a camera's SoC: it shows where a board's time goes, not a camera's figure.
 */
function hilBeside(rows: BenchRow[], sim: { start: number[]; resume: number[] }): void {
  const path = join(REPO, HIL_FIRST_FRAME);
  if (!existsSync(path)) {
    console.log(`   (no HIL figure: ${HIL_FIRST_FRAME} appears after \`make hil\`)`);
    return;
  }
  const h = JSON.parse(readFileSync(path, 'utf8')) as HilFirstFrame;
  for (const k of ['start', 'resume'] as const) {
    if (!h[k].length) continue;
    rows.push({
      metric: `${k === 'start' ? 'shift start' : 'resume'} latency on the HIL board (${h.board}, ${h.camera}, ${h.accel}), gesture recognised → first frame (median of ${h[k].length})`,
      value: median(h[k]) / 1000, unit: 's', baseline: median(sim[k]) / 1000, baselineLabel: 'sim board, this run',
      note: `make hil at ${h.at}; all: ${h[k].join(', ')} ms`,
    });
  }
}

/**
 * Gesture recognised → first frame for start and resume, five shifts each, with a run parked
 * ahead (hal/encoder/parking.ts, as shipped) beside the same agent starting every run cold
 * (`BODYCAM_ENCODER_PARK=off`), side by side. A pause and the time off duty last 2 s here: a
 * wearer's are longer, and the parked run needs ~0.3 s to be ready after the encoder stops.
 */
async function latencies(rows: BenchRow[]): Promise<void> {
  const parked = await latencyRun({});
  const cold = await latencyRun({ BODYCAM_ENCODER_PARK: 'off' });
  for (const k of ['start', 'resume'] as const) {
    const what = k === 'start' ? 'shift start' : 'resume';
    rows.push({
      metric: `${what} latency, gesture recognised → first frame, run parked ahead (median of ${parked.g[k].length})`,
      value: median(parked.g[k]) / 1000, unit: 's', baseline: median(cold.g[k]) / 1000, baselineLabel: 'every run cold (BODYCAM_ENCODER_PARK=off)',
      target: '≤ 0.2 s', note: `all: ${parked.g[k].join(', ')} ms; cold: ${cold.g[k].join(', ')} ms; from the encoder start effect: ${median(parked.effect[k])} ms`,
    });
  }
  hilBeside(rows, parked.g);
}

async function latencyRun(env: Record<string, string>): Promise<{ g: { start: number[]; resume: number[] }; effect: { start: number[]; resume: number[] } }> {
  const a = await startAgent({ config: { policy: { shiftStartHoldS: 0.5, shiftEndHoldS: 1, shiftEndConfirmS: 3 } }, env: { BODYCAM_LOG: 'info', ...env } });
  try {
    await sleep(2000);
    for (let i = 0; i < sized(5, 1); i++) {
      await a.press('shift', { holdS: 0.6 });
      await a.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning && s.fps > 0, 20_000, 'recording');
      await sleep(sized(1500, 200));
      await a.press('privacy');
      await a.waitFor((s) => s.state === 'PAUSED' && !s.encoderRunning, 10_000, 'paused');
      await sleep(2000);
      await a.press('privacy');
      await a.waitFor((s) => s.state === 'RECORDING' && s.fps > 0, 10_000, 'resumed');
      await sleep(sized(1000, 200));
      await a.press('shift', { holdS: 1.1 });
      await a.press('shift');
      await a.waitFor((s) => s.state === 'OFF_DUTY', 20_000, 'ended');
      await sleep(2000);
    }
    const lat = (await a.status()).ext.latency as { startMs: number[]; resumeMs: number[] };
    return { g: fromGesture(a.logs()), effect: { start: lat.startMs, resume: lat.resumeMs } };
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
    const s0 = await a.waitFor((s) => s.segments >= sized(2, 1) && (s.ext.encoder?.pid as number | null) != null, 30_000, 'recording');
    const ffPid = s0.ext.encoder!.pid as number;
    const bare = spawnBareFfmpeg({
      width: board.camera.width, height: board.camera.height, fps: board.camera.fps,
      preset: board.encoder.preset ?? 'veryfast', videoKbps: board.encoder.bitrateKbps ?? 2000, deviceId: s0.deviceId, outDir: bareDir,
    });
    await sleep(sized(3000, 500));
    const window = sized(40, 2);
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
    await sleep(sized(20_000, 1000));
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
    let s = await a.waitFor((x) => x.segments >= sized(2, 1), 30_000, 'recording');
    for (let i = 0; i < sized(5, 1); i++) {
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

/** (agent + its ffmpeg) beside a bare ffmpeg with the same argv, side by side, at one camera size. */
async function overheadAt(rows: BenchRow[], width: number, height: number, kbps: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'bodycam-ovh-'));
  const encoder = { video: 'libx264', preset: 'veryfast', bitrateKbps: kbps, audioBitrateKbps: 64, burnIn: true };
  const board = derivedBoard('sim', root, { camera: { source: 'lavfi', width, height, fps: 30 }, encoder });
  const a = await startAgent({ dataDir: join(root, 'data'), board, env: { BODYCAM_LOG: 'warn' } });
  const bareDir = join(root, 'bare');
  mkdirSync(bareDir);
  try {
    await a.press('shift', { holdS: 2.1 });
    const s0 = await a.waitFor((s) => s.segments >= sized(2, 1) && (s.ext.encoder?.pid as number | null) != null, 60_000, 'recording');
    const ffPid = s0.ext.encoder!.pid as number;
    const bare = spawnBareFfmpeg({ width, height, fps: 30, preset: 'veryfast', videoKbps: kbps, deviceId: s0.deviceId, outDir: bareDir });
    await sleep(sized(3000, 500));
    const window = sized(40, 2);
    // Agent + its reaped children + the live encoder: an encoder the agent restarts (a stall on a
    // loaded machine) is still counted, in the agent's cutime once reaped.
    const encPid = async (): Promise<number> => ((await a.status()).ext.encoder?.pid as number | undefined) ?? ffPid;
    const ours0 = cpuWithReapedS(a.pid) + cpuS(await encPid());
    const agent0 = cpuS(a.pid);
    const bare0 = cpuS(bare.pid!);
    await sleep(window * 1000);
    const ours1 = cpuWithReapedS(a.pid) + cpuS(await encPid());
    const agent1 = cpuS(a.pid);
    const bare1 = cpuS(bare.pid!);
    const restarts = (await a.status()).ext.encoder?.pid !== ffPid;
    bare.kill('SIGINT');
    rows.push({
      metric: `CPU: agent + its ffmpeg vs bare ffmpeg, same encode, side by side, ${width}×${height}@30 veryfast ${kbps} kbps`, value: (ours1 - ours0) / window, unit: 'cores',
      baseline: (bare1 - bare0) / window, baselineLabel: 'bare ffmpeg', target: '≤ 1.02×',
      note: `${window} s window; agent alone ${((agent1 - agent0) / window).toFixed(4)} cores${restarts ? '; the agent restarted its encoder meanwhile' : ''}`,
    });
  } finally {
    await a.stop();
    cleanup(root);
  }
}

const DEFAULT_FLAGS = 'MQTT + offload, Node default V8 flags';

/**
 * Agent RSS while recording (max over 20 s, two segments in) with no extension configured, with
 * MQTT (a real mosquitto), with offload (a store that is never reached: the sim camera is not
 * docked, so no upload runs), and with both — all on AGENT_NODE_FLAGS, as the unit runs it — and
 * MQTT + offload once more on Node's default flags, the baseline of what the flags save.
 */
async function rssWithExtensions(rows: BenchRow[]): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'bodycam-rss-ext-'));
  const broker = await startMosquitto(join(root, 'mosquitto'));
  await broker.start();
  const creds = join(root, 'creds.json');
  writeFileSync(creds, JSON.stringify({ accessKeyId: 'bench', secretAccessKey: 'bench-secret-key' }));
  const offload = { endpoint: 'http://127.0.0.1:9', region: 'default', bucket: 'evidence', credentialsFile: creds };
  // The last variant is the same agent on Node's default V8 flags: what AGENT_NODE_FLAGS saves.
  const variants: Array<[string, (dev: string) => Record<string, unknown>, (readonly string[])?]> = [
    ['no extension configured', (dev) => ({ deviceId: dev })],
    ['MQTT', (dev) => agentConfig(broker, dev)],
    ['offload', (dev) => ({ deviceId: dev, offload })],
    ['MQTT + offload', (dev) => ({ ...agentConfig(broker, dev), offload })],
    [DEFAULT_FLAGS, (dev) => ({ ...agentConfig(broker, dev), offload }), []],
  ];
  // Smoke size: the two ends only.
  if (SMOKE) variants.splice(1, 2);
  const measured: Array<[string, number]> = [];
  try {
    for (const [name, cfg, nodeArgs] of variants) {
      const dataDir = join(root, `data-${measured.length}`);
      let a: AgentProc | undefined;
      try {
        a = await startAgent({ dataDir, config: cfg(`cam-rss-${measured.length}`), env: { BODYCAM_LOG: 'warn' }, ...(nodeArgs ? { nodeArgs } : {}) });
        await a.press('shift', { holdS: 2.1 });
        await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= sized(2, 1), 60_000, 'recording');
        const rss: number[] = [];
        for (let i = 0; i < sized(20, 1); i++) {
          await sleep(1000);
          rss.push(rssMb(a.pid));
        }
        measured.push([name, Math.max(...rss)]);
      } finally {
        await a?.stop();
      }
    }
  } finally {
    await broker.stop();
    cleanup(root);
  }
  const none = measured[0]![1];
  const defaults = measured.find(([n]) => n === DEFAULT_FLAGS)?.[1];
  for (const [name, mb] of measured) {
    if (name === DEFAULT_FLAGS) continue;
    // MQTT + offload is compared with itself on Node's default flags; the others with no extension.
    const base = name === 'MQTT + offload' && defaults !== undefined
      ? { baseline: defaults, baselineLabel: DEFAULT_FLAGS }
      : name === measured[0]![0] ? {} : { baseline: none, baselineLabel: 'no extension configured' };
    rows.push({
      metric: `agent RSS while recording (max over 20 s), ${name}`, value: mb, unit: 'MB',
      ...base,
      target: name === 'MQTT + offload' ? '≤ 64 MB' : undefined,
    });
  }
}

export async function coreSuite(): Promise<BenchSuite> {
  return {
    name: 'core',
    async run() {
      const rows: BenchRow[] = [];
      // BENCH_CORE_PARTS=latency,crash,run,overhead,rss runs a subset (each part takes minutes).
      const parts = process.env.BENCH_CORE_PARTS?.split(',');
      const want = (p: string): boolean => !parts || parts.includes(p);
      // A part that fails is one row saying so: the others' figures are kept.
      const part = async (name: string, fn: () => Promise<void>): Promise<void> => {
        if (!want(name)) return;
        try {
          await fn();
        } catch (e) {
          rows.push({ metric: `${name}: FAILED`, value: NaN, unit: '', note: (e instanceof Error ? e.message : String(e)).split('\n')[0] });
        }
      };
      await part('latency', () => latencies(rows));
      await part('crash', () => crashGap(rows));
      await part('run', () => longRun(rows));
      await part('overhead', async () => {
        if (SMOKE) return overheadAt(rows, 320, 180, 300);
        await overheadAt(rows, 1280, 720, 3000);
        await overheadAt(rows, 1920, 1080, 6000);
      });
      await part('rss', () => rssWithExtensions(rows));
      return rows;
    },
  };
}
