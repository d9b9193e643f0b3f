/**
 * Signed commands through a real broker into a recording agent: valid commands applied, every
 * kind of bad command refused with its reason and journaled, a fuzz loop of malformed payloads
 * while the agent keeps recording, and the dock path (`bodycam central sign` + `bodycam command`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal, runCli, type AgentProc } from '../helpers/agent.js';
import { buildCommand, signCommand, type Action } from '../../agent/commands/commands.js';
import { pb, type CommandResult } from '../../agent/telemetry/proto.js';
import { Observer, mqttStage, agentConfig } from './fixtures.js';

let agent: AgentProc | undefined;
let obs: Observer | undefined;
const DEV = 'cam-c1';

const stage = mqttStage('mqtt-cmd-');

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const signed = (action: Action, o: { device?: string; issuedAtMs?: number; ttlS?: number; key?: string } = {}): Uint8Array =>
  signCommand(buildCommand({ deviceId: o.device ?? DEV, action, issuedAtMs: o.issuedAtMs ?? Date.now(), ttlS: o.ttlS ?? 120 }), o.key ?? stage.keys.privatePem);

/** Publishes on cmd and waits for the result that names this payload. */
async function send(payload: Uint8Array): Promise<CommandResult> {
  const d = sha(payload);
  const before = obs!.results().length;
  await obs!.publish('cmd', payload);
  return obs!.waitFor(() => obs!.results().slice(before).find((r) => r.payloadSha256 === d), 20_000, `result for ${d.slice(0, 12)}`);
}

function allJournals(dataDir: string) {
  const recs = existsSync(join(dataDir, 'device-journal.jsonl')) ? readJournal(join(dataDir, 'device-journal.jsonl')) : [];
  const shifts = join(dataDir, 'shifts');
  if (existsSync(shifts)) {
    for (const id of readdirSync(shifts)) recs.push(...readJournal(join(shifts, id, 'journal.jsonl')));
  }
  return recs;
}

void test('signed commands over MQTT: applied when valid, refused with a reason otherwise, all journaled; 1000 malformed payloads while recording', { timeout: 300_000 }, async () => {
  obs = await stage.observe(DEV);
  agent = await stage.startAgent({ config: agentConfig(stage.broker, DEV, { central: stage.keys }) });
  await agent.press('shift', { holdS: 2.2 });
  const s0 = await agent.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 30_000, 'recording');
  await agent.waitFor((s) => (s.ext.telemetry as { connected?: boolean } | undefined)?.connected === true, 20_000, 'connected');
  const shiftId = s0.shiftId!;

  // Valid commands.
  const pol = await send(signed({ type: 'set_policy', values: { personalNeedsMaxS: 600, heartbeatOnDutyS: 20 } }));
  assert.equal(pol.accepted, true, pol.reason);
  assert.equal(pol.refusal, pb.Refusal.REFUSAL_UNSPECIFIED);
  const hold = await send(signed({ type: 'legal_hold', shiftId, on: true, reference: 'case 42' }));
  assert.equal(hold.accepted, true, hold.reason);
  assert.ok(existsSync(join(agent.dataDir, 'holds', `${shiftId}.json`)), 'hold file written');
  const ident = await send(signed({ type: 'identify', seconds: 2 }));
  assert.equal(ident.accepted, true, ident.reason);
  // Offload is not configured in this agent: refused with the documented reason.
  const off = await send(signed({ type: 'request_offload', shiftId: undefined }));
  assert.equal(off.refusal, pb.Refusal.REFUSAL_UNAVAILABLE);
  assert.match(off.reason, /offload not available/);
  const conf = await send(signed({ type: 'confirm_offload', shiftId, manifestSha256: 'b'.repeat(64) }));
  assert.equal(conf.refusal, pb.Refusal.REFUSAL_UNAVAILABLE);
  // A policy a wearer could profit from is refused by the policy bounds.
  const bad = await send(signed({ type: 'set_policy', values: { personalNeedsMaxS: 7200 } }));
  assert.equal(bad.refusal, pb.Refusal.REFUSAL_INVALID_ARGUMENT);
  assert.match(bad.reason, /personalNeedsMaxS/);

  // Refusals.
  const valid = signed({ type: 'identify', seconds: 1 });
  assert.equal((await send(valid)).accepted, true);
  const cases: Array<[string, Uint8Array, number]> = [
    ['replayed', valid, pb.Refusal.REFUSAL_REPLAYED],
    ['unsigned', pb.SignedCommand.encode({ command: pb.Command.encode(buildCommand({ deviceId: DEV, action: { type: 'identify', seconds: 1 } })).finish() }).finish(), pb.Refusal.REFUSAL_UNSIGNED],
    ['wrongly signed', signed({ type: 'identify', seconds: 1 }, { key: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }), pb.Refusal.REFUSAL_BAD_SIGNATURE],
    ['other device', signed({ type: 'identify', seconds: 1 }, { device: 'cam-zz' }), pb.Refusal.REFUSAL_WRONG_DEVICE],
    ['expired', signed({ type: 'identify', seconds: 1 }, { issuedAtMs: Date.now() - 3_600_000, ttlS: 60 }), pb.Refusal.REFUSAL_EXPIRED],
    ['random bytes', randomBytes(200), pb.Refusal.REFUSAL_MALFORMED],
    ['truncated', valid.subarray(0, valid.length - 20), pb.Refusal.REFUSAL_MALFORMED],
    ['oversized', Buffer.concat([valid, randomBytes(8000)]), pb.Refusal.REFUSAL_TOO_LARGE],
  ];
  for (const [what, payload, code] of cases) {
    const r = await send(payload);
    assert.equal(r.accepted, false, what);
    assert.equal(r.refusal, code, `${what}: ${pb.Refusal[r.refusal]} ${r.reason}`);
    assert.ok(r.reason.length > 5, `${what} has a reason`);
  }

  // Fuzz: 1000 malformed payloads while recording.
  const segBefore = (await agent.status()).segments;
  const digests = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    let p: Buffer;
    switch (i % 4) {
      case 0: p = randomBytes(1 + (i % 700)); break;
      case 1: p = Buffer.from(valid.subarray(0, i % valid.length)); break;
      case 2: {
        p = Buffer.from(signed({ type: 'identify', seconds: 1 }));
        p[5 + (i % 40)]! ^= 0x10;
        break;
      }
      default: p = Buffer.concat([randomBytes(4), Buffer.from(`garbage ${i}`)]);
    }
    digests.add(sha(p));
    await obs.publish('cmd', p);
  }
  await obs.waitFor(() => obs!.results().filter((r) => digests.has(r.payloadSha256)).length >= digests.size, 120_000, `${digests.size} fuzz results`);
  const fuzzResults = obs.results().filter((r) => digests.has(r.payloadSha256));
  assert.equal(fuzzResults.filter((r) => r.accepted).length, 0, 'no malformed payload accepted');
  assert.ok(fuzzResults.every((r) => r.reason.length > 0 && r.refusal !== pb.Refusal.REFUSAL_UNSPECIFIED));
  const sAfter = await agent.waitFor((s) => s.segments >= segBefore + 2, 30_000, 'still recording after the fuzz');
  assert.equal(sAfter.state, 'RECORDING');
  assert.equal(sAfter.shiftId, shiftId);
  assert.equal(sAfter.encoderRunning, true);

  // Journal: every command, accepted or refused, with its reason; the policy change by command.
  const recs = allJournals(agent.dataDir);
  const cmds = recs.filter((r) => r.type === 'command');
  const expectedCount = 8 + cases.length + digests.size;
  assert.ok(cmds.length >= expectedCount, `${cmds.length} command records, expected ≥ ${expectedCount}`);
  assert.ok(cmds.every((c) => typeof c.accepted === 'boolean' && typeof c.reason === 'string' && typeof c.payload_sha256 === 'string'));
  const policy = recs.find((r) => r.type === 'policy' && String(r.source).startsWith('command:'));
  assert.ok(policy, 'policy change journaled with the command as source');
  assert.equal((policy!.policy as { personalNeedsMaxS: number }).personalNeedsMaxS, 600);
  const refusedNames = new Set(cmds.filter((c) => !c.accepted).map((c) => c.refusal));
  for (const n of ['replayed', 'unsigned', 'bad_signature', 'wrong_device', 'expired', 'malformed', 'too_large', 'unavailable', 'invalid_argument']) assert.ok(refusedNames.has(n), `journaled refusal ${n}`);
  // Command records also reached central as events.
  await obs.waitFor(() => obs!.events().filter((e) => e.type === 'command').length >= 10, 30_000, 'command events');
});

void test('dock path: `bodycam central keygen/sign` + `bodycam command --file`; a replay through the dock is refused', { timeout: 120_000 }, async () => {
  assert.ok(agent, 'runs after the MQTT test (same agent)');
  const kd = join(stage.dir, 'keys2');
  const r0 = await runCli(['central', 'keygen', '--out', kd]);
  assert.equal(r0.code, 0, r0.stderr);
  assert.ok(existsSync(join(kd, 'central-cmd.key.pem')) && existsSync(join(kd, 'central-cmd.pub.pem')));
  const keyFile = join(stage.dir, 'central-cmd.key.pem');
  writeFileSync(keyFile, stage.keys.privatePem, { mode: 0o600 });
  const file = join(stage.dir, 'identify.cmd');
  const r1 = await runCli(['central', 'sign', '--key', keyFile, '--device', DEV, '--type', 'identify', '--seconds', '3', '--ttl', '60', '--out', file]);
  assert.equal(r1.code, 0, r1.stderr);
  const r2 = await runCli(['command', '--file', file, '--data-dir', agent!.dataDir]);
  assert.equal(r2.code, 0, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /^accepted: identify/);
  const r3 = await runCli(['command', '--file', file, '--data-dir', agent!.dataDir]);
  assert.equal(r3.code, 1, 'a replay is refused');
  assert.match(r3.stdout, /refused: .*already received.*REFUSAL_REPLAYED/);
  // Signed with the freshly generated key, which this device does not trust.
  const other = join(stage.dir, 'other.cmd');
  assert.equal((await runCli(['central', 'sign', '--key', join(kd, 'central-cmd.key.pem'), '--device', DEV, '--type', 'legal_hold', '--shift', 'x', '--on', '--out', other])).code, 0);
  const r4 = await runCli(['command', '--file', other, '--data-dir', agent!.dataDir, '--json']);
  assert.equal(r4.code, 1);
  assert.equal(JSON.parse(r4.stdout).refusal, 'REFUSAL_BAD_SIGNATURE');
  // Usage errors are exit 2.
  assert.equal((await runCli(['central', 'sign', '--key', keyFile, '--device', DEV, '--type', 'reboot', '--out', '-'])).code, 2);
  assert.equal((await runCli(['command', '--data-dir', agent!.dataDir])).code, 2);
  const journal = readFileSync(join(agent!.dataDir, 'shifts', (await agent!.status()).shiftId!, 'journal.jsonl'), 'utf8');
  assert.match(journal, /"type":"command".*"via":"dock"/);
});

void test('`bodycam central publish` sends a signed command over MQTT and prints the result; `central watch` prints decoded telemetry', { timeout: 120_000 }, async () => {
  assert.ok(agent, 'runs after the MQTT test (same agent)');
  const c = stage.broker.pki.client('central');
  const tls = ['--url', stage.broker.url, '--ca', stage.broker.pki.ca, '--cert', c.cert, '--key', c.key];
  const keyFile = join(stage.dir, 'central-cmd.key.pem');
  const file = join(stage.dir, 'identify-mqtt.cmd');
  assert.equal((await runCli(['central', 'sign', '--key', keyFile, '--device', DEV, '--type', 'identify', '--seconds', '2', '--base64', '--out', file])).code, 0);
  const r = await runCli(['central', 'publish', ...tls, '--device', DEV, '--file', file, '--timeout', '20']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const res = JSON.parse(r.stdout) as { accepted: boolean; action: string; refusal: string };
  assert.equal(res.accepted, true);
  assert.equal(res.action, 'identify');
  const again = await runCli(['central', 'publish', ...tls, '--device', DEV, '--file', file, '--timeout', '20']);
  assert.equal(again.code, 1, 'the replay is refused');
  assert.equal((JSON.parse(again.stdout) as { refusal: string }).refusal, 'REFUSAL_REPLAYED');

  // watch: the retained status arrives at once; then the next heartbeat or event; --count ends it.
  const w = await runCli(['central', 'watch', ...tls, '--device', DEV, '--count', '2', '--timeout', '50']);
  assert.equal(w.code, 0, w.stderr);
  const lines = w.stdout.trim().split('\n').map((l) => JSON.parse(l) as { device: string; kind: string; message?: Record<string, unknown> });
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.device === DEV && l.message), w.stdout);
  const st = lines.find((l) => l.kind === 'status');
  assert.equal(st?.message?.presence, 'PRESENCE_ONLINE');
  // Without a certificate the CLI fails cleanly (exit 1, a message), it does not hang.
  const bad = await runCli(['central', 'watch', '--url', stage.broker.url, '--ca', stage.broker.pki.ca, '--count', '1', '--timeout', '5']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /cannot connect/);
});
