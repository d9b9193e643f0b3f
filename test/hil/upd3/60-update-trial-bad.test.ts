/**
 * Update sequence, boot 3: the bootloader took slot A, now holding 1.2.0, whose board config names
 * a camera this board lacks. The trial's self-test fails on the camera: the agent marks A bad
 * through RAUC (custom backend: no attempts left) and asks for the reboot, with nobody's help.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentProc } from '../../helpers/agent.js';
import { SLOT, bootStatus, raucStatus, rebootRequested, startUpdateAgent, updateOnly, updateRecords } from '../update-lib.js';

let agent: AgentProc | undefined;
after(async () => {
  await agent?.stop().catch(() => undefined);
});

void test('boot 3: slot A with 1.2.0 fails its self-test (camera), the agent marks it bad and reboots by itself', { skip: updateOnly, timeout: 400_000 }, async () => {
  assert.equal(SLOT, 'A');
  agent = await startUpdateAgent();
  await rebootRequested(agent, 300_000);
  const steps = updateRecords();
  const trial = steps.slice(steps.findLastIndex((x) => x.type === 'update_trial_started'));
  assert.deepEqual(trial.map((x) => x.type), ['update_trial_started', 'update_selftest', 'update_marked_bad', 'update_reboot']);
  assert.equal(trial[1]?.ok, false);
  assert.ok((trial[1]?.failed as Array<{ device: string }>).some((f) => f.device === 'camera'), 'the camera check failed');
  assert.equal(trial[0]?.version, '1.2.0');
  assert.equal(bootStatus(raucStatus(), 'A'), 'bad');
});
