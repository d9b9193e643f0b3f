/**
 * Duty and wearer commands through the command verifier (agent/commands/commands.ts): valid ones
 * decode into typed actions; unsigned, expired, replayed, other-device and other-group ones are
 * refused — the same checks as every command (test/mqtt/commands.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI } from '../helpers/agent.js';
import { buildCommand, signCommand, verifyCommand, type Action, type RefusedCommand, type VerifyOptions } from '../../agent/commands/commands.js';
import { pb } from '../../agent/telemetry/proto.js';
import { parseCentralConfig } from '../../agent/commands/config.js';

const central = generateKeyPairSync('ed25519');
const NOW = Date.UTC(2026, 10, 30, 8, 0, 0);
const seen = new Set<string>();
const opts = (o: Partial<VerifyOptions> = {}): VerifyOptions => ({
  deviceId: 'cam-1', groupId: 'team-a', keys: [central.publicKey], nowMs: NOW, maxBytes: 4096, maxTtlMs: 86_400_000, clockSkewMs: 300_000, seen: (id) => seen.has(id), ...o,
});
const refused = (r: ReturnType<typeof verifyCommand>): RefusedCommand => {
  assert.equal(r.ok, false, `expected a refusal: ${JSON.stringify(r)}`);
  return r as RefusedCommand;
};
const DUTY: Action[] = [
  { type: 'start_duty' },
  { type: 'end_duty' },
  { type: 'schedule_duty', startMs: NOW + 60_000, endMs: NOW + 8 * 3600_000 },
  { type: 'assign_wearer', wearerId: 'W-17', name: 'Ana Ilves' },
];

void test('duty commands: each verifies into its typed action for this device', () => {
  for (const action of DUTY) {
    const v = verifyCommand(signCommand(buildCommand({ deviceId: 'cam-1', action, issuedAtMs: NOW }), central.privateKey), opts());
    assert.ok(v.ok, `${action.type}: ${JSON.stringify(v)}`);
    assert.deepEqual(v.action, action);
    assert.equal(v.groupId, undefined);
  }
});

void test('duty commands: a team command (group id, no device) applies to a device of that group', () => {
  for (const action of DUTY.slice(0, 3)) {
    const v = verifyCommand(signCommand(buildCommand({ deviceId: '', groupId: 'team-a', action, issuedAtMs: NOW }), central.privateKey), opts());
    assert.ok(v.ok, `${action.type}: ${JSON.stringify(v)}`);
    assert.equal(v.groupId, 'team-a');
  }
});

void test('duty commands refused: other group, no group configured, assign_wearer to a group, other device', () => {
  const team = (groupId: string, action: Action = { type: 'start_duty' }) => signCommand(buildCommand({ deviceId: '', groupId, action, issuedAtMs: NOW }), central.privateKey);
  assert.equal(refused(verifyCommand(team('team-b'), opts())).refusal, 'wrong_device');
  assert.equal(refused(verifyCommand(team('team-a'), opts({ groupId: undefined }))).refusal, 'wrong_device');
  const toGroup = refused(verifyCommand(team('team-a', DUTY[3]), opts()));
  assert.equal(toGroup.refusal, 'wrong_device');
  assert.match(toGroup.reason, /assign_wearer cannot be addressed to a group/);
  for (const action of DUTY) {
    assert.equal(refused(verifyCommand(signCommand(buildCommand({ deviceId: 'cam-2', action, issuedAtMs: NOW }), central.privateKey), opts())).refusal, 'wrong_device');
  }
});

void test('duty commands refused: unsigned, expired, replayed', () => {
  for (const action of DUTY) {
    const cmd = buildCommand({ deviceId: 'cam-1', action, issuedAtMs: NOW });
    assert.equal(refused(verifyCommand(pb.SignedCommand.encode({ command: pb.Command.encode(cmd).finish() }).finish(), opts())).refusal, 'unsigned');
    const old = buildCommand({ deviceId: 'cam-1', action, issuedAtMs: NOW - 600_000, ttlS: 60 });
    assert.equal(refused(verifyCommand(signCommand(old, central.privateKey), opts())).refusal, 'expired');
    const once = signCommand(cmd, central.privateKey);
    const first = verifyCommand(once, opts());
    assert.ok(first.ok);
    seen.add(first.id);
    assert.equal(refused(verifyCommand(once, opts())).refusal, 'replayed');
  }
});

void test('duty commands refused: bad arguments (window reversed or > 24 h, bad wearer id or name)', () => {
  const bad: Array<[Action, RegExp]> = [
    [{ type: 'schedule_duty', startMs: NOW + 2000, endMs: NOW + 1000 }, /not after/],
    [{ type: 'schedule_duty', startMs: NOW, endMs: NOW + 25 * 3600_000 }, /exceeds 24 h/],
    [{ type: 'assign_wearer', wearerId: 'W 17', name: 'Ana' }, /invalid wearer id/],
    [{ type: 'assign_wearer', wearerId: 'W-17', name: '' }, /printable/],
    [{ type: 'assign_wearer', wearerId: 'W-17', name: 'A\u0007na' }, /printable/],
  ];
  for (const [action, why] of bad) {
    const r = refused(verifyCommand(signCommand(buildCommand({ deviceId: 'cam-1', action, issuedAtMs: NOW }), central.privateKey), opts()));
    assert.equal(r.refusal, 'invalid_argument');
    assert.match(r.reason, why);
  }
});

void test('central config: groupId is parsed and a bad one reported', () => {
  const issues: Array<{ where: string; message: string }> = [];
  assert.equal(parseCentralConfig({ groupId: 'team-a' }, '/central', issues).groupId, 'team-a');
  assert.equal(issues.length, 0);
  const bad: Array<{ where: string; message: string }> = [];
  assert.equal(parseCentralConfig({ groupId: 'no spaces' }, '/central', bad).groupId, undefined);
  assert.deepEqual(bad.map((i) => i.where), ['/central/groupId']);
});

void test('bodycam central sign: a team schedule_duty (--group) and an assign_wearer (--device) verify on the camera into their actions; --group on assign_wearer and a non-ISO --start are usage errors (exit 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duty-sign-'));
  try {
    const bodycam = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.equal(bodycam('central', 'keygen', '--out', dir).status, 0);
    const pub = createPublicKey(readFileSync(join(dir, 'central-cmd.pub.pem')));
    const key = join(dir, 'central-cmd.key.pem');
    const now = Date.now();
    const start = new Date(now + 60_000).toISOString();
    const end = new Date(now + 8 * 3600_000).toISOString();
    let r = bodycam('central', 'sign', '--key', key, '--group', 'team-a', '--type', 'schedule_duty', '--start', start, '--end', end, '--out', join(dir, 'sched.bin'));
    assert.equal(r.status, 0, r.stderr);
    const v1 = verifyCommand(readFileSync(join(dir, 'sched.bin')), opts({ keys: [pub], nowMs: now, deviceId: 'cam-9' }));
    assert.ok(v1.ok, JSON.stringify(v1));
    assert.deepEqual(v1.action, { type: 'schedule_duty', startMs: Date.parse(start), endMs: Date.parse(end) });
    r = bodycam('central', 'sign', '--key', key, '--device', 'cam-9', '--type', 'assign_wearer', '--wearer', 'W-17', '--name', 'Ana Ilves', '--out', join(dir, 'wearer.bin'));
    assert.equal(r.status, 0, r.stderr);
    const v2 = verifyCommand(readFileSync(join(dir, 'wearer.bin')), opts({ keys: [pub], nowMs: now, deviceId: 'cam-9' }));
    assert.ok(v2.ok, JSON.stringify(v2));
    assert.deepEqual(v2.action, { type: 'assign_wearer', wearerId: 'W-17', name: 'Ana Ilves' });
    r = bodycam('central', 'sign', '--key', key, '--group', 'team-a', '--type', 'assign_wearer', '--wearer', 'W-17', '--name', 'A', '--out', join(dir, 'x.bin'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--group is only for start_duty, end_duty, schedule_duty/);
    r = bodycam('central', 'sign', '--key', key, '--device', 'cam-9', '--type', 'schedule_duty', '--start', 'tomorrow', '--end', end, '--out', join(dir, 'x.bin'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--start 'tomorrow' is not an ISO 8601 time/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
