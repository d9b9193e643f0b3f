/**
 * Update sequence, boot 1 (slot A, factory 1.0.0), with the real Debian `rauc service` in the VM:
 * a bundle signed by a CA outside the image's keyring is refused by RAUC and nothing is written;
 * then, off duty, docked and charging, `bodycam update` installs 1.1.0 into slot B, RAUC's custom
 * backend makes B the bootloader's primary, and the agent asks for the reboot.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { runCli, type AgentProc } from '../../helpers/agent.js';
import { BUNDLES, DATA, REBOOT_MARK, SLOT, raucStatus, rebootRequested, startUpdateAgent, updateOnly, updateRecords } from '../update-lib.js';

let agent: AgentProc | undefined;
after(async () => {
  await agent?.stop().catch(() => undefined);
});

void test('boot 1: the bootloader booted slot A and RAUC says so (rauc.slot=A, custom backend)', { skip: updateOnly }, () => {
  assert.equal(SLOT, 'A');
  const r = raucStatus();
  assert.equal(r.booted, 'A');
  assert.equal(r.boot_primary, 'rootfs.0');
});

void test('a bundle signed by a key outside the keyring is refused by RAUC: journaled, nothing installed, no reboot', { skip: updateOnly, timeout: 300_000 }, async () => {
  agent = await startUpdateAgent();
  const s = await agent.status();
  assert.equal(s.firmware, '1.0.0');
  assert.equal((s.ext.update as { bootedSlot?: unknown }).bootedSlot, 'A');
  const r = await runCli(['update', join(BUNDLES, 'bodycam-1.3.0.raucb'), '--data-dir', DATA], { timeoutMs: 240_000 });
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /refused: .*signature verification failed/);
  const refused = updateRecords().find((x) => x.type === 'update_refused');
  assert.ok(refused, 'update_refused journaled in the device journal');
  assert.match(String(refused.reason), /signature verification failed/);
  assert.equal(raucStatus().boot_primary, 'rootfs.0', 'the bootloader still boots A');
  assert.equal(existsSync(REBOOT_MARK), false);
  assert.equal(((await agent.status()).ext.update as { last?: { result?: unknown } }).last?.result, 'refused');
});

void test('off duty, docked and charging: bodycam update installs 1.1.0 into slot B, journals each step and asks for the reboot', { skip: updateOnly, timeout: 400_000 }, async () => {
  agent ??= await startUpdateAgent();
  const r = await runCli(['update', join(BUNDLES, 'bodycam-1.1.0.raucb'), '--data-dir', DATA], { timeoutMs: 240_000 });
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  await rebootRequested(agent, 300_000);
  const steps = updateRecords().map((x) => x.type);
  const from = steps.lastIndexOf('update_requested');
  assert.deepEqual(steps.slice(from), ['update_requested', 'update_install_started', 'update_installed', 'update_reboot']);
  const installed = updateRecords().find((x) => x.type === 'update_installed');
  assert.equal(installed?.slot, 'B');
  assert.equal(installed?.version, '1.1.0');
  assert.equal(raucStatus().boot_primary, 'rootfs.1', 'RAUC made B the primary through the custom backend');
});
