/**
 * Update sequence, boot 4: the bootloader skipped the bad slot A and booted B (1.1.0) again. The
 * agent finds its pending 1.2.0 update on the other slot and reports it rolled back.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentProc } from '../../helpers/agent.js';
import { waitFor } from '../lib.js';
import { SLOT, bootStatus, raucStatus, startUpdateAgent, updateOnly, updateRecords } from '../update-lib.js';

let agent: AgentProc | undefined;
after(async () => {
  await agent?.stop().catch(() => undefined);
});

void test('boot 4: the bootloader fell back to slot B by itself; the agent runs 1.1.0 and reports 1.2.0 rolled back', { skip: updateOnly, timeout: 300_000 }, async () => {
  assert.equal(SLOT, 'B');
  agent = await startUpdateAgent();
  const u = await waitFor(async () => {
    const x = (await agent!.status()).ext.update as { last?: { result?: string; version?: string; reason?: string }; bootedSlot?: string; version?: string };
    return x.last?.result === 'rolled_back' ? x : undefined;
  }, 120_000, 'rolled_back in status');
  assert.equal(u.bootedSlot, 'B');
  assert.equal(u.version, '1.1.0');
  assert.equal(u.last?.version, '1.2.0');
  assert.match(String(u.last?.reason), /self-test failed/);
  const rb = updateRecords().find((x) => x.type === 'update_rolled_back');
  assert.equal(rb?.failed_slot, 'A');
  assert.equal(rb?.booted_slot, 'B');
  const r = raucStatus();
  assert.equal(r.booted, 'B');
  assert.equal(bootStatus(r, 'A'), 'bad');
  assert.equal(bootStatus(r, 'B'), 'good');
});
