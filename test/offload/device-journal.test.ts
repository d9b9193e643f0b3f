/**
 * The device journal is offloaded too, against a real Ceph RGW: after a provisioned agent's shift
 * is uploaded, a snapshot of the device journal's signed lines is in the bucket next to the
 * shifts, byte-identical to the local file's first N lines, verifiable on its own with `bodycam
 * verify`, recorded in the offload state and journaled; asking again never stores a snapshot twice.
 * (Ceph is heavy on the 2-core box: run this file alone.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startAgent, runCli, readJournal, cleanup, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startStore, getObject, versions, BUCKET, PREFIX, PART_BYTES, type Store } from './store.js';
import { loadDeviceJournalState } from '../../agent/offload/device-journal.js';
import type { OffloadStatus } from '../../agent/offload/extension.js';
import type { StatusSnapshot } from '../../agent/status.js';

const DEVICE = 'CAM-DEVJ';
const DJ = 'device-journal.jsonl';
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
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
    cleanup(`${d}-config.json`);
  }
});

async function keys(prefix: string): Promise<string[]> {
  const r = await store.operator.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Contents ?? []).map((c) => c.Key!).sort();
}

void test('after a shift upload the device journal snapshot is in the bucket: the local first N lines byte for byte, verifying intact on its own, recorded and journaled; asking again stores nothing twice', { timeout: 300_000 }, async () => {
  const dataDir = tempDataDir('bodycam-offload-devj-');
  dirs.push(dataDir);
  const p = await runCli(['provision', '--data-dir', dataDir, '--device-id', DEVICE]);
  assert.equal(p.code, 0, p.stderr);
  const pub = p.stdout.trim();
  const config = {
    deviceId: DEVICE,
    offload: {
      endpoint: store.ceph.endpoint, region: 'default', bucket: BUCKET, keyPrefix: PREFIX,
      credentialsFile: store.deviceCreds.get(DEVICE)!.file,
      partSizeMb: PART_BYTES / 1048576, retryInitialMs: 200, retryMaxMs: 2000, networkPollS: 1,
    },
  };
  // A first run that stops cleanly: its stop signs the device journal.
  const first = await startAgent({ dataDir, config });
  agents.push(first);
  await first.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'off duty');
  assert.equal(await first.stop(), 0, first.logs().slice(-3000));

  const a = await startAgent({ dataDir, config });
  agents.push(a);
  await a.press('shift', { holdS: 2.2 });
  await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 2, 60_000, 'two segments');
  const shiftId = (await a.status()).shiftId!;
  await a.press('shift', { holdS: 3.2 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY' || s.state === 'OFFLOADING', 30_000, 'shift end');
  await a.sim({ docked: true });
  await a.waitFor((s) => off(s).awaitingConfirmation.includes(shiftId), 120_000, 'shift uploaded');
  const s = await a.waitFor((x) => off(x).deviceJournal.uploadedThroughSeq !== null && !off(x).deviceJournal.due, 60_000, 'device journal snapshot uploaded');
  const dj = off(s).deviceJournal;

  // In the bucket next to the shifts, named by its seq range and head.
  const folder = `${PREFIX}/${DEVICE}/device-journal/`;
  assert.deepEqual(await keys(folder), [dj.lastKey]);
  const lastSeq = dj.uploadedThroughSeq!;
  const object = await getObject(store.operator, dj.lastKey!);
  const local = readFileSync(join(dataDir, DJ), 'utf8').split('\n').slice(0, -1);
  const firstN = local.slice(0, lastSeq + 1);
  assert.ok(object.equals(Buffer.from(firstN.map((l) => l + '\n').join(''))), `the object is the local journal's first ${lastSeq + 1} lines, byte for byte`);
  assert.equal(dj.lastKey, `${folder}${'0'.padStart(10, '0')}-${String(lastSeq).padStart(10, '0')}-${sha(firstN.at(-1)!).slice(0, 8)}.jsonl`);
  assert.equal((JSON.parse(firstN.at(-1)!) as { type: string }).type, 'signature', 'the snapshot ends at a signature');

  // The downloaded copy verifies on its own with the device's key.
  const copy = join(mkdtempSync(join(tmpdir(), 'bodycam-devj-dl-')), DJ);
  dirs.push(join(copy, '..'));
  writeFileSync(copy, object);
  const v = await runCli(['verify', copy, '--pubkey', pub]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^INTACT/);

  // Recorded in the offload state (seq range, sha256) and journaled as an offload record.
  const st = loadDeviceJournalState(dataDir);
  assert.equal(st.pending, undefined);
  assert.deepEqual(st.uploaded.map((u) => [u.firstSeq, u.lastSeq, u.sha256, u.key]), [[0, lastSeq, sha(object), dj.lastKey]]);
  await a.waitFor(() => readJournal(join(dataDir, DJ)).some((r) => r.type === 'offload' && r.event === 'device_journal_uploaded'), 10_000, 'offload record');
  const rec = readJournal(join(dataDir, DJ)).find((r) => r.type === 'offload' && r.event === 'device_journal_uploaded')!;
  assert.deepEqual([rec.object, rec.first_seq, rec.last_seq, rec.sha256, rec.bytes], [dj.lastKey, 0, lastSeq, sha(object), object.length]);

  // Asked again: a snapshot is only made of lines signed since the last one; none is stored twice.
  const again = await runCli(['offload', '--now', '--data-dir', dataDir]);
  assert.equal(again.code, 0, again.stderr);
  await a.waitFor((x) => !off(x).deviceJournal.due && !off(x).active, 60_000, 'second request done');
  const after = loadDeviceJournalState(dataDir).uploaded;
  const seqs = after.map((u) => u.lastSeq);
  assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y), 'every snapshot covers more than the one before');
  for (const [k, n] of await versions(store.operator, folder)) assert.equal(n, 1, `${k} stored once`);
  assert.deepEqual(await keys(folder), after.map((u) => u.key).sort());
});
