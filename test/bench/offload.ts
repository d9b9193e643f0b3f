/**
 * Offload benchmark on loopback against the Ceph RGW of the tests: the agent's uploader (one
 * PutObject with Content-MD5 and the manifest's SHA-256 per file no larger than a part, done marks
 * appended to done.jsonl, manifest last) beside a plain single-stream PutObject of the same bytes
 * with the same library (@aws-sdk/client-s3, one request per file, no checksums, no state). Both
 * sides create their client and read the files inside the measurement; the manifest (a SHA-256 of
 * every file, made once per shift) is built before and reported on its own row. Runs alternate
 * which side goes first: the machine is shared. Also the CPU the upload costs per MB. A shift here
 * is 30 × 1 MiB incompressible segments plus a journal. */
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, readdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { BenchRow, BenchSuite } from './types.js';
import { startStore, BUCKET, PREFIX } from '../offload/store.js';
import { Journal } from '../../agent/evidence/journal.js';
import { prepareManifest, runOffloadJob } from '../../agent/offload/job.js';
import { createS3Client } from '../../agent/offload/s3.js';
import { createLogger, setLogLevel } from '../../agent/lib/log.js';
import { sized } from './measure.js';

const DEVICE = 'CAM-BENCH';
const FILES = sized(30, 3);
const FILE_BYTES = sized(1024 * 1024, 64 * 1024);
const RUNS = sized(5, 1);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function makeShift(dataDir: string, n: number): { shiftId: string; dir: string; bytes: number } {
  const shiftId = `20261122T0${n}0000Z-${DEVICE}`;
  const dir = join(dataDir, 'shifts', shiftId);
  mkdirSync(dir, { recursive: true });
  const j = new Journal(dir);
  j.open();
  j.append('shift_start', { shift_id: shiftId, device_id: DEVICE });
  for (let i = 1; i <= FILES; i++) {
    const file = `seg-${String(i).padStart(6, '0')}.ts`;
    writeFileSync(join(dir, file), randomBytes(FILE_BYTES));
    // On the camera segments are fsynced when sealed; unsynced bench data would be flushed by the
    // uploader's first state fsync (ext4 journal ordering) and billed to it.
    const fd = openSync(join(dir, file), 'r');
    fsyncSync(fd);
    closeSync(fd);
    j.append('segment', { file, bytes: FILE_BYTES });
  }
  j.append('shift_end', { reason: 'bench' });
  j.close();
  const bytes = readdirSync(dir).reduce((a, f) => a + readFileSync(join(dir, f)).length, 0);
  return { shiftId, dir, bytes };
}

export async function offloadSuite(): Promise<BenchSuite> {
  return {
    name: 'offload',
    async run(): Promise<BenchRow[]> {
      setLogLevel('warn');
      const store = await startStore([DEVICE]);
      const dataDir = mkdtempSync(join(tmpdir(), 'bodycam-bench-offload-'));
      const creds = store.deviceCreds.get(DEVICE)!;
      const target = { endpoint: store.ceph.endpoint, region: 'default', forcePathStyle: true, credentials: creds };
      const ours: Array<{ mbps: number; cpuPerMb: number }> = [];
      const plain: Array<{ mbps: number; cpuPerMb: number }> = [];
      const manifestMs: number[] = [];
      const measure = async (mb: number, fn: () => Promise<void>): Promise<{ mbps: number; cpuPerMb: number }> => {
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        await fn();
        const dt = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(cpu);
        return { mbps: mb / dt, cpuPerMb: (c.user + c.system) / 1e6 / mb };
      };
      try {
        for (let r = 0; r < RUNS; r++) {
          const s = makeShift(dataDir, r);
          const mb = s.bytes / 1e6;
          const t0 = performance.now();
          await prepareManifest(dataDir, s.shiftId, s.dir, DEVICE, PREFIX);
          manifestMs.push(performance.now() - t0);
          const agent = (): Promise<{ mbps: number; cpuPerMb: number }> => measure(mb, async () => {
            await runOffloadJob({
              dataDir, shiftId: s.shiftId, shiftDir: s.dir, deviceId: DEVICE, target, bucket: BUCKET, keyPrefix: PREFIX,
              partSizeBytes: 8 * 1024 * 1024, bandwidthKbps: 0, retryInitialMs: 500, retryMaxMs: 5000,
            }, { log: createLogger('bench.offload') });
          });
          // Baseline: the same bytes, one plain PutObject per file, one stream, same library.
          const baseline = (): Promise<{ mbps: number; cpuPerMb: number }> => measure(mb, async () => {
            const s3 = createS3Client(target);
            try {
              for (const f of readdirSync(s.dir).sort()) {
                const body = await readFile(join(s.dir, f));
                await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/${DEVICE}/baseline-${r}/${f}`, Body: body, ACL: 'bucket-owner-full-control' }));
              }
            } finally {
              s3.destroy();
            }
          });
          if (r % 2 === 0) {
            ours.push(await agent());
            plain.push(await baseline());
          } else {
            plain.push(await baseline());
            ours.push(await agent());
          }
        }
      } finally {
        await store.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
      const note = `${RUNS} runs, median; ${FILES} × 1 MiB + journal per shift, loopback Ceph RGW 16`;
      return [
        {
          metric: 'offload throughput (PutObject per file ≤ part, Content-MD5 + manifest SHA-256 checked by the store, done log)', value: +median(ours.map((x) => x.mbps)).toFixed(1), unit: 'MB/s',
          baseline: +median(plain.map((x) => x.mbps)).toFixed(1), baselineLabel: 'plain PutObject per file, same SDK', target: '≥ 0.9×', note,
        },
        {
          metric: 'offload CPU per MB uploaded (uploader process)', value: +median(ours.map((x) => x.cpuPerMb * 1000)).toFixed(2), unit: 'CPU-ms/MB',
          baseline: +median(plain.map((x) => x.cpuPerMb * 1000)).toFixed(2), baselineLabel: 'plain PutObject per file, same SDK', target: '≤ 1.3×', note,
        },
        { metric: 'offload manifest build (SHA-256 of every file, once per shift)', value: +median(manifestMs).toFixed(1), unit: 'ms', note },
      ];
    },
  };
}
