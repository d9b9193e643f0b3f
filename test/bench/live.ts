/**
 * Live offload benchmark (issue 20) on the sim board with real ffmpeg and the tests' Ceph RGW on
 * loopback: at 1280×720@30 and 1920×1080@30, the CPU of the agent + its ffmpeg + its live upload
 * workers (reaped children, and one running at the sample) beside a bare ffmpeg doing the same
 * encode at the same time; the upload lag (a segment's `segment` record → its object's
 * LastModified in the bucket) p50/p99; frames lost at segment boundaries of the shift recorded
 * while uploading (PTS holes between consecutive segments, read from the files).
 *
 * Policy: liveOffloadLagS 120 and checkpointS 60 (the defaults: what a camera runs). The sim
 * camera is on an approved network (127.0.0.0/8).
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import type { BenchRow, BenchSuite } from './types.js';
import { startAgent, runCli, shiftJournal, cleanup } from '../helpers/agent.js';
import { derivedBoard } from '../helpers/fs-limits.js';
import { startStore, BUCKET, PREFIX, type Store } from '../offload/store.js';
import { probeTs } from '../../agent/evidence/ts-probe.js';
import { cpuS, cpuWithReapedS, spawnBareFfmpeg, sized, SMOKE } from './measure.js';

const DEVICE = 'CAM-BENCH-LIVE';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const cpuOr0 = (pid: number | null | undefined): number => {
  if (!pid) return 0;
  try {
    return cpuS(pid);
  } catch {
    return 0;
  }
};

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
}

async function storedAt(store: Store, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const r = await store.operator.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
    for (const v of r.Versions ?? []) out.set(v.Key!, Math.min(out.get(v.Key!) ?? Infinity, v.LastModified!.getTime()));
    if (!r.IsTruncated) return out;
    keyMarker = r.NextKeyMarker;
    versionMarker = r.NextVersionIdMarker;
  }
}

async function liveAt(rows: BenchRow[], store: Store, width: number, height: number, kbps: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'bodycam-live-bench-'));
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  const prov = await runCli(['provision', '--data-dir', dataDir, '--device-id', DEVICE]);
  if (prov.code !== 0) throw new Error(`provision: ${prov.stderr}`);
  const encoder = { video: 'libx264', preset: 'veryfast', bitrateKbps: kbps, audioBitrateKbps: 64, burnIn: true };
  const board = derivedBoard('sim', root, { camera: { source: 'lavfi', width, height, fps: 30 }, encoder });
  const config = {
    deviceId: DEVICE,
    // Smoke: batches every few seconds so the short window still sees live uploads.
    policy: { liveOffloadLagS: sized(120, 10), checkpointS: sized(60, 5) },
    offload: {
      endpoint: store.ceph.endpoint, region: 'default', bucket: BUCKET, keyPrefix: PREFIX,
      credentialsFile: store.deviceCreds.get(DEVICE)!.file, approvedNetworks: ['127.0.0.0/8'], networkPollS: 1,
    },
  };
  const a = await startAgent({ dataDir, board, config, env: { BODYCAM_LOG: 'warn' } });
  const bareDir = join(root, 'bare');
  mkdirSync(bareDir);
  try {
    await a.press('shift', { holdS: 2.1 });
    const s0 = await a.waitFor((s) => s.segments >= sized(2, 1) && (s.ext.encoder?.pid as number | null) != null, 60_000, 'recording');
    const shiftId = s0.shiftId!;
    const ffPid = s0.ext.encoder!.pid as number;
    const bare = spawnBareFfmpeg({ width, height, fps: 30, preset: 'veryfast', videoKbps: kbps, deviceId: s0.deviceId, outDir: bareDir });
    await sleep(sized(3000, 500));
    // At least two checkpoints (60 s) inside the window, so live batches are in it.
    const window = sized(150, 8);
    const sample = async (): Promise<{ ours: number; bare: number; agent: number }> => {
      const st = await a.status();
      const enc = (st.ext.encoder?.pid as number | undefined) ?? ffPid;
      const worker = (st.ext.offload as { live?: { workerPid?: number | null } } | undefined)?.live?.workerPid;
      return { ours: cpuWithReapedS(a.pid) + cpuOr0(enc) + cpuOr0(worker), bare: cpuS(bare.pid!), agent: cpuWithReapedS(a.pid) };
    };
    const c0 = await sample();
    await sleep(window * 1000);
    const c1 = await sample();
    bare.kill('SIGINT');
    rows.push({
      metric: `CPU: agent + ffmpeg + live upload worker vs bare ffmpeg, side by side, ${width}×${height}@30 veryfast ${kbps} kbps`, value: (c1.ours - c0.ours) / window, unit: 'cores',
      baseline: (c1.bare - c0.bare) / window, baselineLabel: 'bare ffmpeg', target: '≤ 1.05×',
      note: `${window} s window; agent with its reaped workers ${((c1.agent - c0.agent) / window).toFixed(4)} cores`,
    });
    await a.press('shift', { holdS: 3.1 });
    await a.press('shift');
    await a.waitFor((s) => s.state === 'OFF_DUTY' || s.state === 'OFFLOADING', 30_000, 'end');
    const j = shiftJournal(dataDir, shiftId);
    const segs = j.filter((r) => r.type === 'segment');
    const prefix = `${PREFIX}/${DEVICE}/${shiftId}/`;
    const stored = await storedAt(store, prefix);
    const endAt = Date.parse(j.find((r) => r.type === 'shift_end')!.at);
    // Lag of the segments sealed while the shift recorded and uploaded live (before the shift end).
    const lags = segs.flatMap((r) => {
      const t = stored.get(prefix + String(r.file));
      return t !== undefined && t < endAt ? [(t - Date.parse(r.at)) / 1000] : [];
    });
    rows.push({
      metric: `live upload lag p50, ${width}×${height} (segment record → object stored)`, value: quantile(lags, 0.5), unit: 's',
      target: '(p99 ≤ 60 s)', note: `${lags.length} of ${segs.length} segments stored live`,
    });
    rows.push({ metric: `live upload lag p99, ${width}×${height}`, value: quantile(lags, 0.99), unit: 's', target: '≤ 60 s' });
    const dir = join(dataDir, 'shifts', shiftId);
    let lost = 0;
    let frames = 0;
    let prevLast: number | undefined;
    // The longest encoder run: a restart (a stall on a loaded box) is a gap, not a boundary.
    const perRun = new Map<number, number>();
    for (const r of segs) perRun.set(Number(r.run), (perRun.get(Number(r.run)) ?? 0) + 1);
    const longest = [...perRun.entries()].sort((x, y) => y[1] - x[1])[0]?.[0];
    const run1 = segs.filter((r) => Number(r.run) === longest);
    for (const r of run1) {
      const p = probeTs(readFileSync(join(dir, String(r.file))));
      frames += p.videoFrames;
      if (prevLast !== undefined && p.firstPts !== undefined) lost += Math.max(0, Math.round((p.firstPts - prevLast) * 30) - 1);
      prevLast = p.lastPts;
    }
    rows.push({
      metric: `frames lost at ${run1.length - 1} segment boundaries while uploading live, ${width}×${height}`, value: lost, unit: 'frames', target: '0',
      note: `${frames} frames in ${run1.length} segments of encoder run ${longest}; ${perRun.size} run(s) in the shift`,
    });
  } finally {
    await a.stop();
    cleanup(root);
  }
}

export async function liveSuite(): Promise<BenchSuite> {
  return {
    name: 'live',
    async run(): Promise<BenchRow[]> {
      const rows: BenchRow[] = [];
      const store = await startStore([DEVICE]);
      try {
        // At smoke size one small camera size shows the suite works (CI runs it on 2 cores).
        if (SMOKE) await liveAt(rows, store, 640, 360, 800);
        else {
          await liveAt(rows, store, 1280, 720, 3000);
          await liveAt(rows, store, 1920, 1080, 6000);
        }
      } finally {
        await store.stop();
      }
      return rows;
    },
  };
}
