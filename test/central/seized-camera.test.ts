/**
 * The seized camera (issue 20, docs/live-offload.md): a camera records with live offload on an
 * approved network (a real Ceph RGW on loopback, the real mosquitto), a central ingest worker
 * follows its open shift; mid-shift the agent's own node process is SIGKILLed — and with it every
 * process it started (ffmpeg, the upload worker), as a power cut or a seizure would — and its data
 * dir is deleted. What central holds must still prove the shift up to a few seconds before the
 * kill: ingest's live report says verified through T with T no earlier than the kill minus
 * (liveOffloadLagS + checkpointS), `bodycam verify` of what is in the bucket alone agrees, and a
 * `camera_dark` alert names the device.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { cleanup, runCli, startAgent, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { agentConfig, lightBoard } from '../mqtt/fixtures.js';
import { startStore, getObject, BUCKET, PREFIX, PART_BYTES, type Store } from '../offload/store.js';
import { centralWithCamera, ingestConfig, until } from './fleet.js';
import { IngestService } from '../../central/ingest/service.js';
import { loadIngestConfig } from '../../central/ingest/config.js';
import type { LiveRecord } from '../../central/ingest/live.js';
import type { MqttClient } from 'mqtt';

const D = 'CAM-SEIZED';
const LAG_S = 15;
const CHECKPOINT_S = 5;
// Above twice the camera's on-duty heartbeat interval (policy default 15 s): silence this long is
// not a heartbeat late under load.
const DARK_AFTER_S = 35;
let dir: string;
let store: Store;
let broker: Broker;
let svc: IngestService | undefined;
let alerts: MqttClient | undefined;
let cam: AgentProc | undefined;
const alertMsgs: Array<Record<string, unknown>> = [];

before(async () => {
  dir = tempDataDir('bodycam-seized-');
  [store, broker] = await Promise.all([startStore([D]), startMosquitto(join(dir, 'mqtt'))]);
});

after(async () => {
  await cam?.stop().catch(() => undefined);
  await svc?.stop().catch(() => undefined);
  await alerts?.endAsync().catch(() => undefined);
  await broker?.stop();
  await store?.stop();
  cleanup(dir);
});

/** Every descendant of `pid` (children first found, then theirs), from /proc. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parentOf.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parentOf) if (pp === p) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** The objects under `prefix` (operator's view), as key → bytes. */
async function download(prefix: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const r = await store.operator.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) out.set(o.Key!, await getObject(store.operator, o.Key!));
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

void test('seized camera: after SIGKILL and its data dir deleted mid-shift, ingest has verified the shift through T ≥ kill − (liveOffloadLagS + checkpointS), the bucket alone verifies as an intact open shift through the same T, and camera_dark names the device', { timeout: 300_000 }, async () => {
  const { keys, commandKey, registryDir, dataDir, pub } = await centralWithCamera(dir, D);
  const pubCopy = join(dir, 'device.pub.pem');
  writeFileSync(pubCopy, readFileSync(pub));

  const cfgPath = ingestConfig({ dir, workerId: 'seized1', broker, store, registryDir, commandKey, rescanS: 2 });
  writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), liveScanS: 2, darkAfterS: DARK_AFTER_S }, null, 2));
  svc = new IngestService(loadIngestConfig(cfgPath));
  await svc.start();
  alerts = await broker.connect('central');
  alerts.on('message', (_t, p) => alertMsgs.push(JSON.parse(p.toString('utf8')) as Record<string, unknown>));
  await alerts.subscribeAsync('bodycam/v1/central/alert', { qos: 1 });

  cam = await startAgent({
    dataDir, board: lightBoard(dir),
    config: {
      ...agentConfig(broker, D, { central: keys, policy: { liveOffloadLagS: LAG_S, checkpointS: CHECKPOINT_S, signEverySegments: 600 } }),
      offload: {
        endpoint: store.ceph.endpoint, region: 'default', bucket: BUCKET, keyPrefix: PREFIX,
        credentialsFile: store.deviceCreds.get(D)!.file,
        partSizeMb: PART_BYTES / 1048576, retryInitialMs: 200, retryMaxMs: 2000, networkPollS: 1,
        approvedNetworks: ['127.0.0.0/8'],
      },
    },
  });
  await cam.press('shift', { holdS: 2.2 });
  const rec = await cam.waitFor((s) => s.state === 'RECORDING' && s.shiftId !== null, 60_000, 'recording');
  const shiftId = rec.shiftId!;
  const liveKey = `ingest/${D}/${shiftId}/live.json`;
  const readLive = async (): Promise<LiveRecord | undefined> => {
    try {
      return JSON.parse((await getObject(store.operator, liveKey)).toString('utf8')) as LiveRecord;
    } catch {
      return undefined;
    }
  };
  // Central follows the open shift while it records: its verified-through advances.
  const first = await until('a first verified-through at central', async () => (await readLive())?.verifiedThrough ?? undefined, 120_000, () => cam!.logs());
  await until('verified-through advancing while recording', async () => {
    const l = await readLive();
    return l?.verifiedThrough && Date.parse(l.verifiedThrough) >= Date.parse(first) + 20_000 ? l : undefined;
  }, 120_000, () => cam!.logs());

  // The seizure: the agent's own node process and everything it started, then its evidence.
  assert.deepEqual(alertMsgs.filter((m) => m.deviceId === D), [], 'no alert while the camera recorded and delivered');
  const kids = descendants(cam.pid);
  const killedAt = Date.now();
  await cam.kill('SIGKILL');
  for (const k of kids) {
    try {
      process.kill(k, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
  assert.ok(!existsSync(dataDir));

  // Nothing more will arrive: let ingest take what is there, until two passes change nothing.
  let last = '';
  const settled = await until('ingest settled on what the bucket holds', async () => {
    await svc!.scanLive();
    const l = await readLive();
    const now = JSON.stringify([l?.lines, l?.verifiedThrough, l?.segments]);
    const same = now === last;
    last = now;
    return same ? l : undefined;
  }, 60_000);
  assert.ok(settled.verifiedThrough, 'verified through a time');
  const t = Date.parse(settled.verifiedThrough);
  const bound = killedAt - (LAG_S + CHECKPOINT_S) * 1000;
  console.log(`seized: killed at ${new Date(killedAt).toISOString()}, verified through ${settled.verifiedThrough} (${((killedAt - t) / 1000).toFixed(1)} s before the kill; bound ${LAG_S + CHECKPOINT_S} s); ${settled.lines} lines, ${settled.chunks} chunks, ${settled.segments.verified} segments`);
  assert.ok(t >= bound, `verified through ${settled.verifiedThrough}, earlier than the kill minus ${LAG_S + CHECKPOINT_S} s (${new Date(bound).toISOString()})`);
  assert.ok(t <= killedAt, 'nothing verified past the kill');
  assert.equal(settled.open, true, 'the shift is still open: no shift_end ever came');
  assert.deepEqual(settled.problems, [], 'every uploaded chunk continues the chain under valid signatures');
  assert.equal(settled.halted, false);
  assert.deepEqual(settled.segments.altered, [], 'every uploaded segment matches its journaled hash');
  assert.deepEqual(settled.segments.awaited, [], 'every segment the signed prefix names reached the bucket');
  const report = JSON.parse((await getObject(store.operator, `ingest/${D}/${shiftId}/report.json`)).toString('utf8')) as { open: boolean; verdict: string; verifiedThrough: string };
  assert.equal(report.open, true);
  assert.equal(report.verdict, 'intact');
  assert.equal(report.verifiedThrough, settled.verifiedThrough);

  // The bucket alone: the chunks joined into a journal and the segments beside it verify as an
  // intact open shift through the same T — every uploaded second, without the camera.
  const objects = await download(`${PREFIX}/${D}/${shiftId}/`);
  const copy = join(dir, 'from-bucket');
  mkdirSync(copy);
  const chunks = [...objects.keys()].filter((k) => /\/live\/journal-\d{8}-\d{8}\.jsonl$/.test(k)).sort();
  assert.equal(chunks.length, settled.chunks, 'ingest verified every chunk in the bucket');
  writeFileSync(join(copy, 'journal.jsonl'), Buffer.concat(chunks.map((k) => objects.get(k)!)));
  for (const [k, body] of objects) if (!k.includes('/live/')) writeFileSync(join(copy, k.slice(k.lastIndexOf('/') + 1)), body);
  const v = await runCli(['verify', copy, '--pubkey', pubCopy, '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const r = JSON.parse(v.stdout) as { verdict: string; open: boolean; verifiedThrough: string };
  assert.equal(r.verdict, 'intact');
  assert.equal(r.open, true);
  assert.equal(r.verifiedThrough, settled.verifiedThrough, 'bodycam verify and ingest agree on T');

  // Its heartbeats stopped while its shift is open: the camera went dark, and central says which.
  const dark = await until('camera_dark', () => alertMsgs.find((m) => m.kind === 'camera_dark' && m.deviceId === D), 60_000, () => JSON.stringify(alertMsgs));
  assert.equal(dark.shiftId, shiftId);
  assert.ok(Date.parse(String(dark.lastHeartbeat)) <= killedAt, `the alert names the last heartbeat before the kill (${String(dark.lastHeartbeat)})`);
  assert.equal(dark.verifiedThrough, settled.verifiedThrough, 'the alert says how far the evidence is verified');
  cam = undefined;
});
