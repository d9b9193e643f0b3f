/**
 * Central's policy outlives the agent: a signed `set_policy` delivered through the dock on a camera
 * without MQTT is saved in `<data-dir>/policy.json`, and after a SIGKILL of the agent and a
 * restart the next shift records under it. A damaged policy.json never stops the agent.
 * Real agent (sim board, real ffmpeg), real CLI for keys, signing and delivery.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, runCli, readJournal, shiftJournal, tempDataDir, cleanup, type AgentProc } from '../helpers/agent.js';
import { PolicyStore } from '../../agent/config/policy-store.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';

const DEV = 'cam-f1';
let root: string;
let dataDir: string;
let config: Record<string, unknown>;
let keyFile: string;
const agents: AgentProc[] = [];

before(async () => {
  root = tempDataDir('bodycam-dock-policy-');
  dataDir = join(root, 'data');
  const k = await runCli(['central', 'keygen', '--out', join(root, 'central')]);
  assert.equal(k.code, 0, k.stderr);
  keyFile = join(root, 'central', 'central-cmd.key.pem');
  // No `mqtt` section: the dock is the only way in.
  config = { deviceId: DEV, central: { commandPublicKey: join(root, 'central', 'central-cmd.pub.pem') } };
});
after(async () => {
  for (const a of agents) await a.kill('SIGKILL');
  cleanup(dataDir);
  cleanup(root);
});

async function start(dir = dataDir): Promise<AgentProc> {
  const a = await startAgent({ dataDir: dir, config });
  agents.push(a);
  return a;
}

/** Starts a shift and returns its `shift_start` record's policy. */
async function shiftStartPolicy(a: AgentProc): Promise<Record<string, number>> {
  await a.press('shift', { holdS: 2.2 });
  const s = await a.waitFor((x) => x.state === 'RECORDING', 60_000, 'recording');
  const start = shiftJournal(a.dataDir, s.shiftId!).find((r) => r.type === 'shift_start');
  assert.ok(start, 'shift_start journaled');
  return start.policy as Record<string, number>;
}

void test('set_policy through the dock (no MQTT) survives SIGKILL + restart: the next shift_start carries it and policy.json is valid', { timeout: 180_000 }, async () => {
  const a = await start();
  // Extensions start after the control socket answers.
  const s0 = await a.waitFor((x) => x.ext.commands !== undefined, 30_000, 'commands extension');
  assert.equal(s0.ext.telemetry, undefined, 'no telemetry extension on this camera');
  assert.ok(s0.ext.commands, 'the commands extension runs on central\'s key alone');

  const file = join(root, 'policy.cmd');
  const signed = await runCli(['central', 'sign', '--key', keyFile, '--device', DEV, '--type', 'set_policy', '--set', 'personalNeedsMaxS=600', '--ttl', '600', '--out', file]);
  assert.equal(signed.code, 0, signed.stderr);
  const id = /id ([0-9a-f]{32})/.exec(signed.stderr)?.[1];
  assert.ok(id, signed.stderr);
  const r = await runCli(['command', '--file', file, '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stdout + r.stderr + a.logs().slice(-3000));
  assert.match(r.stdout, /^accepted: set_policy/);

  const saved = new PolicyStore(dataDir).load(DEFAULT_POLICY);
  assert.equal(saved?.policy.personalNeedsMaxS, 600, 'saved before the command was answered');
  assert.equal(saved?.source, `command:${id}`);

  // The agent's own node process, no clean stop.
  await a.kill('SIGKILL');
  const b = await start();
  const dev = readJournal(join(dataDir, 'device-journal.jsonl'));
  const restored = dev.filter((x) => x.type === 'policy' && x.source === `persisted:command:${id}`);
  assert.equal(restored.length, 1, 'the restored policy is journaled once, with its origin');
  assert.equal((restored[0]!.policy as Record<string, number>).personalNeedsMaxS, 600);
  const p = await shiftStartPolicy(b);
  assert.equal(p.personalNeedsMaxS, 600, 'the new shift runs under central\'s policy');
  assert.equal(p.heartbeatOnDutyS, DEFAULT_POLICY.heartbeatOnDutyS, 'other fields unchanged');

  const onDisk = JSON.parse(readFileSync(join(dataDir, 'policy.json'), 'utf8')) as { policy: Record<string, number>; source: string; at: string };
  assert.equal(onDisk.policy.personalNeedsMaxS, 600);
  assert.ok(!Number.isNaN(Date.parse(onDisk.at)));
  assert.ok(new PolicyStore(dataDir).load(DEFAULT_POLICY), 'policy.json passes the policy parser');
  await b.stop();
});

void test('a truncated policy.json is logged and ignored: the agent starts and the next shift records under the configured policy', { timeout: 180_000 }, async () => {
  // A data dir of its own: the first test's agent left a shift open, which a restart resumes.
  const dir = join(root, 'data-corrupt');
  const store = new PolicyStore(dir);
  store.save({ ...DEFAULT_POLICY, personalNeedsMaxS: 300 }, 'command:test');
  writeFileSync(store.path, readFileSync(store.path, 'utf8').slice(0, 40));
  const c = await start(dir);
  assert.match(c.logs(), /persisted policy unreadable; ignored, the configured policy applies/);
  const p = await shiftStartPolicy(c);
  assert.equal(p.personalNeedsMaxS, DEFAULT_POLICY.personalNeedsMaxS);
  await c.stop();
});
