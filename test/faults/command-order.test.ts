/**
 * Commands that cannot be reordered, on the real agent (sim board, real ffmpeg) through the dock
 * path (`bodycam command --file`, no broker): what central issued last wins, not what arrived
 * last; a late `end_duty` issued before the shift opened does not end it; and a command captured
 * on the wire is refused after the agent's node process was SIGKILLed and started again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, tempDataDir, cleanup, runCli, shiftJournal, type AgentProc } from '../helpers/agent.js';
import { buildCommand, signCommand, type Action } from '../../agent/commands/commands.js';

const DEV = 'cam-order';
let dir: string;
let dataDir: string;
let config: Record<string, unknown>;
let privatePem: string;
let agent: AgentProc | undefined;

before(async () => {
  dir = tempDataDir('cmd-order-');
  dataDir = join(dir, 'data');
  const kp = generateKeyPairSync('ed25519');
  const pub = join(dir, 'central.pub.pem');
  writeFileSync(pub, kp.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  privatePem = kp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  config = { deviceId: DEV, central: { commandPublicKey: pub } };
  const p = await runCli(['provision', '--data-dir', dataDir, '--device-id', DEV]);
  assert.equal(p.code, 0, p.stderr);
});
after(async () => {
  await agent?.kill('SIGKILL');
  cleanup(dir);
});

let n = 0;
const signed = (action: Action, issuedAtMs: number, ttlS = 600): Uint8Array => signCommand(buildCommand({ deviceId: DEV, action, issuedAtMs, ttlS }), privatePem);

/** Delivers a payload through the dock path; returns the agent's answer. */
async function deliver(payload: Uint8Array): Promise<{ accepted: boolean; reason: string; refusal?: string }> {
  const file = join(dir, `c${n++}.cmd`);
  writeFileSync(file, payload);
  const r = await runCli(['command', '--file', file, '--data-dir', dataDir, '--json']);
  const out = JSON.parse(r.stdout) as { accepted: boolean; reason: string; refusal?: string };
  return out;
}

/** The policy central set, as the agent keeps it across restarts. */
const policyInForce = (): Record<string, unknown> => (JSON.parse(readFileSync(join(dataDir, 'policy.json'), 'utf8')) as { policy: Record<string, unknown> }).policy;

async function start(): Promise<AgentProc> {
  agent = await startAgent({ dataDir, config });
  return agent;
}

test('set_policy delivered out of issue order: the older one is refused as superseded, the newer stays in force (also after a restart)', async () => {
  const a = await start();
  const t = Date.now();
  const newer = signed({ type: 'set_policy', values: { personalNeedsMaxS: 600 } }, t - 1000);
  const older = signed({ type: 'set_policy', values: { personalNeedsMaxS: 300 } }, t - 5000);
  assert.equal((await deliver(newer)).accepted, true);
  const late = await deliver(older);
  assert.equal(late.accepted, false, JSON.stringify(late));
  assert.match(late.reason, /superseded/);
  assert.equal(policyInForce().personalNeedsMaxS, 600, 'policy.json holds the newer policy');

  // The captured newer command, replayed after the agent's node process is SIGKILLed: refused.
  await a.kill('SIGKILL');
  const b = await start();
  const again = await deliver(newer);
  assert.equal(again.accepted, false);
  assert.match(again.reason, /already received/);
  const older2 = signed({ type: 'set_policy', values: { personalNeedsMaxS: 120 } }, t - 3000);
  const late2 = await deliver(older2);
  assert.equal(late2.accepted, false, 'the order survives the restart');
  assert.match(late2.reason, /superseded/);
  assert.equal(policyInForce().personalNeedsMaxS, 600);
  await b.stop();
  agent = undefined;
});

test('a late end_duty issued before the shift opened does not end it; one issued after does', async () => {
  const a = await start();
  const issuedBefore = Date.now() - 2000;
  assert.equal((await deliver(signed({ type: 'start_duty' }, Date.now()))).accepted, true);
  const s = await a.waitFor((x) => x.state === 'RECORDING', 30_000, 'recording after start_duty');
  const late = await deliver(signed({ type: 'end_duty' }, issuedBefore));
  assert.equal(late.accepted, false, JSON.stringify(late));
  assert.match(late.reason, /before this shift opened/);
  assert.equal((await a.status()).state, 'RECORDING');
  assert.equal((await deliver(signed({ type: 'end_duty' }, Date.now()))).accepted, true);
  await a.waitFor((x) => x.state === 'OFF_DUTY', 30_000, 'off duty after end_duty');
  const j = shiftJournal(dataDir, s.shiftId!);
  assert.ok(j.some((r) => r.type === 'command' && r.command === 'end_duty' && r.accepted === false), 'the refusal is journaled in the shift');
  assert.equal(j.find((r) => r.type === 'shift_end')?.reason, 'central');
  await a.stop();
  agent = undefined;
});
