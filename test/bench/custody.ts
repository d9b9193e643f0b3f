/**
 * Custody rotation benchmark (issue 24, docs/custody-periods.md): the real agent in custody mode on
 * the sim board with 10-s periods, live offload to the tests' Ceph RGW, an ingest worker on the
 * real mosquitto confirming every closed period. Over 10 rotations:
 * - frames lost at the rotations (goal 0): the confirmed periods' segments as stored centrally,
 *   joined in journal order, read with ffprobe — every PTS step above one frame counts the frames
 *   it skips;
 * - rotation instant (`continues.rotated_at`) → the next period's first sealed segment record, p50
 *   and max;
 * - the data dir's size at each rotation while confirmations flow (goal: flat — each period is
 *   deleted once confirmed).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow, BenchSuite } from './types.js';
import { startAgent, cleanup } from '../helpers/agent.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { agentConfig } from '../mqtt/fixtures.js';
import { startStore, getObject, BUCKET, PREFIX, PART_BYTES } from '../offload/store.js';
import { centralWithCamera, ingestConfig } from '../central/fleet.js';
import { IngestService } from '../../central/ingest/service.js';
import { loadIngestConfig } from '../../central/ingest/config.js';
import { sized } from './measure.js';

const D = 'CAM-BENCH-CUSTODY';
const PERIOD_S = 10;
const FPS = 30; // the sim board
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function duBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += duBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
}

export function custodySuite(): BenchSuite {
  return {
    name: 'custody',
    async run(): Promise<BenchRow[]> {
      const rotations = sized(10, 2);
      const root = mkdtempSync(join(tmpdir(), 'bodycam-custody-bench-'));
      const [store, broker] = await Promise.all([startStore([D]), startMosquitto(join(root, 'mqtt'))]);
      let svc: IngestService | undefined;
      const rows: BenchRow[] = [];
      try {
        const { keys, commandKey, registryDir, dataDir } = await centralWithCamera(root, D);
        const cfgPath = ingestConfig({ dir: root, workerId: 'bench', broker, store, registryDir, commandKey, rescanS: 2 });
        svc = new IngestService(loadIngestConfig(cfgPath));
        await svc.start();
        const a = await startAgent({
          dataDir, env: { BODYCAM_LOG: 'warn' },
          config: {
            ...agentConfig(broker, D, { central: keys, policy: { custody: 1, periodS: PERIOD_S, segmentS: 2, liveOffloadLagS: 10, checkpointS: 5 } }),
            offload: {
              endpoint: store.ceph.endpoint, region: 'default', bucket: BUCKET, keyPrefix: PREFIX,
              credentialsFile: store.deviceCreds.get(D)!.file, partSizeMb: PART_BYTES / 1048576,
              retryInitialMs: 200, retryMaxMs: 2000, networkPollS: 1, approvedNetworks: ['127.0.0.0/8'],
            },
          },
        });
        const sizes: number[] = [];
        const periodIds: string[] = [];
        try {
          let seen = 0;
          await a.waitFor((s) => (s.ext.custody as { period?: number } | undefined)?.period === 1, 60_000, 'period 1');
          while (seen < rotations) {
            const s = await a.waitFor((x) => ((x.ext.custody as { period?: number } | undefined)?.period ?? 0) > seen + 1, (PERIOD_S + 30) * 1000, `rotation ${seen + 1}`);
            seen = ((s.ext.custody as { period: number }).period) - 1;
            sizes.push(duBytes(dataDir));
          }
          // The closed periods, newest first from the open one's continues chain, via the bucket.
          const open = (await a.status()).shiftId!;
          let cur = JSON.parse(readFileSync(join(dataDir, 'shifts', open, 'journal.jsonl'), 'utf8').split('\n', 1)[0]!) as { continues?: { shift_id: string } };
          while (cur.continues) {
            const id = cur.continues.shift_id;
            periodIds.unshift(id);
            let j: Buffer | undefined;
            for (let i = 0; i < 60 && !j; i++) {
              j = await getObject(store.operator, `${PREFIX}/${D}/${id}/journal.jsonl`).catch(() => undefined);
              if (!j) await sleep(1000);
            }
            if (!j) throw new Error(`${id}: journal not in the bucket`);
            cur = JSON.parse(j.toString('utf8').split('\n', 1)[0]!) as { continues?: { shift_id: string } };
          }
        } finally {
          await a.stop();
        }
        // Frames lost, and rotation → first seal, from the periods as stored centrally.
        const joined = join(root, 'joined.ts');
        const parts: Buffer[] = [];
        const toSeal: number[] = [];
        for (const id of periodIds) {
          const lines = (await getObject(store.operator, `${PREFIX}/${D}/${id}/journal.jsonl`)).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
          const rotatedAt = Date.parse(String((lines[0]!.continues as { rotated_at?: string } | undefined)?.rotated_at));
          const first = lines.find((r) => r.type === 'segment');
          if (Number.isFinite(rotatedAt) && first) toSeal.push(Date.parse(String(first.at)) - rotatedAt);
          for (const r of lines.filter((x) => x.type === 'segment')) parts.push(await getObject(store.operator, `${PREFIX}/${D}/${id}/${String(r.file)}`));
        }
        writeFileSync(joined, Buffer.concat(parts));
        const pts = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', joined], { encoding: 'utf8', maxBuffer: 256 << 20 })
          .split('\n').map((l) => Number(l.trim().replace(/,$/, ''))).filter((x) => Number.isFinite(x) && x > 0).sort((x, y) => x - y);
        const frame = 1 / FPS;
        let lost = 0;
        for (let i = 1; i < pts.length; i++) lost += Math.max(0, Math.round((pts[i]! - pts[i - 1]!) / frame) - 1);
        rows.push({ metric: `frames lost over ${periodIds.length} periods (${periodIds.length - 1} rotations inside), ${pts.length} frames`, value: lost, unit: 'frames', target: '0' });
        rows.push({ metric: 'rotation instant → next period\'s first sealed segment, p50', value: quantile(toSeal, 0.5) / 1000, unit: 's', note: `${toSeal.length} rotations; segmentS 2` });
        rows.push({ metric: 'rotation instant → next period\'s first sealed segment, max', value: Math.max(...toSeal) / 1000, unit: 's' });
        const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;
        rows.push({ metric: `data dir size at rotation 3 vs rotation ${sizes.length} (confirmations flowing)`, value: mb(sizes.at(-1)!), unit: 'MiB', baseline: mb(sizes[Math.min(2, sizes.length - 1)]!), baselineLabel: 'at rotation 3', target: 'flat', note: `at each rotation: ${sizes.map(mb).join(', ')} MiB` });
        return rows;
      } finally {
        await svc?.stop().catch(() => undefined);
        await broker.stop();
        await store.stop();
        cleanup(root);
      }
    },
  };
}
