/**
 * Offload end to end with the real agent on the sim board and a real Ceph RGW: a recorded shift
 * uploads when the camera is docked; confirmation with the wrong hash deletes nothing; a legal
 * hold keeps the local copy after a valid confirmation; lifting it lets the deletion happen;
 * SIGKILL of the agent mid-upload, restart → resumes without re-sending finished parts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startAgent, runCli, readJournal, cleanup, alive, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startStore, getObject, versions, openUploads, openUploadBytes, BUCKET, PREFIX, PART_BYTES, type Store } from './store.js';
import { makeShift } from './fixtures.js';
import { setLegalHold } from '../../agent/evidence/legal-hold.js';
import { loadUploadState, loadReceipt } from '../../agent/offload/state.js';
import type { OffloadStatus } from '../../agent/offload/extension.js';
import type { Manifest } from '../../agent/offload/manifest.js';
import type { StatusSnapshot } from '../../agent/status.js';

const DEVICE = 'CAM-E2E';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const off = (s: StatusSnapshot): OffloadStatus => s.ext.offload as OffloadStatus;
let store: Store;
const agents: AgentProc[] = [];
const dirs: string[] = [];

before(async () => {
  store = await startStore([DEVICE]);
});
after(async () => {
  for (const a of agents) await a.stop();
  await store?.stop();
  for (const d of dirs) {
    cleanup(d);
    // startAgent writes the config object next to the data dir.
    cleanup(`${d}-config.json`);
  }
});

function config(extra: Record<string, unknown> = {}, policy: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    deviceId: DEVICE,
    policy,
    offload: {
      endpoint: store.ceph.endpoint, region: 'default', bucket: BUCKET, keyPrefix: PREFIX,
      credentialsFile: store.deviceCreds.get(DEVICE)!.file,
      partSizeMb: PART_BYTES / 1048576, retryInitialMs: 200, retryMaxMs: 2000, networkPollS: 1,
      ...extra,
    },
  };
}

async function start(dataDir: string, cfg: Record<string, unknown>): Promise<AgentProc> {
  const a = await startAgent({ dataDir, config: cfg });
  agents.push(a);
  return a;
}

async function cli(a: AgentProc, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(['offload', ...args, '--data-dir', a.dataDir]);
}

const offloadRecords = (dataDir: string, shiftId: string) =>
  readJournal(join(dataDir, 'device-journal.jsonl')).filter((r) => r.type === 'offload' && r.shift === shiftId);

void test('a recorded sim shift uploads once docked; wrong-hash confirmation and legal hold keep it; a valid confirmation deletes it', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('bodycam-offload-e2e-');
  dirs.push(dataDir);
  const a = await start(dataDir, config());
  await a.press('shift', { holdS: 2.2 });
  await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 3, 60_000, 'three segments');
  const shiftId = (await a.status()).shiftId!;
  await a.press('shift', { holdS: 3.2 });
  await a.press('shift');
  let s = await a.waitFor((x) => (x.state === 'OFF_DUTY' || x.state === 'OFFLOADING'), 30_000, 'shift end');
  // Closed, but the sim camera is not docked and no network is approved: it waits.
  s = await a.waitFor((x) => off(x)?.queue.some((q) => q.shiftId === shiftId), 10_000, 'queued');
  assert.equal(off(s).state, 'waiting');
  assert.equal(off(s).reason, 'not docked');
  assert.ok(off(s).pendingBytes > 0);
  const shown = await cli(a);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`${shiftId}\\s+pending`), 'bodycam offload shows the queue');

  await a.sim({ docked: true });
  s = await a.waitFor((x) => off(x).awaitingConfirmation.includes(shiftId), 120_000, 'upload complete');
  assert.equal(off(s).active, false);
  const entry = off(s).queue.find((q) => q.shiftId === shiftId)!;
  const manifestSha = entry.manifestSha256!;

  // The store holds exactly the shift dir's bytes, and the manifest hash is what the agent reports.
  const shiftDir = join(dataDir, 'shifts', shiftId);
  const prefix = `${PREFIX}/${DEVICE}/${shiftId}/`;
  const mbytes = await getObject(store.operator, prefix + 'manifest.json');
  assert.equal(sha(mbytes), manifestSha);
  const m = JSON.parse(mbytes.toString('utf8')) as Manifest;
  const local = readdirSync(shiftDir).sort();
  assert.deepEqual(m.files.map((f) => f.name), local);
  assert.ok(local.includes('journal.jsonl') && local.filter((f) => f.endsWith('.ts')).length >= 3);
  for (const f of local) assert.ok((await getObject(store.operator, prefix + f)).equals(readFileSync(join(shiftDir, f))), `${f} byte-identical`);
  for (const [k, n] of await versions(store.operator, prefix)) assert.equal(n, 1, `${k} once`);
  assert.equal(await openUploads(store.operator, prefix), 0);
  const recs = offloadRecords(dataDir, shiftId);
  assert.deepEqual(recs.map((r) => r.event), ['started', 'uploaded'], 'journaled in the device journal (off duty)');
  assert.equal(recs[1]!.manifest_sha256, manifestSha);

  // A confirmation naming another hash deletes nothing.
  const wrong = 'ab'.repeat(32);
  const w = await cli(a, '--confirm', shiftId, '--manifest-sha256', wrong);
  assert.equal(w.code, 1, w.stdout + w.stderr);
  assert.match(w.stdout, /REJECTED: manifest hash mismatch/);
  assert.deepEqual(readdirSync(shiftDir).sort(), local, 'nothing deleted');

  // Under legal hold a valid confirmation is recorded, but the local copy stays.
  setLegalHold(dataDir, shiftId, true, 'supervisor', 'CASE-42');
  const held = await cli(a, '--confirm', shiftId, '--manifest-sha256', manifestSha);
  assert.equal(held.code, 0, held.stdout + held.stderr);
  assert.match(held.stdout, /accepted: receipt confirmed; local copy kept: legal hold/);
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(readdirSync(shiftDir).sort(), local, 'legal hold blocks local deletion');

  // Hold lifted: the confirmed shift is deleted by the next check.
  setLegalHold(dataDir, shiftId, false, 'supervisor');
  await a.waitFor(() => !existsSync(shiftDir), 20_000, 'local deletion after the hold is lifted');
  const events = offloadRecords(dataDir, shiftId).map((r) => r.event);
  assert.deepEqual(events, ['started', 'uploaded', 'confirm_rejected', 'confirmed', 'delete_blocked', 'deleted']);
  assert.ok(loadReceipt(dataDir, shiftId)?.deletedAt);
  // The store still has it all (Object Lock; the device could not have deleted it anyway).
  assert.equal(sha(await getObject(store.operator, prefix + 'manifest.json')), manifestSha);
  s = await a.status();
  assert.ok(!off(s).queue.some((q) => q.shiftId === shiftId));
});

void test('SIGKILL of the agent mid-upload: the worker goes with it; restart resumes without re-sending finished parts', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('bodycam-offload-kill-');
  dirs.push(dataDir);
  const f = await makeShift(dataDir, DEVICE, Date.UTC(2026, 10, 20, 8), { seconds: 10 });
  // 1.2 Mbit/s: the shift takes several seconds, so the kill lands mid-part.
  const cfg = config({}, { offloadBandwidthKbps: 1200 });
  const a = await start(dataDir, cfg);
  const now = await cli(a, '--now');
  assert.equal(now.code, 0, now.stderr);
  const s = await a.waitFor((x) => (off(x).current?.bytesDone ?? 0) > f.bytes * 0.4, 60_000, '40 % uploaded');
  const workerPid = off(s).workerPid!;
  assert.ok(workerPid > 0 && alive(workerPid));
  await a.kill('SIGKILL');
  const until = Date.now() + 10_000;
  while (alive(workerPid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.ok(!alive(workerPid), 'the upload worker exits with the agent (no orphan upload)');
  const mid = loadUploadState(dataDir, f.shiftId)!;
  assert.ok(!mid.completedAt && mid.stats.partsSent > 0, `interrupted after ${mid.stats.partsSent} parts`);

  // Restart: the closed shift is found at start-up; --now because the sim camera is not docked.
  const b = await start(dataDir, config());
  const r = await cli(b, '--now');
  assert.equal(r.code, 0, r.stdout + r.stderr + b.logs().slice(-3000));
  await b.waitFor((x) => off(x).awaitingConfirmation.includes(f.shiftId), 120_000, 'upload complete after restart');
  const st = loadUploadState(dataDir, f.shiftId)!;
  const totalParts = f.files.reduce((n, file) => n + Math.max(1, Math.ceil(readFileSync(join(f.dir, file)).length / PART_BYTES)), 0) + 1;
  // A part is counted when the server acknowledged it; none may be acknowledged twice. Every part
  // was either sent or, taken by the server just before the kill, found by ListParts and reused.
  assert.ok(st.stats.partsSent <= totalParts, `parts sent ${st.stats.partsSent} for ${totalParts} parts: some were sent twice`);
  assert.ok(st.stats.partsSent + st.stats.partsReused >= totalParts, `sent ${st.stats.partsSent} + reused ${st.stats.partsReused} cover ${totalParts} parts`);
  assert.ok(st.stats.partsReused >= 1, 'the resume reused parts the server already had');
  assert.equal(st.stats.runs, 2);
  const prefix = `${PREFIX}/${DEVICE}/${f.shiftId}/`;
  for (const file of f.files) assert.ok((await getObject(store.operator, prefix + file)).equals(readFileSync(join(f.dir, file))), `${file} byte-identical`);
  const v = await versions(store.operator, prefix);
  assert.equal(v.size, f.files.length + 1);
  for (const [k, n] of v) assert.equal(n, 1, `${k} stored once`);
  assert.equal(await openUploadBytes(store.operator, prefix), 0, 'no part is left in an open upload');
  const events = offloadRecords(dataDir, f.shiftId).map((x) => [x.event, x.resumed]);
  assert.deepEqual(events, [['started', false], ['started', true], ['uploaded', undefined]]);
});

void test('automatic offload follows the dock: undocking pauses it (worker gone), docking again resumes and completes', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('bodycam-offload-dock-');
  dirs.push(dataDir);
  const f = await makeShift(dataDir, DEVICE, Date.UTC(2026, 10, 21, 8), { seconds: 10 });
  const a = await start(dataDir, config({}, { offloadBandwidthKbps: 1200 }));
  let s = await a.waitFor((x) => off(x)?.queue.some((q) => q.shiftId === f.shiftId), 10_000, 'found at start-up');
  assert.equal(off(s).state, 'waiting', 'closed shift found at start-up waits for the dock');
  assert.equal(off(s).active, false);
  await a.sim({ docked: true });
  s = await a.waitFor((x) => (off(x).current?.bytesDone ?? 0) > f.bytes * 0.25, 60_000, 'uploading while docked');
  assert.equal(off(s).active, true, 'status().active while uploading (the LED keys on it)');
  assert.ok(off(s).current!.bytesTotal >= f.bytes);
  const pid = off(s).workerPid!;
  // Low priority: the worker runs at nice 19 (field 19 of /proc/PID/stat), below the recording.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]), 19, 'upload worker is niced to 19');
  await a.sim({ docked: false });
  s = await a.waitFor((x) => !off(x).active, 15_000, 'paused after undocking');
  assert.equal(off(s).state, 'waiting');
  assert.equal(off(s).reason, 'not docked');
  const until = Date.now() + 10_000;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.ok(!alive(pid), 'the worker stopped');
  assert.ok(!loadUploadState(dataDir, f.shiftId)!.completedAt);
  await a.sim({ docked: true });
  await a.waitFor((x) => off(x).awaitingConfirmation.includes(f.shiftId), 120_000, 'complete after re-docking');
  const st = loadUploadState(dataDir, f.shiftId)!;
  assert.ok(st.stats.partsReused >= 1, 'the second run resumed from the server parts');
  const prefix = `${PREFIX}/${DEVICE}/${f.shiftId}/`;
  for (const file of f.files) assert.ok((await getObject(store.operator, prefix + file)).equals(readFileSync(join(f.dir, file))), `${file} byte-identical`);
  for (const [k, n] of await versions(store.operator, prefix)) assert.equal(n, 1, `${k} once`);
});

void test('SIGKILL of the agent mid-upload with one PutObject per file: restart sends only unfinished files; each stored once, byte-identical', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('bodycam-offload-killput-');
  dirs.push(dataDir);
  const f = await makeShift(dataDir, DEVICE, Date.UTC(2026, 10, 22, 8), { seconds: 10 });
  // Parts of 1 MiB: every file of the shift (~150 KB segments) is one PutObject. 1.2 Mbit/s: the
  // shift takes several seconds, so the kill lands with some files stored and some in flight.
  const a = await start(dataDir, config({ partSizeMb: 1 }, { offloadBandwidthKbps: 1200 }));
  const now = await cli(a, '--now');
  assert.equal(now.code, 0, now.stderr);
  const s = await a.waitFor((x) => (off(x).current?.bytesDone ?? 0) > f.bytes * 0.4, 60_000, '40 % uploaded');
  const workerPid = off(s).workerPid!;
  await a.kill('SIGKILL');
  const until = Date.now() + 10_000;
  while (alive(workerPid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.ok(!alive(workerPid), 'the upload worker exits with the agent (no orphan upload)');
  const mid = loadUploadState(dataDir, f.shiftId)!;
  const storedBefore = Object.entries(mid.files).filter(([, x]) => x.done).map(([n]) => n);
  assert.ok(!mid.completedAt && storedBefore.length >= 1 && storedBefore.length < f.files.length, `interrupted with ${storedBefore.length} of ${f.files.length} files stored`);

  const b = await start(dataDir, config({ partSizeMb: 1 }));
  const r = await cli(b, '--now');
  assert.equal(r.code, 0, r.stdout + r.stderr + b.logs().slice(-3000));
  await b.waitFor((x) => off(x).awaitingConfirmation.includes(f.shiftId), 120_000, 'upload complete after restart');
  const st = loadUploadState(dataDir, f.shiftId)!;
  // Every file (and the manifest) acknowledged by the store exactly once over both runs.
  assert.equal(st.stats.objectsPut, f.files.length + 1, `objects stored ${st.stats.objectsPut} for ${f.files.length + 1} files`);
  assert.equal(st.stats.putsRepeatedAfterUnknownOutcome, 0, 'no PutObject of unknown outcome was repeated');
  for (const n of storedBefore) assert.equal(st.files[n]!.versionId, mid.files[n]!.versionId, `${n}: not sent again after the restart`);
  assert.ok(Object.values(st.files).every((x) => x.put), 'no multipart upload was used');
  const prefix = `${PREFIX}/${DEVICE}/${f.shiftId}/`;
  for (const file of f.files) assert.ok((await getObject(store.operator, prefix + file)).equals(readFileSync(join(f.dir, file))), `${file} byte-identical`);
  const v = await versions(store.operator, prefix);
  assert.equal(v.size, f.files.length + 1);
  for (const [k, n] of v) assert.equal(n, 1, `${k} stored once`);
  assert.equal(await openUploads(store.operator, prefix), 0, 'no multipart upload was opened');
});

void test('offload in the background of the next shift: recording goes on without gaps; offload records land in the recording shift journal', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('bodycam-offload-bg-');
  dirs.push(dataDir);
  const f = await makeShift(dataDir, DEVICE, Date.UTC(2026, 10, 19, 8), { seconds: 8 });
  const a = await start(dataDir, config({}, { offloadBandwidthKbps: 2400 }));
  await a.press('shift', { holdS: 2.2 });
  let s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 1, 60_000, 'recording');
  const shiftId = s.shiftId!;
  await a.sim({ docked: true });
  s = await a.waitFor((x) => off(x).awaitingConfirmation.includes(f.shiftId), 120_000, 'previous shift uploaded during recording');
  assert.equal(s.state, 'RECORDING');
  const segsBefore = s.segments;
  await a.waitFor((x) => x.segments >= segsBefore + 2, 30_000, 'recording goes on');
  await a.press('shift', { holdS: 3.2 });
  await a.press('shift');
  await a.waitFor((x) => (x.state === 'OFF_DUTY' || x.state === 'OFFLOADING'), 30_000, 'shift end');
  const j = readJournal(join(dataDir, 'shifts', shiftId, 'journal.jsonl'));
  const gaps = j.filter((r) => r.type === 'gap' && r.cause !== 'encoder_start');
  assert.deepEqual(gaps, [], 'no gap in the recording while offloading');
  const off1 = j.filter((r) => r.type === 'offload' && r.shift === f.shiftId).map((r) => r.event);
  assert.deepEqual(off1, ['started', 'uploaded'], 'offload records of the old shift are in the recording shift journal');
  assert.ok(j.filter((r) => r.type === 'segment').length >= 3);
});

void test('encrypted media is uploaded as stored (ciphertext); central decrypts what it downloads with its key', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('bodycam-offload-enc-');
  dirs.push(dataDir);
  const keys = tempDataDir('bodycam-offload-keys-');
  dirs.push(keys);
  const kg = await runCli(['keygen-central', '--out', keys]);
  assert.equal(kg.code, 0, kg.stderr);
  const cfg = { ...config(), encryption: { centralPublicKey: join(keys, 'central-x25519.pub.pem') } };
  const a = await start(dataDir, cfg);
  await a.press('shift', { holdS: 2.2 });
  await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 2, 60_000, 'two segments');
  const shiftId = (await a.status()).shiftId!;
  await a.press('shift', { holdS: 3.2 });
  await a.press('shift');
  await a.waitFor((x) => (x.state === 'OFF_DUTY' || x.state === 'OFFLOADING'), 30_000, 'shift end');
  await a.sim({ docked: true });
  await a.waitFor((x) => off(x).awaitingConfirmation.includes(shiftId), 120_000, 'uploaded');
  const shiftDir = join(dataDir, 'shifts', shiftId);
  const prefix = `${PREFIX}/${DEVICE}/${shiftId}/`;
  const local = readdirSync(shiftDir).sort();
  const media = local.filter((f) => f.startsWith('seg-'));
  assert.ok(media.length >= 2 && media.every((f) => f.endsWith('.enc')), `media stored encrypted: ${media.join(', ')}`);
  const down = tempDataDir('bodycam-offload-down-');
  dirs.push(down);
  for (const f of local) {
    const obj = await getObject(store.operator, prefix + f);
    assert.ok(obj.equals(readFileSync(join(shiftDir, f))), `${f} byte-identical (ciphertext as stored)`);
    if (f.endsWith('.enc')) assert.ok(!(obj[0] === 0x47 && obj[188] === 0x47 && obj[376] === 0x47), `${f} is not plaintext MPEG-TS`);
    writeFileSync(join(down, f), obj);
  }
  const out = tempDataDir('bodycam-offload-plain-');
  dirs.push(out);
  const dec = await runCli(['decrypt', down, '--key', join(keys, 'central-x25519.key.pem'), '--out', out]);
  assert.equal(dec.code, 0, dec.stdout + dec.stderr);
  const plain = readdirSync(out).filter((f) => f.endsWith('.ts'));
  assert.equal(plain.length, media.length, 'central decrypts every uploaded segment');
  for (const f of plain) assert.equal(readFileSync(join(out, f))[0], 0x47, `${f} decrypts to MPEG-TS`);
});

void test('on an approved network (here: the loopback interface) a closed shift found at start-up uploads undocked', { timeout: 120_000 }, async () => {
  const dataDir = tempDataDir('bodycam-offload-net-');
  dirs.push(dataDir);
  const older = await makeShift(dataDir, DEVICE, Date.UTC(2026, 10, 17, 8), { seconds: 2 });
  const newer = await makeShift(dataDir, DEVICE, Date.UTC(2026, 10, 18, 8), { seconds: 2 });
  const a = await start(dataDir, config({ approvedNetworks: ['lo', '192.0.2.0/24'] }));
  const s = await a.waitFor((x) => off(x).awaitingConfirmation.length === 2, 60_000, 'both uploaded');
  assert.equal(s.docked, false);
  assert.equal(off(s).approvedNetwork, true);
  const started = readJournal(join(dataDir, 'device-journal.jsonl')).filter((r) => r.type === 'offload' && r.event === 'started').map((r) => r.shift);
  assert.deepEqual(started, [older.shiftId, newer.shiftId], 'oldest shift first');
});

void test('a corrupt offload state file is reported by name; the agent records on and the other shifts still upload', { timeout: 120_000 }, async () => {
  const dataDir = tempDataDir('bodycam-offload-bad-');
  dirs.push(dataDir);
  const bad = await makeShift(dataDir, DEVICE, Date.UTC(2026, 10, 15, 8), { seconds: 2 });
  const good = await makeShift(dataDir, DEVICE, Date.UTC(2026, 10, 16, 8), { seconds: 2 });
  mkdirSync(join(dataDir, 'offload', bad.shiftId), { recursive: true });
  writeFileSync(join(dataDir, 'offload', bad.shiftId, 'upload.json'), '{"version": 1, "files": ');
  const a = await start(dataDir, config({ approvedNetworks: ['lo'] }));
  let s = await a.waitFor((x) => off(x).awaitingConfirmation.includes(good.shiftId), 60_000, 'the good shift uploaded');
  const entry = off(s).queue.find((q) => q.shiftId === bad.shiftId)!;
  assert.equal(entry.state, 'failed');
  assert.match(entry.error!, /offload\/.*\/upload\.json: unreadable offload state/, `error names the file: ${entry.error}`);
  await a.press('shift', { holdS: 2.2 });
  s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 1, 60_000, 'recording');
  assert.equal(s.state, 'RECORDING');
});
