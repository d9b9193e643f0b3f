/**
 * Evidence integrity benchmarks:
 * - `bodycam verify` throughput (MB/s of segment data, journal + signatures + hashes + coverage)
 *   beside `sha256sum` over the same files: the verifier's overhead over bare hashing;
 * - encryption at rest: CPU time the EncryptingStorer spends per second of video at the sim
 *   board's bitrate, beside the CPU x264 spends encoding that second (what encryption adds).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { BenchRow, BenchSuite } from './types.js';
import { REPO } from '../helpers/agent.js';
import { Journal, isoMs } from '../../agent/evidence/journal.js';
import { JournalSigner } from '../../agent/evidence/signer.js';
import { EncryptingStorer, DEFAULT_CHUNK } from '../../agent/evidence/encrypt.js';
import { generateX25519, keyIdOf } from '../../agent/evidence/crypto.js';
import { provisionIdentity } from '../../agent/identity/identity.js';
import { verifyShift } from '../../agent/evidence/verify/verify.js';
import { loadPublicKey } from '../../agent/evidence/crypto.js';
import { sized } from './measure.js';

const CLI = join(REPO, 'dist/agent/cli/main.js');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function wallS(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} failed (${r.status}): ${r.stderr?.toString().slice(0, 500)}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** A signed shift of `count` segments of `size` random bytes (hashing cost does not depend on content). */
function syntheticShift(root: string, count: number, size: number): { dir: string; pub: string; bytes: number } {
  const id = provisionIdentity(join(root, 'data'), { deviceId: 'cam-bench' });
  const dir = join(root, 'data', 'shifts', 'S-bench');
  mkdirSync(dir, { recursive: true });
  let t = Date.UTC(2026, 10, 22, 8, 0, 0);
  const j = new Journal(dir, () => t);
  j.open();
  const signer = new JournalSigner(id, 15);
  const add = (type: string, f: Record<string, unknown>): void => {
    signer.maybeSign(j, j.append(type, f));
  };
  add('shift_start', { shift_id: 'S-bench', device_id: id.deviceId, policy: { signEverySegments: 15 } });
  for (let i = 1; i <= count; i++) {
    const b = randomBytes(size);
    const file = `seg-${String(i).padStart(6, '0')}.ts`;
    writeFileSync(join(dir, file), b);
    const start = t;
    t += 2000;
    add('segment', { file, sha256: sha256(b), bytes: b.length, start: isoMs(start), end: isoMs(t), media_start: (i - 1) * 2, media_end: i * 2, frames: 60, run: 1 });
  }
  add('shift_end', { reason: 'wearer', end: isoMs(t) });
  signer.signNow(j, 'shift_end');
  j.close();
  return { dir, pub: id.publicKeyPath, bytes: count * size };
}

async function verifyThroughput(rows: BenchRow[]): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'bodycam-bench-verify-'));
  try {
    const { dir, pub, bytes } = syntheticShift(root, sized(100, 5), sized(1 << 20, 64 << 10));
    const segs = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
    // Warm the page cache for both, then alternate runs so neither is favoured.
    wallS('sha256sum', segs);
    wallS(process.execPath, [CLI, 'verify', dir, '--pubkey', pub]);
    const ours: number[] = [];
    const base: number[] = [];
    const reps = sized(5, 1);
    for (let i = 0; i < reps; i++) {
      ours.push(wallS(process.execPath, [CLI, 'verify', dir, '--pubkey', pub]));
      base.push(wallS('sha256sum', segs));
    }
    const inProc: number[] = [];
    const publicKey = loadPublicKey(pub, 'ed25519');
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      const rep = await verifyShift({ shiftDir: dir, publicKey });
      inProc.push(Number(process.hrtime.bigint() - t0) / 1e9);
      if (rep.verdict !== 'intact') throw new Error(`bench shift does not verify: ${rep.summary}`);
    }
    const start: number[] = [];
    for (let i = 0; i < sized(3, 1); i++) start.push(wallS(process.execPath, [CLI, 'help']));
    const mb = bytes / 1e6;
    rows.push({
      metric: 'verify throughput, verifier in-process (same shift; median of 5)',
      value: mb / median(inProc),
      unit: 'MB/s',
      baseline: mb / median(base),
      baselineLabel: 'sha256sum, same files',
    });
    rows.push({ metric: '`bodycam` CLI start-up (bodycam help; median of 3)', value: median(start), unit: 's', note: 'included in the CLI figure above' });
    rows.push({
      metric: 'verify throughput, bodycam verify (100 × 1 MB segments, journal, signatures, coverage; median of 5, incl. node start)',
      value: mb / median(ours),
      unit: 'MB/s',
      baseline: mb / median(base),
      baselineLabel: 'sha256sum, same files',
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** CPU seconds (user+sys) of a child, measured by bash's `times` around it. */
function childCpuS(script: string): number {
  const r = spawnSync('bash', ['-c', `${script} >/dev/null 2>&1; times`], { encoding: 'utf8' });
  const lines = r.stdout.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines.at(-1) ?? '');
  if (!m) throw new Error(`cannot read times: ${r.stdout}`);
  return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
}

async function encryptionCost(rows: BenchRow[]): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'bodycam-bench-enc-'));
  const stage = mkdtempSync('/dev/shm/bodycam-bench-');
  try {
    const seconds = sized(30, 2);
    // The sim board's encode: 640x360 30 fps x264 veryfast 1200 kbps + AAC, 2-s TS segments.
    const encodeCpu = childCpuS(
      `ffmpeg -hide_banner -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 -t ${seconds} ` +
        `-c:v libx264 -preset veryfast -b:v 1200k -g 60 -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 64k ` +
        `-f segment -segment_time 2 -segment_format mpegts -reset_timestamps 0 -segment_start_number 1 ${join(root, 'seg-%06d.ts')}`,
    );
    const files = readdirSync(root).filter((f) => f.endsWith('.ts')).sort();
    const plain = files.map((f) => readFileSync(join(root, f)));
    const totalBytes = plain.reduce((a, b) => a + b.length, 0);
    const central = generateX25519();
    const reps = sized(5, 1);
    const cpu: number[] = [];
    for (let r = 0; r < reps; r++) {
      // One shift folder per repetition: the storer opens each .enc exclusively (evidence is never
      // overwritten), so a second pass into the same folder stopped with EEXIST.
      const shiftDir = join(root, `shift-${r}`);
      mkdirSync(shiftDir);
      const storer = new EncryptingStorer({ centralPublicKey: central.publicKey, centralPublicKeyPath: '(bench)', centralKeyId: keyIdOf(central.publicKey), stageDir: stage, chunkSize: DEFAULT_CHUNK });
      const sd = storer.stageDir(`S${r}`, shiftDir);
      // Staging copies are not the storer's cost: make them before measuring.
      for (const f of files) copyFileSync(join(root, f), join(sd, f));
      const u0 = process.cpuUsage();
      for (let i = 0; i < files.length; i++) await storer.store(join(sd, files[i]!), shiftDir, files[i]!, plain[i]!, sha256(plain[i]!));
      const u = process.cpuUsage(u0);
      cpu.push((u.user + u.system) / 1e6);
      storer.forget();
    }
    const perS = median(cpu) / seconds;
    rows.push({
      metric: `encryption CPU per second of video (640x360@30 1200 kbps, ${(totalBytes / seconds / 1000).toFixed(0)} kB/s; storer incl. fdatasync; median of ${reps})`,
      value: perS * 1000,
      unit: 'ms CPU/s',
      baseline: (encodeCpu / seconds) * 1000,
      baselineLabel: 'x264 encoding the same second',
    });
    rows.push({ metric: 'encryption share of one core while recording', value: perS * 100, unit: '%', note: 'AES-256-GCM in 64 KiB chunks, X25519 wrap once per shift' });
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(stage, { recursive: true, force: true });
  }
}

export function integritySuite(): BenchSuite {
  return {
    name: 'integrity',
    async run() {
      const rows: BenchRow[] = [];
      await verifyThroughput(rows);
      await encryptionCost(rows);
      return rows;
    },
  };
}
