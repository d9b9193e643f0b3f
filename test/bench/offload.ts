/**
 * Offload benchmark on loopback against the Ceph RGW of the tests: the agent's uploader
 * (multipart per object, Content-MD5 + SHA-256 per part, state persisted after every part,
 * manifest) beside a plain single-stream PutObject of the same bytes with the same library
 * (@aws-sdk/client-s3, one request per file, no checksums, no state). Also the CPU the upload
 * costs per MB. A shift here is 30 × 1 MiB incompressible segments plus a journal.
 */
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, readdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { BenchRow, BenchSuite } from './suites.js';
import { startStore, BUCKET, PREFIX } from '../offload/store.js';
import { Journal } from '../../agent/evidence/journal.js';
import { runOffloadJob } from '../../agent/offload/job.js';
import { createS3Client } from '../../agent/offload/s3.js';
import { createLogger, setLogLevel } from '../../agent/lib/log.js';

const DEVICE = 'CAM-BENCH';
const FILES = 30;
const FILE_BYTES = 1024 * 1024;
const RUNS = 3;

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
      try {
        for (let r = 0; r < RUNS; r++) {
          const s = makeShift(dataDir, r);
          const mb = s.bytes / 1e6;
          let cpu = process.cpuUsage();
          let t0 = performance.now();
          await runOffloadJob({
            dataDir, shiftId: s.shiftId, shiftDir: s.dir, deviceId: DEVICE, target, bucket: BUCKET, keyPrefix: PREFIX,
            partSizeBytes: 8 * 1024 * 1024, bandwidthKbps: 0, retryInitialMs: 500, retryMaxMs: 5000,
          }, { log: createLogger('bench.offload') });
          let dt = (performance.now() - t0) / 1000;
          let c = process.cpuUsage(cpu);
          ours.push({ mbps: mb / dt, cpuPerMb: (c.user + c.system) / 1e6 / mb });

          // Baseline: the same bytes, one plain PutObject per file, one stream, same library.
          const s3 = createS3Client(target);
          const files = readdirSync(s.dir).sort();
          const bodies = files.map((f) => readFileSync(join(s.dir, f)));
          cpu = process.cpuUsage();
          t0 = performance.now();
          for (let i = 0; i < files.length; i++) {
            await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/${DEVICE}/baseline-${r}/${files[i]}`, Body: bodies[i], ACL: 'bucket-owner-full-control' }));
          }
          dt = (performance.now() - t0) / 1000;
          c = process.cpuUsage(cpu);
          plain.push({ mbps: mb / dt, cpuPerMb: (c.user + c.system) / 1e6 / mb });
          s3.destroy();
        }
      } finally {
        await store.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
      const note = `${RUNS} runs, median; ${FILES} × 1 MiB + journal per shift, loopback Ceph RGW 16`;
      return [
        {
          metric: 'offload throughput (multipart, MD5+SHA-256 per part, persisted state)', value: +median(ours.map((x) => x.mbps)).toFixed(1), unit: 'MB/s',
          baseline: +median(plain.map((x) => x.mbps)).toFixed(1), baselineLabel: 'plain PutObject per file, same SDK', note,
        },
        {
          metric: 'offload CPU per MB uploaded (uploader process)', value: +median(ours.map((x) => x.cpuPerMb * 1000)).toFixed(2), unit: 'CPU-ms/MB',
          baseline: +median(plain.map((x) => x.cpuPerMb * 1000)).toFixed(2), baselineLabel: 'plain PutObject per file, same SDK', note,
        },
      ];
    },
  };
}
