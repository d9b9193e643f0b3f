/**
 * A new boot on the data disk whose power was cut mid-shift (see test/hil/powerloss-prepare.ts):
 * the agent recovers, resumes recording at once, journals the interval as a power-loss gap, and
 * `bodycam verify` accepts the shift once it is ended.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, shiftJournal, type AgentProc } from '../../helpers/agent.js';
import { LINE, RESULTS, startAgentVm, pressLine, setMax17048, setPull, sleep, vmOnly, waitFor, simValue } from '../lib.js';

const agents: AgentProc[] = [];
after(async () => {
  for (const a of agents) await a.stop().catch(() => undefined);
});

void test('after a hard power-off mid-shift the agent recovers, resumes, journals the gap as power loss, and verify accepts the shift', { skip: vmOnly, timeout: 240_000 }, async () => {
  const data = process.env.HIL_DATA;
  assert.ok(data, 'the ext4 data disk is mounted');
  const dataDir = join(data, 'bodycam');
  const before = JSON.parse(readFileSync(join(RESULTS, '..', 'main', 'powerloss-shift.json'), 'utf8')) as { shiftId: string; segmentsBefore: number };
  for (const l of [LINE.shift, LINE.privacy, LINE.dock]) setPull(l, false);
  setMax17048({ percent: 70, voltageV: 3.88, ratePctH: -10.4 });
  const a = await startAgentVm({ board: 'qemu-hil-sysfs', dataDir, config: { power: { intervalS: 1 }, policy: { encoderStallS: 20 } } });
  agents.push(a);
  const s = await a.waitFor((x) => x.state === 'RECORDING', 30_000, 'recording resumed after the power loss');
  assert.equal(s.shiftId, before.shiftId, 'the same shift goes on');
  await waitFor(() => simValue(LINE.led_rec), 10_000, 'led_rec on again');
  // The gap is journaled when media arrives again (then its end is known): wait for new segments.
  await a.waitFor((x) => x.segments >= s.segments + 2, 90_000, 'new segments after recovery');
  const j = shiftJournal(dataDir, before.shiftId);
  const rec = j.find((r) => r.type === 'recovery' && r.what === 'power_loss');
  assert.ok(rec, `recovery record with power_loss: ${j.map((r) => `${r.type}:${String(r.what ?? r.cause ?? '')}`).join(', ')}`);
  const gap = j.find((r) => r.type === 'gap' && r.cause === 'power_loss');
  assert.ok(gap, `the interval without media is journaled as a power_loss gap (${j.filter((r) => r.type === 'gap').map((r) => String(r.cause)).join(', ')})`);
  assert.ok(Date.parse(String(gap.end)) > Date.parse(String(gap.start)));
  // End the shift like the wearer, then check it offline.
  await pressLine(LINE.shift, 3500);
  await sleep(300);
  await pressLine(LINE.shift, 150);
  await a.waitFor((x) => x.state === 'OFF_DUTY', 60_000, 'shift ended');
  await a.stop();
  const v = await runCli(['verify', join(dataDir, 'shifts', before.shiftId), '--pubkey', join(dataDir, 'identity', 'device.pub.pem')], { timeoutMs: 120_000 });
  console.log(v.stdout);
  assert.equal(v.code, 0, `verify: ${v.stdout}${v.stderr}`);
});
