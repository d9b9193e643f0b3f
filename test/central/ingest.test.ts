/**
 * Central ingest end to end: real cameras (the agent on the light sim board) upload to a real Ceph
 * RGW and announce it over the real mosquitto with the shipped mTLS config and ACL; two
 * `bodycam central ingest` workers share the events, verify every shift and confirm it with no
 * manual step. Uploads made while no worker runs are found by the store listing; a shift tampered
 * in the bucket and one from an unregistered camera are refused, reported and alerted; a worker
 * SIGKILLed mid-verification loses nothing.
 * Budget: ≈ 45 s on an idle machine (one Ceph, one broker, three short shifts of the light sim board).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { cleanup, readJournal, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { centralKeys, lightBoard, type CentralKeys } from '../mqtt/fixtures.js';
import { startStore, getObject, versions, BUCKET, PREFIX, type Store } from '../offload/store.js';
import { ingestConfig, off, provision, recordShift, register, sleep, startCamera, startIngest, until, type IngestWorker } from './fleet.js';
import { readVerifiedObject, type IngestResult } from '../../central/ingest/service.js';
import { EvidenceStore } from '../../central/ingest/store.js';
import { loadIngestConfig } from '../../central/ingest/config.js';
import { createS3Client } from '../../agent/offload/s3.js';
import { createHash } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { pb } from '../../agent/telemetry/proto.js';

const A = 'CAM-A';
const B = 'CAM-B';
const X = 'CAM-X';
const C = 'CAM-C';
let dir: string;
let store: Store;
let broker: Broker;
let keys: CentralKeys;
let commandKey: string;
let registryDir: string;
let board: string;
const cams = new Map<string, AgentProc>();
const workers: IngestWorker[] = [];
let alerts: MqttClient | undefined;
const alertMsgs: Array<Record<string, unknown>> = [];

before(async () => {
  dir = tempDataDir('bodycam-central-');
  [store, broker] = await Promise.all([startStore([A, B, X, C]), startMosquitto(join(dir, 'mqtt'))]);
  keys = centralKeys(dir);
  commandKey = join(dir, 'central-cmd.key.pem');
  writeFileSync(commandKey, keys.privatePem, { mode: 0o600 });
  board = lightBoard(dir);
  registryDir = join(dir, 'registry');
  mkdirSync(registryDir);
  for (const id of [A, B, X, C]) {
    const dataDir = join(dir, `data-${id}`);
    mkdirSync(dataDir);
    const pub = await provision(dataDir, id);
    // CAM-X is provisioned (it signs) but never registered at central.
    if (id !== X) register(registryDir, id, pub);
  }
  alerts = await broker.connect('central');
  alerts.on('message', (_t, p) => alertMsgs.push(JSON.parse(p.toString('utf8')) as Record<string, unknown>));
  await alerts.subscribeAsync('bodycam/v1/central/alert', { qos: 1 });
});

after(async () => {
  for (const w of workers) await w.stop().catch(() => undefined);
  for (const a of cams.values()) await a.stop().catch(() => undefined);
  alerts?.end(true);
  await broker?.stop();
  await store?.stop();
  if (dir) {
    cleanup(dir);
    for (const id of [A, B, X, C]) cleanup(join(dir, `data-${id}-config.json`));
  }
});

const camera = async (id: string): Promise<AgentProc> => {
  const a = await startCamera({ dataDir: join(dir, `data-${id}`), deviceId: id, board, broker, store, central: keys });
  cams.set(id, a);
  return a;
};

/** Records a shift, docks, and waits until the camera reports the upload complete. */
async function recordAndUpload(a: AgentProc): Promise<string> {
  const id = await recordShift(a);
  await a.sim({ docked: true });
  await until(`upload of ${id}`, () => offloadEvents(a, id).includes('uploaded'), 120_000, () => a.logs());
  return id;
}

const resultOf = async (dev: string, shift: string): Promise<IngestResult> =>
  JSON.parse((await getObject(store.operator, `ingest/${dev}/${shift}/result.json`)).toString('utf8')) as IngestResult;

const offloadEvents = (a: AgentProc, shift: string): string[] =>
  readJournal(join(a.dataDir, 'device-journal.jsonl')).filter((r) => r.type === 'offload' && r.shift === shift).map((r) => String(r.event));

const verifying = (w: IngestWorker, shift: string): number => w.lines.filter((l) => l.msg === 'shift verifying' && l.shift === shift).length;

const logs = (): string => workers.map((w) => `--- ${w.workerId}\n${w.text().slice(-3000)}`).join('\n');

void test('uploads made while ingest is down are found at start: a tampered shift and an unregistered camera are refused, reported and alerted, the cameras keep their copies; the shared subscription hands each event to exactly one worker', { timeout: 180_000 }, async () => {
  const [a, x] = await Promise.all([camera(A), camera(X)]);
  const [a1, x1] = await Promise.all([recordAndUpload(a), recordAndUpload(x)]);
  // An operator key overwrites a segment: a new version in the versioned, Object-Locked bucket.
  const segKey = `${PREFIX}/${A}/${a1}/seg-000002.ts`;
  const original = await getObject(store.operator, segKey);
  const forged = Buffer.from(original);
  const mid = forged.length >> 1;
  forged.writeUInt8(forged.readUInt8(mid) ^ 0xff, mid);
  await store.operator.send(new PutObjectCommand({ Bucket: BUCKET, Key: segKey, Body: forged }));

  for (const id of ['w1', 'w2']) {
    const metrics = join(dir, `metrics-${id}.prom`);
    workers.push(startIngest(ingestConfig({ dir, workerId: id, broker, store, registryDir, commandKey }), id, metrics));
  }
  const alertFor = (shift: string) => alertMsgs.find((m) => m.shiftId === shift);
  const tamperAlert = await until('alert for the tampered shift', () => alertFor(a1), 60_000, logs);
  const unknownAlert = await until('alert for the unregistered camera', () => alertFor(x1), 60_000, logs);

  assert.equal(tamperAlert.deviceId, A);
  const tReasons = tamperAlert.reasons as Array<{ kind: string; where: string }>;
  assert.ok(tReasons.some((r) => r.kind === 'object_sha256' && r.where === 'seg-000002.ts'), `manifest check names the overwritten object: ${JSON.stringify(tReasons)}`);
  assert.ok(tReasons.some((r) => r.kind === 'segment_hash' && r.where.startsWith('seg-000002.ts')), `the verifier names it too: ${JSON.stringify(tReasons)}`);
  const tResult = await resultOf(A, a1);
  assert.equal(tResult.verdict, 'refused');
  assert.equal(tResult.verifier?.verdict, 'tampered');
  const tReport = JSON.parse((await getObject(store.operator, `ingest/${A}/${a1}/report.json`)).toString('utf8')) as { report: { verdict: string; findings: Array<{ kind: string }> } };
  assert.equal(tReport.report.verdict, 'tampered');
  assert.match((await getObject(store.operator, `ingest/${A}/${a1}/timeline.html`)).toString('utf8'), /<html/i);

  assert.deepEqual((unknownAlert.reasons as Array<{ kind: string }>).map((r) => r.kind), ['unknown_device']);
  assert.equal((await resultOf(X, x1)).verdict, 'refused');

  // Nothing confirmed: both cameras still hold their shifts and still wait for a confirmation.
  for (const [cam, shift] of [[a, a1], [x, x1]] as const) {
    assert.ok(existsSync(join(cam.dataDir, 'shifts', shift)), `${shift} kept on the camera`);
    assert.deepEqual(offloadEvents(cam, shift), ['started', 'uploaded']);
    assert.ok(off(await cam.status()).awaitingConfirmation.includes(shift));
  }
  for (const shift of [a1, x1]) assert.ok(workers.reduce((n, w) => n + verifying(w, shift), 0) === 1, `${shift} verified once in all`);

  // The shared subscription splits events: six `uploaded` events (as CAM-A, for shifts whose upload
  // is not in the store) each reach exactly one worker, and both workers get some.
  for (const w of workers) assert.ok(w.lines.some((l) => l.msg === 'subscribed'), `${w.workerId} subscribed\n${w.text()}`);
  const cam = await broker.connect(A);
  const fakes = Array.from({ length: 6 }, (_, i) => `20261130T00000${i}Z-${A}`);
  for (const [i, shift] of fakes.entries()) {
    const line = JSON.stringify({ seq: 100 + i, type: 'offload', event: 'uploaded', shift, manifest_sha256: 'ab'.repeat(32) });
    const ev = pb.Event.encode({ seq: 1000 + i, deviceId: A, kind: pb.EventKind.EVENT_KIND_OFFLOAD, type: 'offload', at: new Date().toISOString(), journalLine: line }).finish();
    await cam.publishAsync(`bodycam/v1/${A}/event`, Buffer.from(ev), { qos: 1 });
  }
  cam.end(true);
  const heardBy = (w: IngestWorker): string[] => w.lines.filter((l) => l.msg === 'upload announced' && fakes.includes(String(l.shift))).map((l) => String(l.shift));
  await until('six announcements', () => workers.reduce((n, w) => n + heardBy(w).length, 0) >= 6, 20_000, logs);
  assert.deepEqual(workers.flatMap(heardBy).sort(), fakes, 'each event reached exactly one worker');
  for (const w of workers) assert.ok(heardBy(w).length >= 1, `${w.workerId} got a share: ${workers.map((x) => heardBy(x).length).join(', ')}`);
  await until('the announced shifts reported as waiting', () => workers.flatMap((w) => w.lines.filter((l) => l.msg === 'shift waiting' && fakes.includes(String(l.shift)))).length >= 6, 20_000, logs);
  await x.stop();
  cams.delete(X);
});

void test('two cameras\' shifts are verified and confirmed with no manual step, each camera deletes its copy; a worker SIGKILLed mid-verification loses nothing', { timeout: 180_000 }, async () => {
  const a = cams.get(A)!;
  const b = await camera(B);
  // The first worker that starts verifying B's shift is frozen there, checked, then SIGKILLed.
  let victim: IngestWorker | undefined;
  let b1 = '';
  const frozen = new Promise<void>((resolve) => {
    for (const w of workers) {
      w.onLine = (l) => {
        if (victim || !b1 || l.msg !== 'shift verifying' || l.shift !== b1) return;
        victim = w;
        w.child.kill('SIGSTOP');
        resolve();
      };
    }
  });
  // B's shift id is known as soon as it records; A records its second shift at the same time.
  const bDone = (async () => {
    b1 = await recordShift(b);
    await b.sim({ docked: true });
    return b1;
  })();
  const a2 = await recordAndUpload(a);
  await bDone;
  await until('a worker to start verifying the shift of CAM-B', () => victim !== undefined, 90_000, logs);
  await frozen;
  const prefixB = `ingest/${B}/${b1}/`;
  const resultAtFreeze = (await versions(store.operator, prefixB + 'result.json')).size > 0;
  assert.equal(resultAtFreeze, false, 'the worker was stopped before it decided');
  victim!.child.kill('SIGKILL');
  await victim!.exited;
  const survivor = workers.find((w) => w !== victim)!;

  // Both shifts are decided (a refusal here is the camera's own evidence failing `bodycam verify`: say why).
  for (const [dev, shift] of [[A, a2], [B, b1]] as const) {
    const key = `ingest/${dev}/${shift}/result.json`;
    await until(`a result for ${shift}`, async () => (await versions(store.operator, key)).size > 0, 90_000, logs);
    const r = await resultOf(dev, shift);
    assert.equal(r.verdict, 'verified', `${shift}: ${JSON.stringify(r.reasons)}`);
  }
  // Both cameras get their confirmation and delete their local copies.
  await until('CAM-A deletes its confirmed shift', () => !existsSync(join(a.dataDir, 'shifts', a2)), 90_000, logs);
  await until('CAM-B deletes its confirmed shift', () => !existsSync(join(b.dataDir, 'shifts', b1)), 90_000, logs);
  for (const [cam, dev, shift] of [[a, A, a2], [b, B, b1]] as const) {
    assert.deepEqual(offloadEvents(cam, shift), ['started', 'uploaded', 'confirmed', 'deleted'], `${shift}: confirmed once, then deleted`);
    const r = await resultOf(dev, shift);
    assert.equal(r.verdict, 'verified');
    assert.equal(r.verifier?.verdict, 'intact');
    const v = await versions(store.operator, `ingest/${dev}/${shift}/`);
    assert.equal(v.get(`ingest/${dev}/${shift}/result.json`), 1, `${shift}: one result, never rewritten`);
    assert.ok(v.has(`ingest/${dev}/${shift}/report.json`) && v.has(`ingest/${dev}/${shift}/timeline.html`) && v.has(`ingest/${dev}/${shift}/confirm.json`));
    for (const w of workers) assert.ok(verifying(w, shift) <= 1, `${w.workerId} verified ${shift} at most once`);
  }
  // An event never reaches two workers (one sent to the frozen worker is lost with it: the listing found that shift).
  for (const shift of [a2, b1]) {
    const heard = workers.map((w) => w.lines.filter((l) => l.msg === 'upload announced' && l.shift === shift).length);
    assert.ok(heard.reduce((x, y) => x + y, 0) <= 1, `${shift} announced to at most one worker: ${heard.join(', ')}`);
  }
  // The killed worker's claim was taken over by the survivor once it expired.
  assert.equal((await resultOf(B, b1)).worker, survivor.workerId);
  assert.equal(verifying(victim!, b1), 1);
  // The operator sees it: per-shift log lines and the metrics file.
  assert.ok(survivor.lines.some((l) => l.msg === 'shift verified' && l.shift === b1 && l.result === 'verified'));
  const prom = readFileSync(survivor.metricsFile, 'utf8');
  const verified = Number(/bodycam_ingest_shifts_total\{worker="[^"]+",result="verified"\} (\d+)/.exec(prom)?.[1]);
  assert.ok(verified >= 1, prom);
  assert.match(prom, /bodycam_ingest_verify_seconds_count\{worker="[^"]+"\} [1-9]/);
  // Nothing more was alerted than the two refusals of the first test.
  assert.equal(alertMsgs.length, 2, JSON.stringify(alertMsgs));

  // A single pass by a new worker (`--once`): every shift is found decided; nothing is verified again.
  const once = startIngest(ingestConfig({ dir, workerId: 'w3', broker, store, registryDir, commandKey }), 'w3', join(dir, 'metrics-w3.prom'), ['--once']);
  assert.equal(await once.exited, 0, once.text());
  const decided = once.lines.filter((l) => l.msg === 'shift already decided').map((l) => l.shift).sort();
  assert.equal(decided.length, 4, once.text());
  assert.ok(decided.includes(a2) && decided.includes(b1));
  assert.equal(once.lines.filter((l) => l.msg === 'shift verifying').length, 0);
});

void test('result.json pins every object it verified (VersionId, SHA-256); a version the camera writes after the verdict is never what is read as verified', { timeout: 60_000 }, async () => {
  // CAM-A's shifts were decided above; take the latest verified one.
  const decided = [...(await versions(store.operator, `ingest/${A}/`)).keys()].filter((k) => k.endsWith('/result.json')).sort();
  let ref: { deviceId: string; shiftId: string } | undefined;
  let result: IngestResult | undefined;
  for (const k of decided.reverse()) {
    const shiftId = k.split('/')[2]!;
    const r = await resultOf(A, shiftId);
    if (r.verdict === 'verified') {
      ref = { deviceId: A, shiftId };
      result = r;
      break;
    }
  }
  assert.ok(ref && result, 'a verified shift of CAM-A');
  const pins: IngestResult['versions'] = result.versions;
  const manifest = JSON.parse((await getObject(store.operator, `${PREFIX}/${A}/${ref.shiftId}/manifest.json`)).toString('utf8')) as { files: Array<{ name: string; sha256: string; bytes: number }> };
  assert.deepEqual(Object.keys(pins).sort(), [...manifest.files.map((f) => f.name), 'manifest.json'].sort());
  for (const f of manifest.files) {
    const pin = pins[f.name]!;
    assert.equal(pin.sha256, f.sha256, `${f.name}: the verified content is the manifest's`);
    assert.equal(pin.bytes, f.bytes);
    assert.match(pin.versionId, /\S/);
    assert.notEqual(pin.versionId, 'null', 'the evidence bucket is versioned (Object Lock)');
  }
  // The camera (its own write-only credentials) writes a new version of a segment after the verdict.
  const seg = manifest.files.find((f) => f.name.startsWith('seg-'))!.name;
  const creds = store.deviceCreds.get(A)!;
  const camS3 = createS3Client({ endpoint: store.ceph.endpoint, region: 'default', forcePathStyle: true, credentials: creds });
  const forged = Buffer.from('written after the verdict');
  await camS3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/${A}/${ref.shiftId}/${seg}`, Body: forged, ACL: 'bucket-owner-full-control' }));
  camS3.destroy();
  assert.deepEqual(await getObject(store.operator, `${PREFIX}/${A}/${ref.shiftId}/${seg}`), forged, 'the latest version is the new one');
  const es = new EvidenceStore(loadIngestConfig(ingestConfig({ dir, workerId: 'reader', broker, store, registryDir, commandKey })).s3);
  try {
    const bytes = await readVerifiedObject(es, ref, seg);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), pins[seg]!.sha256, 'read by the pinned version: the verified bytes');
    await assert.rejects(readVerifiedObject(es, ref, 'seg-999999.ts'), /not among the objects/);
  } finally {
    es.destroy();
  }
});

void test('a confirmation the camera missed for good (its broker session expired while it was off) is sent again once its heartbeat still lists the shift; the camera then confirms and deletes its copy', { timeout: 120_000 }, async () => {
  // No worker runs while CAM-C uploads: the shift waits undecided.
  for (const w of workers.splice(0)) await w.stop();
  // A one-second broker session: a command published while the camera is off is dropped, not queued.
  const opts = { dataDir: join(dir, `data-${C}`), deviceId: C, board, broker, store, central: keys, mqtt: { sessionExpiryS: 1 }, policy: { heartbeatOffDutyS: 1 } };
  let c = await startCamera(opts);
  cams.set(C, c);
  const c1 = await recordAndUpload(c);
  await c.kill('SIGKILL');
  await sleep(2500);
  const w = startIngest(ingestConfig({ dir, workerId: 'w5', broker, store, registryDir, commandKey }), 'w5', join(dir, 'metrics-w5.prom'));
  workers.push(w);
  const confirmKey = `ingest/${C}/${c1}/confirm.json`;
  await until('the first confirmation (lost: nobody listens)', async () => (await versions(store.operator, confirmKey)).size > 0, 60_000, logs);
  assert.equal((await resultOf(C, c1)).verdict, 'verified');

  c = await startCamera(opts);
  cams.set(C, c);
  assert.ok(off(await c.status()).awaitingConfirmation.includes(c1), 'the camera still waits for it');
  await until(`CAM-C deletes ${c1} after the confirmation is sent again`, () => !existsSync(join(c.dataDir, 'shifts', c1)), 60_000, () => `${logs()}\n--- camera\n${c.logs().slice(-3000)}`);
  assert.deepEqual(offloadEvents(c, c1), ['started', 'uploaded', 'confirmed', 'deleted']);
  assert.ok(w.lines.some((l) => l.msg.startsWith('confirm re-sent') && l.shift === c1 && l.resent === 1), w.text().slice(-3000));
  assert.equal((await versions(store.operator, confirmKey)).get(confirmKey), 2, 'confirm.json: the first confirmation and the one sent again');
  const last = JSON.parse((await getObject(store.operator, confirmKey)).toString('utf8')) as { resent?: number; manifestSha256: string };
  assert.equal(last.resent, 1);
  assert.equal(last.manifestSha256, (await resultOf(C, c1)).manifestSha256);
});
