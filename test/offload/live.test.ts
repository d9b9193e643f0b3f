/**
 * Live offload end to end (docs/live-offload.md, issue 20), the real agent on the sim board and a
 * real Ceph RGW on an approved network (loopback): segments and signed journal chunks reach the
 * bucket while the shift records, within 2 × liveOffloadLagS; the end-of-shift offload then sends
 * only the rest (one version per key); a stopped gateway for ≥ 60 s does not touch the recording
 * and the backlog drains after, oldest first; a SIGKILLed agent re-sends no finished object; an
 * encrypted shift uploads its ciphertext.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { childrenOf } from '../helpers/proc.js';
import { startAgent, runCli, readJournal, shiftJournal, cleanup, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startStore, getObject, versions, BUCKET, PREFIX, PART_BYTES, type Store } from './store.js';
import type { OffloadStatus } from '../../agent/offload/extension.js';
import type { LiveOffloadStatus } from '../../agent/offload/types.js';
import type { StatusSnapshot } from '../../agent/status.js';
import type { JournalRecord } from '../../agent/evidence/journal.js';

const DEVICE = 'CAM-LIVE';
const LAG_S = 10;
const off = (s: StatusSnapshot): OffloadStatus => s.ext.offload as OffloadStatus;
const live = (s: StatusSnapshot): LiveOffloadStatus => off(s).live!;
let store: Store;
const agents: AgentProc[] = [];
const dirs: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Upload workers (forked `offload/worker.js`) whose parent is `pid`. */
const uploadWorkersOf = (pid: number): number[] => childrenOf(pid).filter((c) => c.cmd.includes('offload/worker.js')).map((c) => c.pid);

before(async () => {
  store = await startStore([DEVICE]);
});
after(async () => {
  for (const a of agents) await a.stop();
  await store?.stop();
  for (const d of dirs) {
    cleanup(d);
    cleanup(`${d}-config.json`);
  }
});

function config(extra: Record<string, unknown> = {}, policy: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    deviceId: DEVICE,
    policy: { liveOffloadLagS: LAG_S, checkpointS: 5, ...policy },
    offload: {
      endpoint: store.ceph.endpoint, region: 'default', bucket: BUCKET, keyPrefix: PREFIX,
      credentialsFile: store.deviceCreds.get(DEVICE)!.file,
      partSizeMb: PART_BYTES / 1048576, retryInitialMs: 200, retryMaxMs: 2000, networkPollS: 1,
      approvedNetworks: ['127.0.0.0/8'],
      ...extra,
    },
  };
}

/** A provisioned data dir (signed journals: chunks end on signatures). */
async function provisioned(prefix: string): Promise<string> {
  const d = tempDataDir(prefix);
  dirs.push(d);
  const r = await runCli(['provision', '--data-dir', d, '--device-id', DEVICE]);
  assert.equal(r.code, 0, r.stderr);
  return d;
}

async function start(dataDir: string, cfg: Record<string, unknown>): Promise<AgentProc> {
  const a = await startAgent({ dataDir, config: cfg });
  agents.push(a);
  return a;
}

async function endShift(a: AgentProc): Promise<void> {
  await a.press('shift', { holdS: 3.2 });
  await a.press('shift');
  await a.waitFor((x) => x.state === 'OFF_DUTY' || x.state === 'OFFLOADING', 30_000, 'shift end');
}

/** Keys under the shift's prefix, with when each (first version) was stored. */
async function stored(prefix: string): Promise<Map<string, Date>> {
  const out = new Map<string, Date>();
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const r = await store.operator.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
    for (const v of r.Versions ?? []) {
      const prev = out.get(v.Key!);
      if (!prev || v.LastModified! < prev) out.set(v.Key!, v.LastModified!);
    }
    if (!r.IsTruncated) return out;
    keyMarker = r.NextKeyMarker;
    versionMarker = r.NextVersionIdMarker;
  }
}

const CHUNK = /live\/journal-(\d{8})-(\d{8})\.jsonl$/;

/** Every chunk: contiguous from line 1, each ending on a signature line, byte for byte the journal's lines. */
async function checkChunks(prefix: string, journalPath: string): Promise<number> {
  const keys = [...(await stored(prefix)).keys()].filter((k) => CHUNK.test(k)).sort();
  const lines = readFileSync(journalPath, 'utf8').split('\n').slice(0, -1);
  let next = 1;
  for (const k of keys) {
    const [, a, b] = CHUNK.exec(k)!;
    const from = Number(a);
    const to = Number(b);
    assert.equal(from, next, `${k} starts where the previous chunk ended`);
    const body = (await getObject(store.operator, k)).toString('utf8');
    assert.equal(body, lines.slice(from - 1, to).map((l) => l + '\n').join(''), `${k} holds journal lines ${from}..${to} exactly as written`);
    assert.equal((JSON.parse(lines[to - 1]!) as JournalRecord).type, 'signature', `${k} ends on a signature line`);
    next = to + 1;
  }
  return keys.length;
}

function segmentsOf(j: JournalRecord[]): JournalRecord[] {
  return j.filter((r) => r.type === 'segment');
}

void test('a sim shift with live offload: segments and signed journal chunks reach the bucket while it records, within 2 × liveOffloadLagS; the shift end sends only the rest, one version per key', { timeout: 300_000 }, async () => {
  const dataDir = await provisioned('bodycam-live-');
  const a = await start(dataDir, config());
  await a.press('shift', { holdS: 2.2 });
  const s0 = await a.waitFor((s) => s.state === 'RECORDING', 60_000, 'recording');
  const shiftId = s0.shiftId!;
  const prefix = `${PREFIX}/${DEVICE}/${shiftId}/`;
  const shiftDir = join(dataDir, 'shifts', shiftId);
  // Record for a while; sample the bucket as it goes.
  const sealedAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  let chunksWhileRecording = 0;
  const until = Date.now() + 45_000;
  while (Date.now() < until) {
    for (const r of segmentsOf(shiftJournal(dataDir, shiftId))) if (!sealedAt.has(String(r.file))) sealedAt.set(String(r.file), Date.now());
    const keys = await stored(prefix);
    for (const k of keys.keys()) if (!seenAt.has(k)) seenAt.set(k, Date.now());
    chunksWhileRecording = [...keys.keys()].filter((k) => CHUNK.test(k)).length;
    await sleep(1000);
  }
  const st = await a.status();
  assert.equal(st.state, 'RECORDING');
  assert.ok(chunksWhileRecording >= 2, `journal chunks stored while recording (${chunksWhileRecording})`);
  const segsUp = [...seenAt.keys()].filter((k) => /seg-/.test(k));
  assert.ok(segsUp.length >= 5, `segments stored while recording (${segsUp.length})`);
  // Lag: every segment sealed more than 2 × lag ago is in the bucket.
  const lagLimitMs = 2 * LAG_S * 1000;
  for (const [file, t] of sealedAt) {
    if (Date.now() - t < lagLimitMs) continue;
    const seen = seenAt.get(prefix + file);
    assert.ok(seen !== undefined && seen - t <= lagLimitMs + 1500, `${file} stored within 2 × liveOffloadLagS of its seal (seen ${seen === undefined ? 'never' : `${(seen - t) / 1000} s`} after)`);
  }
  assert.ok(live(st).lagS <= 2 * LAG_S, `status lag ${live(st).lagS} s`);
  assert.ok(live(st).uploadedThrough !== null && live(st).journalUploadedThroughLine !== null, 'status says what is uploaded');
  await checkChunks(prefix, join(shiftDir, 'journal.jsonl'));

  await endShift(a);
  await a.waitFor((x) => off(x).awaitingConfirmation.includes(shiftId), 120_000, 'end-of-shift upload complete');
  for (const [k, n] of await versions(store.operator, prefix)) assert.equal(n, 1, `${k}: one version`);
  // The manifest's files are all there, byte for byte; the chunks still contiguous and signed.
  const m = JSON.parse((await getObject(store.operator, prefix + 'manifest.json')).toString('utf8')) as { files: Array<{ name: string }> };
  for (const f of m.files) assert.ok((await getObject(store.operator, prefix + f.name)).equals(readFileSync(join(shiftDir, f.name))), `${f.name} byte-identical`);
  const chunks = await checkChunks(prefix, join(shiftDir, 'journal.jsonl'));
  assert.ok(chunks >= chunksWhileRecording);
  const j = readJournal(join(dataDir, 'device-journal.jsonl')).concat(shiftJournal(dataDir, shiftId));
  const uploaded = j.find((r) => r.type === 'offload' && r.event === 'uploaded' && r.shift === shiftId)!;
  assert.ok(Number(uploaded.live_objects) >= segsUp.length, `the end-of-shift offload took over what went live (${String(uploaded.live_objects)})`);
  const liveEvents = shiftJournal(dataDir, shiftId).filter((r) => r.type === 'offload').map((r) => r.event);
  assert.deepEqual(liveEvents, ['live_started'], 'live offload journals sparingly: one record for the shift');
  const why = shiftJournal(dataDir, shiftId).filter((r) => r.type === 'signature').map((r) => r.why);
  assert.ok(why.includes('checkpoint'), 'checkpoint signatures while recording');
});

void test('the gateway stopped ≥ 60 s mid-shift: recording goes on without a gap, the backlog drains after, oldest first, one version per key', { timeout: 360_000 }, async () => {
  const dataDir = await provisioned('bodycam-live-link-');
  const a = await start(dataDir, config());
  await a.press('shift', { holdS: 2.2 });
  const s0 = await a.waitFor((s) => s.state === 'RECORDING' && live(s).uploadedThrough !== null, 60_000, 'recording, first live upload');
  const shiftId = s0.shiftId!;
  const prefix = `${PREFIX}/${DEVICE}/${shiftId}/`;
  await store.ceph.stopGateway();
  const downAt = Date.now();
  const before = new Set((await a.status()).segments ? segmentsOf(shiftJournal(dataDir, shiftId)).map((r) => String(r.file)) : []);
  await sleep(62_000);
  const during = await a.status();
  assert.equal(during.state, 'RECORDING');
  assert.ok(live(during).backlogSegments >= 10, `a backlog built up (${live(during).backlogSegments} segments)`);
  assert.ok(live(during).lagS >= 30, `status shows the lag (${live(during).lagS} s)`);
  await store.ceph.startGateway();
  const upAt = Date.now();
  // No bound on how fast (the worker runs at nice 19 on a shared machine): only that it drains.
  await a.waitFor((s) => live(s).backlogSegments <= 2, 240_000, 'backlog drained').catch(async (e: Error) => {
    throw new Error(`${e.message.split('\n')[0]}\nlive: ${JSON.stringify(live(await a.status()))}\n${a.logs().split('\n').filter((l) => /live|ceph|ECONN/.test(l)).slice(-40).join('\n')}`);
  });
  const keys = await stored(prefix);
  // Oldest first: the segments sealed during the outage were stored in journal order.
  const missed = segmentsOf(shiftJournal(dataDir, shiftId)).map((r) => String(r.file)).filter((f) => !before.has(f) && keys.has(prefix + f));
  const times = missed.map((f) => keys.get(prefix + f)!.getTime());
  assert.ok(missed.length >= 10, `segments of the outage stored after it (${missed.length})`);
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]! - 1000, `${missed[i]} stored after ${missed[i - 1]} (oldest first)`);
  assert.ok(times[0]! >= upAt - 2000, 'nothing was stored while the gateway was down');
  assert.ok(upAt - downAt >= 60_000);
  await endShift(a);
  await a.waitFor((x) => off(x).awaitingConfirmation.includes(shiftId), 180_000, 'end-of-shift upload complete');
  const j = shiftJournal(dataDir, shiftId);
  // The shift's first moments (shift_start → first frame) are an `encoder_start` gap in every shift.
  const gaps = j.filter((r) => r.type === 'gap' && Date.parse(String(r.end)) > Date.parse(String(segmentsOf(j)[0]!.end)));
  assert.deepEqual(gaps, [], 'no gap record after the first segment: recording unaffected by the outage');
  const runs = segmentsOf(j).map((r) => Number(r.run));
  assert.ok(runs.every((r) => r === runs[0]), 'one encoder run: the segment sequence is continuous');
  const ev = j.filter((r) => r.type === 'offload').map((r) => r.event);
  assert.deepEqual(ev, ['live_started', 'live_paused', 'live_resumed'].filter((e) => ev.includes(e)), `sparse live records: ${ev.join(', ')}`);
  for (const [k, n] of await versions(store.operator, prefix)) assert.equal(n, 1, `${k}: one version`);
  await checkChunks(prefix, join(dataDir, 'shifts', shiftId, 'journal.jsonl'));
});

void test('the agent’s node process SIGKILLed mid-upload and restarted: no finished object is sent again, live upload resumes', { timeout: 300_000 }, async () => {
  const dataDir = await provisioned('bodycam-live-kill-');
  // A bandwidth cap (above the recording's ~1.4 Mbit/s, so the backlog still drains) keeps uploads
  // in flight, so the kill lands mid-upload.
  const cfg = config({}, { liveOffloadMaxKbps: 4000 });
  const a = await start(dataDir, cfg);
  await a.press('shift', { holdS: 2.2 });
  const s0 = await a.waitFor((s) => s.state === 'RECORDING' && live(s).state === 'uploading' && live(s).uploadedThrough !== null, 90_000, 'live upload under way');
  const shiftId = s0.shiftId!;
  const prefix = `${PREFIX}/${DEVICE}/${shiftId}/`;
  const worker = live(s0).workerPid;
  assert.ok(worker);
  // Recording keeps priority: the live worker runs at nice 19 in the idle I/O class.
  const stat = readFileSync(`/proc/${worker}/stat`, 'utf8');
  assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]), 19, 'live worker niceness');
  const io = spawnSync('ionice', ['-p', String(worker)], { encoding: 'utf8' });
  if (io.status === 0) assert.match(io.stdout, /idle/, 'live worker I/O class');
  // Every upload worker the agent has at the kill: the batch seen above may have ended and another
  // begun since. Read before the kill (after it they belong to init).
  const workers = uploadWorkersOf(a.pid);
  await a.kill('SIGKILL');
  // The killed agent's workers finish the requests in flight and exit (README "Resume"): count
  // what is stored once they are gone, so that what comes after is the restarted agent's. (Under
  // systemd the same holds: the unit restarts only once its control group is empty.)
  for (let i = 0; i < 600 && workers.some((p) => existsSync(`/proc/${p}`)); i++) await sleep(100);
  const countBefore = (await versions(store.operator, prefix)).size;
  const b = await start(dataDir, cfg);
  await b.waitFor((s) => s.state === 'RECORDING', 60_000, 'recording after restart');
  await b.waitFor((s) => live(s).uploadedThrough !== null && live(s).backlogSegments <= 3, 240_000, 'live upload resumed').catch(async (e: Error) => {
    throw new Error(`${e.message.split('\n')[0]}\nlive: ${JSON.stringify(live(await b.status()))}\n${b.logs().split('\n').filter((l) => /live/.test(l)).slice(-30).join('\n')}`);
  });
  // The restarted agent's own uploads: segments it sealed after the restart reach the store.
  let countAfter = countBefore;
  for (let i = 0; i < 120 && countAfter <= countBefore; i++) {
    await sleep(1000);
    countAfter = (await versions(store.operator, prefix)).size;
  }
  assert.ok(countAfter > countBefore, `new objects after the restart (${countBefore} stored before it, ${countAfter} after)`);
  await endShift(b);
  await b.waitFor((x) => off(x).awaitingConfirmation.includes(shiftId), 180_000, 'end-of-shift upload complete');
  const twice = [...(await versions(store.operator, prefix))].filter(([, n]) => n !== 1);
  // On failure, what the killed agent's worker (its stdio is inherited, so its drain is in a's log)
  // and the restarted agent said about those objects.
  const said = (x: { logs(): string }): string => x.logs().split('\n').filter((l) => twice.some(([k]) => l.includes(k.split('/').at(-1)!)) || /went away|outcome is unknown|retrying|drain/.test(l)).slice(-40).join('\n');
  assert.deepEqual(twice, [], `objects stored more than once (never re-sent expected)\nkilled agent:\n${said(a)}\nrestarted agent:\n${said(b)}`);
  await checkChunks(prefix, join(dataDir, 'shifts', shiftId, 'journal.jsonl'));
});

void test('an encrypted shift uploads its ciphertext live, under the manifest’s names', { timeout: 300_000 }, async () => {
  const dataDir = await provisioned('bodycam-live-enc-');
  const keys = tempDataDir('bodycam-live-keys-');
  dirs.push(keys);
  const kg = await runCli(['keygen-central', '--out', keys]);
  assert.equal(kg.code, 0, kg.stderr);
  const a = await start(dataDir, { ...config(), encryption: { centralPublicKey: join(keys, 'central-x25519.pub.pem') } });
  await a.press('shift', { holdS: 2.2 });
  const s0 = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 3 && live(s).uploadedThrough !== null, 90_000, 'live upload of an encrypted shift');
  const shiftId = s0.shiftId!;
  const prefix = `${PREFIX}/${DEVICE}/${shiftId}/`;
  const shiftDir = join(dataDir, 'shifts', shiftId);
  const segKeys = [...(await stored(prefix)).keys()].filter((k) => /seg-/.test(k));
  assert.ok(segKeys.length >= 1 && segKeys.every((k) => k.endsWith('.enc')), `ciphertext names: ${segKeys.join(', ')}`);
  for (const k of segKeys) {
    const obj = await getObject(store.operator, k);
    assert.ok(obj.equals(readFileSync(join(shiftDir, k.slice(prefix.length)))), `${k}: the stored (encrypted) bytes`);
    assert.ok(!(obj[0] === 0x47 && obj[188] === 0x47 && obj[376] === 0x47), `${k} is not plaintext MPEG-TS`);
  }
  await endShift(a);
  await a.waitFor((x) => off(x).awaitingConfirmation.includes(shiftId), 120_000, 'end-of-shift upload complete');
  const m = JSON.parse((await getObject(store.operator, prefix + 'manifest.json')).toString('utf8')) as { files: Array<{ name: string }> };
  for (const k of segKeys) assert.ok(m.files.some((f) => prefix + f.name === k), `${k} is named in the manifest`);
  for (const [k, n] of await versions(store.operator, prefix)) assert.equal(n, 1, `${k}: one version`);
});
