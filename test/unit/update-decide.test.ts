/**
 * The update room's pure decisions (agent/update/decide.ts): when a bundle may install, when the
 * new slot is marked good or bad, the downgrade rule; and the update_firmware command's checks
 * (agent/commands/commands.ts), which `bodycam central sign` shares.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI } from '../helpers/agent.js';
import { checkVersion, compareVersions, installGate, trialVerdict, type GateInput } from '../../agent/update/decide.js';
import { buildCommand, signCommand, verifyCommand, type RefusedCommand } from '../../agent/commands/commands.js';
import { parseRaucStatus } from '../../agent/update/rauc.js';
import { isUpdateError } from '../../agent/lib/errors.js';

const OK: GateInput = { shiftState: 'OFF_DUTY', docked: true, battery: { percent: 80, charging: true }, minBatteryPct: 50 };

void test('installGate: off duty, docked, charging and at the battery floor installs', () => {
  assert.deepEqual(installGate(OK), { go: true });
  assert.deepEqual(installGate({ ...OK, battery: { percent: 50, charging: true } }), { go: true });
  // An offload runs off duty: it is no shift to protect.
  assert.deepEqual(installGate({ ...OK, shiftState: 'OFFLOADING' }), { go: true });
  // A board without dock detect relies on the charger alone.
  assert.deepEqual(installGate({ ...OK, docked: null }), { go: true });
});

void test('installGate: every shift state waits for the shift end, whatever the power', () => {
  for (const shiftState of ['RECORDING', 'PAUSED', 'CLOSING', 'FAULT']) {
    const v = installGate({ ...OK, shiftState });
    assert.equal(v.go, false, shiftState);
    assert.equal(!v.go && v.wait, 'shift_active', shiftState);
  }
});

void test('installGate: undocked, not charging, below the floor or unknown battery waits, each with its reason', () => {
  const wait = (i: Partial<GateInput>): string | undefined => {
    const v = installGate({ ...OK, ...i });
    return v.go ? undefined : v.wait;
  };
  assert.equal(wait({ docked: false }), 'not_docked');
  assert.equal(wait({ battery: { percent: 90, charging: false } }), 'not_charging');
  assert.equal(wait({ battery: { percent: 49.9, charging: true } }), 'battery_low');
  assert.equal(wait({ battery: null }), 'battery_unknown');
  assert.equal(wait({ battery: { percent: NaN, charging: true } }), 'battery_low');
});

void test('checkVersion: upgrades pass, the same version never, a downgrade only when allowed', () => {
  assert.deepEqual(checkVersion('1.0.0', '1.1.0', false), { ok: true, kind: 'upgrade' });
  assert.deepEqual(checkVersion('1.9.0', '1.10.0', false), { ok: true, kind: 'upgrade' });
  assert.equal(checkVersion('1.1.0', '1.1.0', true).ok, false);
  assert.equal(checkVersion('1.1.0', '1.0.9', false).ok, false);
  assert.match((checkVersion('1.1.0', '1.0.9', false) as { reason: string }).reason, /allow_downgrade/);
  assert.deepEqual(checkVersion('1.1.0', '1.0.9', true), { ok: true, kind: 'downgrade' });
  assert.equal(checkVersion('1.0.0', 'latest', true).ok, false);
  // A release is newer than its own prerelease.
  assert.equal(compareVersions('2.0.0', '2.0.0-rc.1'), 1);
  assert.equal(compareVersions('2.0.0-rc.1', '1.9.9'), 1);
});

const TRIAL = { bootedSlot: 'B', installedSlot: 'B', selftestOk: true, ready: true, testSegmentSealed: true } as const;

void test('trialVerdict: good only with self-test, READY and a sealed test segment on the new slot', () => {
  assert.deepEqual(trialVerdict(TRIAL), { action: 'mark_good' });
  assert.deepEqual(trialVerdict({ ...TRIAL, ready: false }), { action: 'wait' });
  assert.deepEqual(trialVerdict({ ...TRIAL, selftestOk: undefined }), { action: 'wait' });
  assert.deepEqual(trialVerdict({ ...TRIAL, testSegmentSealed: undefined }), { action: 'wait' });
});

void test('trialVerdict: a failed self-test or test segment marks bad; another booted slot is a fallback', () => {
  assert.equal(trialVerdict({ ...TRIAL, selftestOk: false }).action, 'mark_bad');
  // A failure is final even before READY: waiting would only delay the rollback.
  assert.equal(trialVerdict({ ...TRIAL, selftestOk: false, ready: false }).action, 'mark_bad');
  assert.equal(trialVerdict({ ...TRIAL, testSegmentSealed: false }).action, 'mark_bad');
  assert.equal(trialVerdict({ ...TRIAL, bootedSlot: 'A' }).action, 'fell_back');
});

void test('parseRaucStatus: reads booted slot, primary and per-slot boot status; refuses non-JSON as an UpdateError', () => {
  const s = parseRaucStatus(JSON.stringify({
    compatible: 'bodycam', booted: 'A', boot_primary: 'rootfs.1',
    slots: [{ 'rootfs.0': { bootname: 'A', state: 'booted', boot_status: 'good' } }, { 'rootfs.1': { bootname: 'B', state: 'inactive', boot_status: 'good', slot_status: { bundle: { version: '1.1.0' } } } }],
  }));
  assert.equal(s.booted, 'A');
  assert.equal(s.bootPrimary, 'rootfs.1');
  assert.deepEqual(s.slots.map((x) => [x.name, x.bootname, x.bootStatus, x.bundleVersion]), [['rootfs.0', 'A', 'good', undefined], ['rootfs.1', 'B', 'good', '1.1.0']]);
  assert.throws(() => parseRaucStatus('Compatible: bodycam'), isUpdateError);
  assert.throws(() => parseRaucStatus('{"slots": []}'), (e) => isUpdateError(e) && e.step === 'status');
});

const central = generateKeyPairSync('ed25519');
const NOW = Date.UTC(2026, 11, 4, 8, 0, 0);
const SHA = 'a'.repeat(64);
const opts = { deviceId: 'cam-1', keys: [central.publicKey], nowMs: NOW, maxBytes: 4096, maxTtlMs: 86_400_000, clockSkewMs: 300_000, seen: () => false };

void test('update_firmware command: verifies into its action; a bad URL, hash or version is invalid_argument', () => {
  const action = { type: 'update_firmware', bundleUrl: 'https://updates.example/bodycam-1.2.0.raucb', bundleSha256: SHA, version: '1.2.0', allowDowngrade: false } as const;
  const v = verifyCommand(signCommand(buildCommand({ deviceId: 'cam-1', action, issuedAtMs: NOW }), central.privateKey), opts);
  assert.ok(v.ok, JSON.stringify(v));
  assert.deepEqual(v.action, action);
  for (const bad of [{ bundleUrl: 'ftp://x/b.raucb' }, { bundleSha256: 'ABC' }, { version: 'tuesday' }]) {
    const r = verifyCommand(signCommand(buildCommand({ deviceId: 'cam-1', action: { ...action, ...bad }, issuedAtMs: NOW }), central.privateKey), opts) as RefusedCommand;
    assert.equal(r.ok, false);
    assert.equal(r.refusal, 'invalid_argument', JSON.stringify(bad));
  }
});

void test('central sign: refuses an update_firmware the camera would refuse (exit 2, nothing written) and signs a valid one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bodycam-upd-'));
  try {
    const kg = spawnSync(process.execPath, [CLI, 'central', 'keygen', '--out', dir], { encoding: 'utf8' });
    assert.equal(kg.status, 0, kg.stderr);
    const sign = (...extra: string[]) => spawnSync(process.execPath, [CLI, 'central', 'sign', '--key', join(dir, 'central-cmd.key.pem'), '--device', 'cam-1', '--type', 'update_firmware', '--out', join(dir, 'cmd.bin'), ...extra], { encoding: 'utf8' });
    const bad = sign('--url', 'https://u/b.raucb', '--sha256', 'xyz', '--version', '1.2.0');
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /bundle_sha256/);
    assert.equal(existsSync(join(dir, 'cmd.bin')), false);
    const good = sign('--url', 'https://u/b.raucb', '--sha256', SHA, '--version', '1.2.0', '--allow-downgrade');
    assert.equal(good.status, 0, good.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
