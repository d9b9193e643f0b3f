/**
 * Ingest follows open shifts (docs/live-offload.md) against a real Ceph RGW and the real mosquitto:
 * real shifts recorded by the agent on the light sim board (a signature after every segment) are
 * put in the bucket the way live offload does it — segments under their shift key, the journal cut
 * at its signature lines as `live/journal-<from>-<to>.jsonl` — step by step, with the camera's own
 * write-only credentials; an ingest worker (IngestService, in this process so the test scans when
 * it wants: `rescan()`) verifies each step. Then the live alerts with the real agent's heartbeats.
 * Budget: ≈ 60 s on an idle machine (one Ceph, one broker, four short shifts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { cleanup, runCli, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { centralKeys, lightBoard, type CentralKeys } from '../mqtt/fixtures.js';
import { startStore, getObject, BUCKET, PREFIX, type Store } from '../offload/store.js';
import { ingestConfig, provision, recordShift, register, startCamera, until } from './fleet.js';
import { IngestService } from '../../central/ingest/service.js';
import { loadIngestConfig } from '../../central/ingest/config.js';
import { createS3Client } from '../../agent/offload/s3.js';
import { chunkName } from '../../agent/evidence/verify/incremental.js';
import type { LiveRecord } from '../../central/ingest/live.js';
import type { MqttClient } from 'mqtt';

const A = 'CAM-LA';
const E = 'CAM-LE';
let dir: string;
let store: Store;
let broker: Broker;
let keys: CentralKeys;
let board: string;
let svc: IngestService | undefined;
let alerts: MqttClient | undefined;
const alertMsgs: Array<Record<string, unknown>> = [];
const cams: AgentProc[] = [];
/** Recorded shifts: id and its local directory (the camera's data dir). */
const shifts = new Map<string, { deviceId: string; dir: string }>();
let a1: string;
let a2: string;
let e1: string;

before(async () => {
  dir = tempDataDir('bodycam-live-');
  [store, broker] = await Promise.all([startStore([A, E]), startMosquitto(join(dir, 'mqtt'))]);
  keys = centralKeys(dir);
  const commandKey = join(dir, 'central-cmd.key.pem');
  writeFileSync(commandKey, keys.privatePem, { mode: 0o600 });
  board = lightBoard(dir);
  const registryDir = join(dir, 'registry');
  mkdirSync(registryDir);
  for (const id of [A, E]) {
    mkdirSync(join(dir, `data-${id}`));
    register(registryDir, id, await provision(join(dir, `data-${id}`), id));
  }
  const kg = await runCli(['keygen-central', '--out', join(dir, 'central-enc')]);
  assert.equal(kg.code, 0, kg.stderr);
  // Two real shifts of A, one encrypted of E; then the cameras are stopped: nothing but this test uploads.
  const rec = async (id: string, segments: number, extra?: Record<string, unknown>): Promise<string> => {
    const a = await startCamera({ dataDir: join(dir, `data-${id}`), deviceId: id, board, broker, store, central: keys, policy: { signEverySegments: 1 }, extra });
    const s = await recordShift(a, segments);
    shifts.set(s, { deviceId: id, dir: join(dir, `data-${id}`, 'shifts', s) });
    await a.stop();
    return s;
  };
  [a1, e1] = await Promise.all([rec(A, 3), rec(E, 2, { encryption: { centralPublicKey: join(dir, 'central-enc', 'central-x25519.pub.pem') } })]);
  a2 = await rec(A, 2);
  const cfgPath = ingestConfig({ dir, workerId: 'live1', broker, store, registryDir, commandKey, rescanS: 3600 });
  writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), darkAfterS: 4 }, null, 2));
  svc = new IngestService(loadIngestConfig(cfgPath));
  await svc.start();
  alerts = await broker.connect('central');
  alerts.on('message', (_t, p) => alertMsgs.push(JSON.parse(p.toString('utf8')) as Record<string, unknown>));
  await alerts.subscribeAsync('bodycam/v1/central/alert', { qos: 1 });
});

after(async () => {
  await svc?.stop().catch(() => undefined);
  for (const c of cams) await c.stop().catch(() => undefined);
  alerts?.end(true);
  await broker?.stop();
  await store?.stop();
  if (dir) {
    cleanup(dir);
    for (const id of [A, E]) cleanup(join(dir, `data-${id}-config.json`));
  }
});

const deviceS3 = (id: string): S3Client => createS3Client({ endpoint: store.ceph.endpoint, region: 'default', forcePathStyle: true, credentials: store.deviceCreds.get(id)! });

const journalLines = (shift: string): string[] => readFileSync(join(shifts.get(shift)!.dir, 'journal.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => l + '\n');
const recOf = (l: string): Record<string, unknown> => JSON.parse(l) as Record<string, unknown>;

/** The shift's journal as the camera's live chunks: cut after every signature line. */
function contractChunks(shift: string): Array<{ name: string; bytes: Buffer; segments: string[] }> {
  const ls = journalLines(shift);
  const out: Array<{ name: string; bytes: Buffer; segments: string[] }> = [];
  let from = 1;
  ls.forEach((l, i) => {
    if (recOf(l).type !== 'signature') return;
    const part = ls.slice(from - 1, i + 1);
    out.push({ name: chunkName(from, i + 1), bytes: Buffer.from(part.join('')), segments: part.map(recOf).filter((r) => r.type === 'segment').map((r) => String(r.file)) });
    from = i + 2;
  });
  return out;
}

/** Puts one object under `<prefix>/<uploadDevice>/<shift>/<file>` with that camera's credentials. */
async function put(uploadDevice: string, shift: string, file: string, body: Buffer): Promise<void> {
  const s3 = deviceS3(uploadDevice);
  try {
    // As the camera's uploader does (agent/offload/uploader.ts): owner-readable, integrity-checked.
    await s3.send(new PutObjectCommand({
      Bucket: BUCKET, Key: `${PREFIX}/${uploadDevice}/${shift}/${file}`, Body: body, ACL: 'bucket-owner-full-control',
      ContentMD5: createHash('md5').update(body).digest('base64'), Metadata: { 'bodycam-sha256': createHash('sha256').update(body).digest('hex'), 'bodycam-shift': shift },
    }));
  } finally {
    s3.destroy();
  }
}
const segBytes = (shift: string, file: string): Buffer => readFileSync(join(shifts.get(shift)!.dir, file));

async function live(dev: string, shift: string): Promise<LiveRecord> {
  return JSON.parse((await getObject(store.operator, `ingest/${dev}/${shift}/live.json`)).toString('utf8')) as LiveRecord;
}
async function report(dev: string, shift: string): Promise<{ open: boolean; verifiedThrough: string | null; verdict: string; summary: string; reasons: Array<{ kind: string; where: string; message: string }> }> {
  return JSON.parse((await getObject(store.operator, `ingest/${dev}/${shift}/report.json`)).toString('utf8')) as never;
}

void test('an open shift is verified chunk by chunk: the report advances, a segment not uploaded yet is awaited, a pass with nothing new hashes nothing, the closing chunk ends the follow', { timeout: 120_000 }, async () => {
  const s = svc!;
  const cs = contractChunks(a1);
  assert.ok(cs.length >= 4, `a signature per segment: ${cs.map((c) => c.name).join(', ')}`);
  const throughs: string[] = [];
  // Step 1: the first chunk and its segments (the camera uploads a segment after its seal).
  for (const f of cs[0]!.segments) await put(A, a1, f, segBytes(a1, f));
  await put(A, a1, `live/${cs[0]!.name}`, cs[0]!.bytes);
  await s.rescan();
  let l = await live(A, a1);
  const r = await report(A, a1);
  assert.equal(r.open, true);
  assert.equal(r.verdict, 'intact');
  assert.match(r.summary, /^intact, covered from start through .*, shift still open/);
  assert.equal(l.lines, Number(cs[0]!.name.slice(17, 25)));
  assert.ok(l.verifiedThrough, 'verified through a time');
  throughs.push(l.verifiedThrough!);
  // Step 2: the next chunk, its segment not uploaded yet: awaited, and T does not pass it.
  const c2 = cs.find((c, i) => i > 0 && c.segments.length > 0)!;
  for (const c of cs.slice(1, cs.indexOf(c2) + 1)) await put(A, a1, `live/${c.name}`, c.bytes);
  const hashedBefore = s.metrics.liveBytesHashed;
  await s.rescan();
  l = await live(A, a1);
  const seg = c2.segments[0]!;
  assert.deepEqual(l.segments.awaited, [seg]);
  assert.equal(s.metrics.liveBytesHashed, hashedBefore, 'nothing new to hash');
  const segStart = Date.parse(String(journalLines(a1).map(recOf).find((x) => x.file === seg)!.start));
  assert.ok(Date.parse(l.verifiedThrough!) <= segStart + 250, `${l.verifiedThrough} stops where ${seg} begins`);
  // The segment arrives: hashed once, T passes it.
  await put(A, a1, seg, segBytes(a1, seg));
  await s.rescan();
  l = await live(A, a1);
  assert.deepEqual(l.segments.awaited, []);
  assert.equal(s.metrics.liveBytesHashed - hashedBefore, segBytes(a1, seg).length, 'exactly the new segment hashed');
  assert.ok(Date.parse(l.verifiedThrough!) > Date.parse(throughs[0]!), 'verified-through advanced');
  throughs.push(l.verifiedThrough!);
  // A second pass with nothing new: no byte hashed, live.json unchanged.
  const hashedNow = s.metrics.liveBytesHashed;
  const version = l.updatedAt;
  await s.rescan();
  await s.rescan();
  assert.equal(s.metrics.liveBytesHashed, hashedNow, 'a second pass hashes nothing already verified');
  assert.equal((await live(A, a1)).updatedAt, version);
  // The rest, to the closing chunk (shift_end): every segment hashed once in all.
  for (const c of cs.slice(cs.indexOf(c2) + 1)) {
    for (const f of c.segments) await put(A, a1, f, segBytes(a1, f));
    await put(A, a1, `live/${c.name}`, c.bytes);
    await s.rescan();
    throughs.push((await live(A, a1)).verifiedThrough!);
  }
  l = await live(A, a1);
  assert.equal(l.open, false, 'the closing chunk holds shift_end');
  assert.deepEqual(l.problems, []);
  assert.equal(l.lines, journalLines(a1).length);
  const all = readdirSync(shifts.get(a1)!.dir).filter((f) => f.startsWith('seg-'));
  assert.equal(l.segments.verified, all.length);
  assert.equal(l.bytesHashed, all.reduce((n, f) => n + segBytes(a1, f).length, 0), 'each segment hashed exactly once');
  for (let i = 1; i < throughs.length; i++) assert.ok(Date.parse(throughs[i]!) >= Date.parse(throughs[i - 1]!), `never goes back: ${throughs.join(' ')}`);
  const metrics = readFileSync(join(dir, 'metrics-live1.prom'), 'utf8');
  assert.match(metrics, new RegExp(`bodycam_ingest_live_bytes_hashed_total\\{worker="live1"\\} ${s.metrics.liveBytesHashed}`));
  assert.match(metrics, /bodycam_ingest_live_chunks_total\{worker="live1"\} [1-9]/);
});

void test('an encrypted open shift verifies on its ciphertext, without central\'s key', { timeout: 60_000 }, async () => {
  const cs = contractChunks(e1);
  for (const c of cs) {
    for (const f of c.segments) await put(E, e1, f, segBytes(e1, f));
    await put(E, e1, `live/${c.name}`, c.bytes);
  }
  await svc!.rescan();
  const l = await live(E, e1);
  assert.deepEqual(l.problems, []);
  assert.ok(l.state.encrypted);
  assert.ok(Object.keys(l.state.segments).every((f) => f.endsWith('.ts.enc')), Object.keys(l.state.segments).join(', '));
  assert.equal(l.segments.verified, Object.keys(l.state.segments).length);
  assert.ok(l.verifiedThrough);
});

void test('a missing chunk, an edited line and a chunk signed by another camera are named in the report and alerted, not crashed on', { timeout: 60_000 }, async () => {
  const s = svc!;
  const cs = contractChunks(a2);
  assert.ok(cs.length >= 3);
  for (const f of cs[0]!.segments) await put(A, a2, f, segBytes(a2, f));
  await put(A, a2, `live/${cs[0]!.name}`, cs[0]!.bytes);
  // Chunk 3 without chunk 2: a gap in line numbers.
  await put(A, a2, `live/${cs[2]!.name}`, cs[2]!.bytes);
  await s.rescan();
  let r = await report(A, a2);
  assert.ok(r.reasons.some((x) => x.kind === 'chunk_gap' && x.where === cs[2]!.name), JSON.stringify(r.reasons));
  const gapAlert = await until('chunk_gap alert', () => alertMsgs.find((m) => m.kind === 'live_refused' && m.shiftId === a2), 10_000);
  assert.equal(gapAlert.deviceId, A);
  await s.rescan();
  assert.equal(alertMsgs.filter((m) => m.kind === 'live_refused' && m.shiftId === a2).length, 1, 'the same gap is alerted once');
  // Chunk 2 arrives with one line edited (a record's time moved by a second).
  const edited = cs[1]!.bytes.toString('utf8').replace(/"at":"([^"]+)"/, (_m, at: string) => `"at":"${new Date(Date.parse(at) + 1000).toISOString()}"`);
  await put(A, a2, `live/${cs[1]!.name}`, Buffer.from(edited));
  await s.rescan();
  const l = await live(A, a2);
  r = await report(A, a2);
  assert.equal(r.verdict, 'tampered');
  assert.equal(l.halted, true);
  assert.ok(l.problems.some((p) => ['chain_broken', 'signature_invalid'].includes(p.kind) && p.where.startsWith(cs[1]!.name)), JSON.stringify(l.problems));
  assert.equal(l.lines, Number(cs[0]!.name.slice(17, 25)), 'nothing of the edited chunk taken');
  await until('alert for the edited chunk', () => alertMsgs.filter((m) => m.kind === 'live_refused' && m.shiftId === a2).length === 2, 10_000);
  // E's chunk under A's prefix, as A's shift: verified against A's registered key.
  const foreign = contractChunks(e1)[0]!;
  await put(A, e1, `live/${foreign.name}`, foreign.bytes);
  await s.rescan();
  const f = await live(A, e1);
  assert.ok(f.problems.some((p) => p.kind === 'signature_other_key'), JSON.stringify(f.problems));
  assert.equal(f.lines, 0);
});

void test('a camera on duty: no delivery while RECORDING raises live_lagging, stopped heartbeats raise camera_dark, each once, naming the device, the shift and the verified-through time', { timeout: 120_000 }, async () => {
  const s = svc!;
  const a = await startCamera({ dataDir: join(dir, `data-${A}`), deviceId: A, board, broker, store, central: keys, policy: { heartbeatOnDutyS: 1 } });
  cams.push(a);
  await a.press('shift', { holdS: 2.2 });
  await a.waitFor((x) => x.state === 'RECORDING', 60_000, 'recording');
  const shift = (await a.status()).shiftId!;
  await until('ingest hears the camera on duty', () => s.onDutyShifts().some((x) => x.shiftId === shift), 30_000);
  // Nothing is uploaded for this shift: after darkAfterS (4 s) it lags.
  const lag = await until('live_lagging', async () => {
    await s.scanLive();
    return alertMsgs.find((m) => m.kind === 'live_lagging' && m.shiftId === shift);
  }, 30_000);
  assert.equal(lag.deviceId, A);
  assert.equal(lag.state, 'RECORDING');
  assert.equal(lag.verifiedThrough, null);
  // The camera dies (its own node process, SIGKILL): heartbeats stop.
  await a.kill('SIGKILL');
  const dark = await until('camera_dark', async () => {
    await s.scanLive();
    return alertMsgs.find((m) => m.kind === 'camera_dark' && m.shiftId === shift);
  }, 30_000);
  assert.equal(dark.deviceId, A);
  assert.equal(dark.format, 'bodycam-ingest-alert/1');
  assert.ok('verifiedThrough' in dark && typeof dark.lastHeartbeat === 'string' && (dark.silentS as number) >= 4, JSON.stringify(dark));
  for (let i = 0; i < 3; i++) await s.scanLive();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(alertMsgs.filter((m) => m.kind === 'camera_dark' && m.shiftId === shift).length, 1, 'one camera_dark per episode');
  assert.equal(alertMsgs.filter((m) => m.kind === 'live_lagging' && m.shiftId === shift).length, 1, 'one live_lagging per episode');
  assert.match(readFileSync(join(dir, 'metrics-live1.prom'), 'utf8'), /bodycam_ingest_live_alerts_total\{worker="live1",kind="camera_dark"\} 1/);
});
