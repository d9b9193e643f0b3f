/**
 * Custody periods end to end (issue 24, docs/custody-periods.md): the real agent in custody mode on
 * the light sim board with 20-s periods, live offload to a real Ceph RGW on an approved network
 * (loopback), a central ingest worker (in this process) on the real mosquitto. Through 4 rotations
 * the encoder never restarts; each closed period is verified and confirmed by ingest while the
 * camera goes on recording, and only then deleted on the camera; the periods as stored centrally
 * have continuous PTS across every boundary (ffprobe: no frame lost or doubled), and
 * `bodycam verify` over the 4 proves one continuous chain — leaving out the middle one is named.
 * Budget: ≈ 2 min (4 × 20 s of recording, plus start-up and the last confirmation).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { cleanup, readJournal, runCli, startAgent, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { agentConfig, lightBoard } from '../mqtt/fixtures.js';
import { startStore, getObject, BUCKET, PREFIX, PART_BYTES, type Store } from '../offload/store.js';
import { centralWithCamera, ingestConfig, until } from './fleet.js';
import { IngestService } from '../../central/ingest/service.js';
import { loadIngestConfig } from '../../central/ingest/config.js';
import type { CustodyStatus } from '../../agent/shift/custody-status.js';
import type { PeriodsReport } from '../../agent/evidence/verify/periods.js';
import type { StatusSnapshot } from '../../agent/status.js';

const D = 'CAM-CUSTODY';
const PERIOD_S = 20;
const FPS = 10; // lightBoard
let dir: string;
let store: Store;
let broker: Broker;
let svc: IngestService | undefined;
let cam: AgentProc | undefined;

before(async () => {
  dir = tempDataDir('bodycam-custody-periods-');
  [store, broker] = await Promise.all([startStore([D]), startMosquitto(join(dir, 'mqtt'))]);
});

after(async () => {
  await cam?.stop().catch(() => undefined);
  await svc?.stop().catch(() => undefined);
  await broker?.stop();
  await store?.stop();
  if (dir) cleanup(dir);
});

const custody = (s: StatusSnapshot): CustodyStatus => s.ext.custody as unknown as CustodyStatus;

/** A closed period as stored centrally: its journal and segments, in a directory named by its id. */
async function downloadPeriod(shiftId: string, into: string): Promise<string> {
  const out = join(into, shiftId);
  mkdirSync(out, { recursive: true });
  const prefix = `${PREFIX}/${D}/${shiftId}/`;
  let token: string | undefined;
  do {
    const r = await store.operator.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) {
      const name = o.Key!.slice(prefix.length);
      // The evidence itself; the manifest and the live chunks are how it travelled.
      if (name === 'journal.jsonl' || /^seg-\d{6}\.ts$/.test(name)) writeFileSync(join(out, name), await getObject(store.operator, o.Key!));
    }
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

void test('custody: 20-s periods through 4 rotations — encoder never restarts, PTS continuous across every boundary, each period verified and confirmed by ingest while recording goes on and then deleted locally, the last confirmed period survives a SIGKILL; verify over the 4 is one chain, the middle left out is named', { timeout: 300_000 }, async () => {
  const { keys, commandKey, registryDir, dataDir, pub } = await centralWithCamera(dir, D);
  const cfgPath = ingestConfig({ dir, workerId: 'custody1', broker, store, registryDir, commandKey, rescanS: 2 });
  writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), liveScanS: 2 }, null, 2));
  svc = new IngestService(loadIngestConfig(cfgPath));
  await svc.start();

  const camConfig = {
    ...agentConfig(broker, D, { central: keys, policy: { custody: 1, periodS: PERIOD_S, segmentS: 2, liveOffloadLagS: 10, checkpointS: 5 } }),
    offload: {
      endpoint: store.ceph.endpoint, region: 'default', bucket: BUCKET, keyPrefix: PREFIX,
      credentialsFile: store.deviceCreds.get(D)!.file,
      partSizeMb: PART_BYTES / 1048576, retryInitialMs: 200, retryMaxMs: 2000, networkPollS: 1,
      approvedNetworks: ['127.0.0.0/8'],
    },
  };
  cam = await startAgent({ dataDir, board: lightBoard(dir), config: camConfig });
  const logs = (): string => cam!.logs().slice(-4000);
  const s0 = await cam.waitFor((s) => s.state === 'RECORDING' && custody(s)?.period === 1, 60_000, 'custody duty, period 1');
  const firstRun = s0.ext.encoder!.run as number;

  // Four rotations: periods 1-4 closed, period 5 recording.
  const s5 = await cam.waitFor((s) => custody(s)?.period === 5, (PERIOD_S * 4 + 60) * 1000, 'period 5 (4 rotations)');
  assert.equal(custody(s5).rotations, 4);
  const periods = readJournal(join(dataDir, 'shifts', s5.shiftId!, 'journal.jsonl'));
  assert.equal(periods[0]!.period, 5);

  // Each closed period is confirmed by central and then deleted here, while the camera records on.
  const ids: string[] = [];
  let cur = periods[0]!.continues as { shift_id: string };
  for (let n = 4; n >= 1; n--) {
    ids.unshift(cur.shift_id);
    if (n > 1) {
      const j = await getObject(store.operator, `${PREFIX}/${D}/${cur.shift_id}/journal.jsonl`).catch(() => undefined)
        ?? readFileSync(join(dataDir, 'shifts', cur.shift_id, 'journal.jsonl'));
      cur = (JSON.parse(j.toString('utf8').split('\n', 1)[0]!) as { continues: { shift_id: string } }).continues;
    }
  }
  for (const id of ids) {
    await until(`ingest confirms ${id}`, async () => (await getObject(store.operator, `ingest/${D}/${id}/confirm.json`).catch(() => undefined)) !== undefined, 120_000, logs);
    // The end-of-shift verification's report (allowOpen false: a closed period, all of it).
    const { report } = JSON.parse((await getObject(store.operator, `ingest/${D}/${id}/report.json`)).toString('utf8')) as { report: { verdict: string; open: boolean; summary: string; journal: { closed: boolean } } };
    assert.equal(report.verdict, 'intact', `${id}: ${report.summary}`);
    assert.equal(report.journal.closed, true, `${id} is verified closed`);
    await until(`the camera deletes ${id} after its confirmation`, () => !existsSync(join(dataDir, 'shifts', id)), 60_000, logs);
  }
  const sNow = await cam.status();
  assert.equal(sNow.state, 'RECORDING', 'recording went on throughout');
  assert.equal(sNow.ext.encoder!.run, firstRun, 'the encoder was never restarted: one run across every rotation');
  assert.equal(sNow.encoderRestarts, 0);
  assert.equal(custody(sNow).lastConfirmed?.period !== null && (custody(sNow).lastConfirmed?.period ?? 0) >= 4, true, `last confirmed period in status: ${JSON.stringify(custody(sNow).lastConfirmed)}`);
  assert.ok(existsSync(join(dataDir, 'shifts', sNow.shiftId!)), 'the open period stays on the camera');

  // A restart keeps the last confirmed period: the confirmation of the period before the open one
  // is journaled in the open one, which the restarted agent reads back. Killed well before a rotation.
  const previousOf = (id: string): string => (readJournal(join(dataDir, 'shifts', id, 'journal.jsonl'))[0]!.continues as { shift_id: string }).shift_id;
  const ready = await cam.waitFor((s) => custody(s)?.lastConfirmed?.shiftId === previousOf(s.shiftId!) && Date.parse(custody(s).nextRotationAt!) - Date.now() > 10_000, 90_000, 'the previous period confirmed, a rotation not due soon');
  await cam.kill('SIGKILL'); // the agent's own node process
  cam = await startAgent({ dataDir, board: lightBoard(dir), config: camConfig });
  const back = await cam.waitFor((s) => s.state === 'RECORDING', 30_000, 'recording after the restart');
  assert.equal(back.shiftId, ready.shiftId, 'the same period resumed');
  assert.deepEqual({ shiftId: custody(back).lastConfirmed?.shiftId, at: custody(back).lastConfirmed?.at }, { shiftId: custody(ready).lastConfirmed!.shiftId, at: custody(ready).lastConfirmed!.at }, 'the last confirmed period survives the restart');
  await cam.stop();
  await svc.stop();
  svc = undefined;

  // The four periods as central holds them.
  const copy = join(dir, 'central-copy');
  const dirs: string[] = [];
  for (const id of ids) dirs.push(await downloadPeriod(id, copy));

  // Zero lost frames: the four periods' segments, joined in journal order (MPEG-TS concatenates),
  // carry one frame's PTS step everywhere — inside segments, between them and across the three
  // period boundaries — and decode cleanly (one ffprobe and one ffmpeg for all of them).
  const files: string[] = [];
  const boundaryAfter: number[] = [];
  for (const d of dirs) {
    for (const r of readJournal(join(d, 'journal.jsonl')).filter((x) => x.type === 'segment')) {
      assert.equal(r.run, firstRun, `${String(r.file)}: the same encoder run`);
      if (files.length) assert.equal(Number(String(r.file).slice(4, 10)), Number(basename(files.at(-1)!).slice(4, 10)) + 1, `${String(r.file)} follows ${basename(files.at(-1)!)}`);
      files.push(join(d, String(r.file)));
    }
    boundaryAfter.push(files.length);
  }
  const joined = join(dir, 'four-periods.ts');
  writeFileSync(joined, Buffer.concat(files.map((f) => readFileSync(f))));
  const pts = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', joined], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n').map((l) => l.trim().replace(/,$/, '')).filter(Boolean).map(Number).sort((a, b) => a - b);
  const frame = 1 / FPS;
  const steps = pts.slice(1).map((t, i) => t - pts[i]!);
  const off = steps.map((st, i) => ({ i, st })).filter((x) => Math.abs(x.st - frame) > frame / 2);
  assert.deepEqual(off, [], `every PTS step is one frame (${frame} s): ${JSON.stringify(off.slice(0, 5))}`);
  const span = pts.at(-1)! - pts[0]! + frame;
  assert.equal(pts.length, Math.round(span * FPS), `${pts.length} frames over ${span.toFixed(2)} s of PTS at ${FPS} fps: none lost`);
  const decode = spawnSync('ffmpeg', ['-v', 'error', '-i', joined, '-f', 'null', '-'], { encoding: 'utf8' });
  assert.equal((decode.stderr ?? '').trim(), '', 'the four periods decode cleanly as one stream');
  assert.equal(boundaryAfter.length - 1, 3, 'three period boundaries inside the four periods');
  console.log(`custody periods: ${ids.length} periods, ${files.length} segments, ${pts.length} frames, PTS continuous across boundaries after segments ${boundaryAfter.slice(0, -1).join(', ')}`);

  // One continuous chain over the four.
  const pubCopy = join(dir, 'device.pub.pem');
  writeFileSync(pubCopy, readFileSync(pub));
  const all = await runCli(['verify', ...dirs, '--pubkey', pubCopy, '--json']);
  const rep = JSON.parse(all.stdout) as PeriodsReport;
  assert.equal(all.code, 0, `${rep.summary}\n${JSON.stringify(rep.findings)}\n${all.stderr}`);
  assert.equal(rep.verdict, 'intact');
  assert.deepEqual(rep.periods.map((p) => p.period), [1, 2, 3, 4]);
  assert.deepEqual(rep.boundaries.map((b) => b.ok), [true, true, true]);
  assert.deepEqual(rep.boundaries.map((b) => b.gapMs), [0, 0, 0], 'each period starts exactly where the one before ended');
  assert.equal(rep.totals.uncoveredS, 0);
  // The same from the directory holding them (a day's download), in text.
  const day = await runCli(['verify', copy, '--pubkey', pubCopy]);
  assert.equal(day.code, 0, day.stdout);
  assert.match(day.stdout, /^INTACT {2}4 custody period\(s\)/);

  // The middle period left out: named.
  const gapped = await runCli(['verify', dirs[0]!, dirs[1]!, dirs[3]!, '--pubkey', pubCopy, '--json']);
  assert.equal(gapped.code, 1, gapped.stdout);
  const g = JSON.parse(gapped.stdout) as PeriodsReport;
  assert.equal(g.verdict, 'incomplete');
  const missing = g.findings.filter((f) => f.kind === 'period_missing');
  assert.equal(missing.length, 1, JSON.stringify(g.findings));
  assert.ok(missing[0]!.message.includes(ids[2]!), `names the missing period ${ids[2]}: ${missing[0]!.message}`);
});
