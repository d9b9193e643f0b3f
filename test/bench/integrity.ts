/**
 * Evidence integrity benchmarks:
 * - `bodycam verify` of the 12-hour shift (long-shift.ts: 21,600 segments, 2.65 GB, page cache)
 *   beside `sha256sum` over the same files, one process and one per core (`xargs -P`), in the same
 *   run, alternating after a warm-up (issue 27: ≥ 1.5× sha256sum on this 2-core machine); the
 *   verifier in process with its hash pool beside the same hashing on the calling thread alone;
 * - encryption at rest: CPU time the EncryptingStorer spends per second of video at the sim
 *   board's bitrate, beside the CPU x264 spends encoding that second (what encryption adds).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow, BenchSuite } from './types.js';
import { REPO } from '../helpers/agent.js';
import { EncryptingStorer, DEFAULT_CHUNK } from '../../agent/evidence/encrypt.js';
import { generateX25519, keyIdOf } from '../../agent/evidence/crypto.js';
import { verifyShift } from '../../agent/evidence/verify/verify.js';
import { loadPublicKey } from '../../agent/evidence/crypto.js';
import { median, sized } from './measure.js';
import { cachedLongShift } from './long-shift.js';

const CLI = join(REPO, 'dist/agent/cli/main.js');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Wall seconds of one command; `input` goes to its stdin. Exit 1 is a verdict, not a failure. */
function wallS(cmd: string, args: string[], input?: Buffer): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { input, stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed (${r.status}): ${r.stderr?.toString().slice(0, 500)}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function verifyThroughput(rows: BenchRow[]): Promise<void> {
  const { dir, pub } = cachedLongShift();
  const files = readdirSync(dir).filter((f) => /^seg-\d{6}\.ts$/.test(f)).sort().map((f) => join(dir, f));
  const bytes = files.reduce((a, f) => a + statSync(f).size, 0);
  const list = Buffer.from(files.join('\0'));
  const cores = availableParallelism();
  // One sha256sum over every file (xargs splits the list only at ARG_MAX), and one per core over
  // runs of files small enough that the cores finish together.
  const perRun = String(Math.max(1, Math.ceil(files.length / (cores * 16))));
  const shaOne = (): number => wallS('xargs', ['-0', 'sha256sum'], list);
  const shaAll = (): number => wallS('xargs', ['-0', '-P', String(cores), '-n', perRun, 'sha256sum'], list);
  const cli = (): number => wallS(process.execPath, [CLI, 'verify', dir, '--pubkey', pub]);
  // Warm the page cache (one inode under every name: one read does it) and the code caches.
  cli();
  shaOne();
  const ours: number[] = [];
  const one: number[] = [];
  const all: number[] = [];
  const reps = sized(5, 1);
  for (let i = 0; i < reps; i++) {
    for (const [f, into] of (i % 2 ? [[shaAll, all], [shaOne, one], [cli, ours]] : [[cli, ours], [shaOne, one], [shaAll, all]]) as Array<[() => number, number[]]>) into.push(f());
  }
  const publicKey = loadPublicKey(pub, 'ed25519');
  const inProc = async (hashThreads: number | undefined): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const rep = await verifyShift({ shiftDir: dir, publicKey, hashThreads });
    if (rep.verdict !== 'intact') throw new Error(`the 12-h bench shift does not verify: ${rep.summary}`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const pooled: number[] = [];
  const inline: number[] = [];
  for (let i = 0; i < sized(3, 1); i++) {
    pooled.push(await inProc(cores));
    inline.push(await inProc(1));
  }
  const start: number[] = [];
  for (let i = 0; i < sized(3, 1); i++) start.push(wallS(process.execPath, [CLI, 'help']));
  const mb = bytes / 1e6;
  const note = `${files.length} segments, ${(bytes / 1e9).toFixed(2)} GB, page cache; ${cores} cores`;
  rows.push({
    metric: `bodycam verify of the 12-h shift (CLI, incl. node start; median of ${reps})`,
    value: mb / median(ours),
    unit: 'MB/s',
    baseline: mb / median(one),
    baselineLabel: 'sha256sum, same files',
    target: '≥ 1.5×',
    note,
  });
  rows.push({ metric: `bodycam verify of the 12-h shift (CLI; median of ${reps})`, value: mb / median(ours), unit: 'MB/s', baseline: mb / median(all), baselineLabel: `sha256sum × ${cores} (xargs -P${cores}), same files` });
  rows.push({ metric: `bodycam verify of the 12-h shift, wall (CLI; median of ${reps})`, value: median(ours), unit: 's', baseline: median(one), baselineLabel: 'sha256sum, same files' });
  rows.push({
    metric: `verifier in process, 12-h shift, segment hashing on ${cores} worker threads (median of ${pooled.length})`,
    value: mb / median(pooled),
    unit: 'MB/s',
    baseline: mb / median(inline),
    baselineLabel: 'same, hashing on the calling thread',
  });
  rows.push({ metric: `\`bodycam\` CLI start-up (bodycam help; median of ${start.length})`, value: median(start), unit: 's', note: 'included in the CLI figures above' });
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
