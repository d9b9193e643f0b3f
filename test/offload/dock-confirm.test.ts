/**
 * The dock path without MQTT, end to end against a real Ceph RGW: a camera configured with
 * `central` and `offload` but no `mqtt` section takes central's signed commands through
 * `bodycam command --file` — `request_offload` uploads a closed shift, a `confirm_offload` naming
 * another manifest hash deletes nothing, and the one naming the stored manifest's hash frees the
 * shift's space on the camera. Keys and commands are made with `bodycam central keygen/sign`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startAgent, runCli, readJournal, cleanup, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startStore, getObject, BUCKET, PREFIX, PART_BYTES, type Store } from './store.js';
import { makeShift } from './fixtures.js';
import { loadReceipt } from '../../agent/offload/state.js';
import type { OffloadStatus } from '../../agent/offload/extension.js';
import type { StatusSnapshot } from '../../agent/status.js';

const DEVICE = 'CAM-DOCK';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const off = (s: StatusSnapshot): OffloadStatus => s.ext.offload as OffloadStatus;
let store: Store;
let root: string;
let agent: AgentProc | undefined;

before(async () => {
  store = await startStore([DEVICE]);
  root = tempDataDir('bodycam-dock-confirm-');
  const k = await runCli(['central', 'keygen', '--out', join(root, 'central')]);
  assert.equal(k.code, 0, k.stderr);
});
after(async () => {
  await agent?.stop();
  await store?.stop();
  if (root) cleanup(root);
});

/** `bodycam central sign` then `bodycam command --file` (the dock): exit code and printed result. */
async function dock(dataDir: string, type: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(root, `${type}-${Date.now()}.cmd`);
  const s = await runCli(['central', 'sign', '--key', join(root, 'central', 'central-cmd.key.pem'), '--device', DEVICE, '--type', type, ...args, '--ttl', '600', '--out', file]);
  assert.equal(s.code, 0, s.stderr);
  return runCli(['command', '--file', file, '--data-dir', dataDir]);
}

void test('without MQTT, central\'s signed confirm_offload through `bodycam command` deletes the uploaded shift; a wrong manifest hash deletes nothing', { timeout: 240_000 }, async () => {
  const dataDir = join(root, 'data');
  const f = await makeShift(dataDir, DEVICE, Date.UTC(2026, 10, 23, 8), { seconds: 6 });
  agent = await startAgent({
    dataDir,
    config: {
      deviceId: DEVICE,
      central: { commandPublicKey: join(root, 'central', 'central-cmd.pub.pem') },
      offload: {
        endpoint: store.ceph.endpoint, region: 'default', bucket: BUCKET, keyPrefix: PREFIX,
        credentialsFile: store.deviceCreds.get(DEVICE)!.file,
        partSizeMb: PART_BYTES / 1048576, retryInitialMs: 200, retryMaxMs: 2000, networkPollS: 1,
      },
    },
  });
  const a = agent;
  let s = await a.waitFor((x) => x.ext.commands !== undefined && off(x)?.queue.some((q) => q.shiftId === f.shiftId), 30_000, 'commands running, shift queued');
  assert.equal(s.ext.telemetry, undefined, 'no MQTT on this camera');

  // Central asks for the upload through the dock (the sim camera is not docked: it would wait).
  const req = await dock(dataDir, 'request_offload', '--shift', f.shiftId);
  assert.equal(req.code, 0, req.stdout + req.stderr);
  assert.match(req.stdout, /^accepted: request_offload/);
  s = await a.waitFor((x) => off(x).awaitingConfirmation.includes(f.shiftId), 120_000, 'upload complete');
  const manifestSha = off(s).queue.find((q) => q.shiftId === f.shiftId)!.manifestSha256!;
  // What central confirms is the hash of the manifest it holds.
  assert.equal(sha(await getObject(store.operator, `${PREFIX}/${DEVICE}/${f.shiftId}/manifest.json`)), manifestSha);

  const wrong = await dock(dataDir, 'confirm_offload', '--shift', f.shiftId, '--manifest', 'ab'.repeat(32));
  assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
  assert.match(wrong.stdout, /^refused: confirm_offload .*manifest hash mismatch.*REFUSAL_REJECTED/);
  assert.deepEqual(readdirSync(f.dir).sort(), f.files, 'nothing deleted on a wrong hash');

  const ok = await dock(dataDir, 'confirm_offload', '--shift', f.shiftId, '--manifest', manifestSha);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr + a.logs().slice(-3000));
  assert.match(ok.stdout, /^accepted: confirm_offload/);
  await a.waitFor(() => !existsSync(f.dir), 30_000, 'local copy deleted after the confirmation');
  assert.ok(loadReceipt(dataDir, f.shiftId)?.deletedAt, 'receipt records the deletion');

  const dev = readJournal(join(dataDir, 'device-journal.jsonl'));
  const cmds = dev.filter((r) => r.type === 'command');
  assert.deepEqual(cmds.map((r) => [r.command, r.accepted, r.via]), [
    ['request_offload', true, 'dock'], ['confirm_offload', false, 'dock'], ['confirm_offload', true, 'dock'],
  ]);
  assert.equal(cmds[2]!.manifest_sha256, manifestSha);
  const events = dev.filter((r) => r.type === 'offload' && r.shift === f.shiftId).map((r) => r.event);
  assert.deepEqual(events, ['started', 'uploaded', 'confirm_rejected', 'confirmed', 'deleted']);
});
