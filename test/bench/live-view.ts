/**
 * Live view's cost to the camera (issue 23; docs/live-view.md), with real ffmpeg at 1280×720@30
 * veryfast: the recording ffmpeg with and without its live tap (tee + RTP to loopback, nobody
 * listening, as outside a session), run side by side on the same encode; and during a "session"
 * the relay (agent/live-view/relay.ts, in this process as in the agent) forwarding the tap to a
 * loopback UDP sink; and request → first decoded frame in the browser: a supervisor's click on
 * *Watch live* in the console (real Chromium, Janus, mosquitto, sim camera:
 * test/console/live-view-rig.ts) until the page's video shows a decoded sim picture (pixels read
 * through a canvas), one session after another, each stopped from the page.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRecordingArgs } from '../../hal/encoder/args.js';
import { RtpRelay } from '../../agent/live-view/relay.js';
import { cpuS, median, sized } from './measure.js';
import { framePixels, live, startLiveViewRig } from '../console/live-view-rig.js';
import { login } from '../console/harness.js';
import type { BenchRow, BenchSuite } from './types.js';
import { freeUdpPort } from '../helpers/net.js';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

function recorder(dir: string, tapPort: number | undefined) {
  const argv = buildRecordingArgs({
    video: { kind: 'lavfi', width: 1280, height: 720, fps: 30 }, audio: { kind: 'lavfi', sampleRate: 48000, channels: 1 },
    encoder: { video: 'libx264', preset: 'veryfast', videoKbps: 2500, audioKbps: 64, fps: 30 }, burnIn: { deviceId: 'cam-bench', font: FONT },
    segmentS: 2, startNumber: 1, outDir: dir, ...(tapPort ? { liveTap: { port: tapPort } } : {}),
  });
  // fds 3 (segment list) and 4 (progress) drained, as the agent does.
  const c = spawn('ffmpeg', argv, { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  for (const fd of [3, 4]) (c.stdio[fd] as NodeJS.ReadableStream).resume();
  return c;
}

/** The q-quantile (nearest rank) of xs. */
const quantile = (xs: readonly number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;

async function requestToFrame(): Promise<BenchRow[]> {
  const rig = await startLiveViewRig({ cam: 'cam-bench-lv', maxS: 60 });
  const ms: number[] = [];
  try {
    const { agent } = rig;
    await agent.press('shift', { holdS: 2.1 });
    await agent.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1 && (s.ext.telemetry as { connected?: boolean } | undefined)?.connected === true, 30_000, 'recording, connected');
    const { page } = await login(rig.browser, rig.console, 'ana');
    for (let i = 0; i < sized(10, 1); i++) {
      await page.goto(`${rig.console.base}/camera/${rig.cam}`);
      await page.waitForSelector('body[data-ready="1"]');
      await page.waitForSelector('#live:not([hidden])');
      await page.fill('#live-reason', `bench ${i + 1}`);
      const t0 = Date.now();
      await page.click('#live-start');
      const px = await framePixels(page, 15_000);
      if (!px) throw new Error(`session ${i + 1}: no decoded frame within 15 s`);
      ms.push(Date.now() - t0);
      await page.click('#live-stop');
      await agent.waitFor((s) => !live(s), 20_000, 'session closed');
    }
  } finally {
    await rig.stop();
  }
  const all = `all: ${ms.join(', ')} ms`;
  return [
    { metric: `live view: console click → first decoded frame in the page, p50 (${ms.length} sessions; keyframe every 2-s segment)`, value: median(ms) / 1000, unit: 's', target: '≤ 3 s', note: all },
    { metric: `live view: console click → first decoded frame in the page, p99 (${ms.length} sessions)`, value: quantile(ms, 0.99) / 1000, unit: 's', target: '≤ 3 s' },
  ];
}

export function liveViewSuite(): BenchSuite {
  return {
    name: 'live-view',
    async run(): Promise<BenchRow[]> {
      const windowS = sized(30, 3);
      const dirA = mkdtempSync(join(tmpdir(), 'bench-lv-a-'));
      const dirB = mkdtempSync(join(tmpdir(), 'bench-lv-b-'));
      const tap = await freeUdpPort();
      const sinkPort = await freeUdpPort();
      const sink = createSocket('udp4');
      await new Promise<void>((r) => sink.bind(sinkPort, '127.0.0.1', r));
      let cpuRows: BenchRow[] = [];
      const plain = recorder(dirA, undefined);
      const tapped = recorder(dirB, tap);
      try {
        await new Promise((r) => setTimeout(r, 3000)); // past the encoders' start
        const p0 = cpuS(plain.pid!);
        const t0 = cpuS(tapped.pid!);
        await new Promise((r) => setTimeout(r, windowS * 1000));
        const pOff = (cpuS(plain.pid!) - p0) / windowS;
        const tOff = (cpuS(tapped.pid!) - t0) / windowS;
        // A session: the relay forwards the tap to the sink for the same window.
        const relay = new RtpRelay(tap, { host: '127.0.0.1', port: sinkPort });
        await relay.start();
        const n0 = process.cpuUsage();
        const p1 = cpuS(plain.pid!);
        const t1 = cpuS(tapped.pid!);
        await new Promise((r) => setTimeout(r, windowS * 1000));
        const relayCpu = (() => { const u = process.cpuUsage(n0); return (u.user + u.system) / 1e6 / windowS; })();
        const pOn = (cpuS(plain.pid!) - p1) / windowS;
        const tOn = (cpuS(tapped.pid!) - t1) / windowS;
        const pkts = relay.counters.packets / windowS;
        relay.close();
        cpuRows = [
          { metric: 'CPU: recording ffmpeg with the live tap, no session (tee + RTP to loopback), 1280×720@30 veryfast 2500 kbps, side by side', value: tOff, unit: 'cores', baseline: pOff, baselineLabel: 'same encode without the tap' },
          { metric: 'CPU: recording ffmpeg with the tap + the relay (this process) during a session', value: tOn + relayCpu, unit: 'cores', baseline: pOn, baselineLabel: 'same encode without the tap', target: 'live view on vs off ≤ +10 %' },
          { metric: 'relay: RTP packets forwarded per second', value: pkts, unit: 'pkt/s' },
        ];
      } finally {
        for (const c of [plain, tapped]) c.kill('SIGKILL');
        sink.close();
        rmSync(dirA, { recursive: true, force: true });
        rmSync(dirB, { recursive: true, force: true });
      }
      // After the CPU windows: the browser, Janus and the console would be in them otherwise.
      return [...(await requestToFrame()), ...cpuRows];
    },
  };
}
