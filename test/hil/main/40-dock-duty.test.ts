/**
 * Check-out and check-in on real kernel GPIO: the agent on qemu-hil (gpio-cdev) with the policy's
 * dock rules on; pulling the gpio-sim dock line low (camera taken off the dock) starts a shift
 * (`shift_start.trigger` dock), pulling it high again (docked) ends it (`shift_end.reason` dock)
 * once the MAX17048 in i2c-stub says the battery charges (CRATE > 0): a contact alone never ends
 * a shift (the refusal is checked on a fake clock, test/unit/duty-controller.test.ts).
 * (The verifier's view of the triggers is checked on sim, test/mqtt/duty-e2e.test.ts: the main
 * boot's time is tight under TCG.)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, shiftJournal, tempDataDir, type AgentProc } from '../../helpers/agent.js';
import { LINE, setMax17048, setPull, startAgentVm, vmOnly } from '../lib.js';

let agent: AgentProc | undefined;
after(async () => {
  await agent?.stop().catch(() => undefined);
  setPull(LINE.dock, false);
});

void test('gpio-sim dock line: undocking starts the shift (trigger dock, recording), docking ends it (reason dock)', { skip: vmOnly, timeout: 240_000 }, async () => {
  for (const l of [LINE.shift, LINE.privacy]) setPull(l, false);
  setMax17048({ percent: 80, voltageV: 3.85, ratePctH: -10 });
  setPull(LINE.dock, true);
  const dataDir = tempDataDir('hil-dock-');
  const p = await runCli(['provision', '--data-dir', dataDir]);
  assert.equal(p.code, 0, p.stderr);
  agent = await startAgentVm({
    board: 'qemu-hil',
    dataDir,
    config: { power: { intervalS: 1 }, policy: { encoderStallS: 20, dutyDockStart: 1, dutyDockEnd: 1, dockDebounceS: 0.3 } },
    env: { BODYCAM_LOG: 'info' },
  });
  await agent.waitFor((s) => s.docked === true && s.state === 'OFF_DUTY', 30_000, 'docked, off duty');
  setPull(LINE.dock, false);
  const s = await agent.waitFor((x) => x.state === 'RECORDING' && x.segments >= 1, 90_000, 'recording after the dock line went low');
  assert.equal(shiftJournal(dataDir, s.shiftId!)[0]?.trigger, 'dock');
  assert.equal((s.ext.duty as { startTrigger?: unknown }).startTrigger, 'dock');
  // Back on the dock: the contact, and the charger's current in the gauge (+20 %/h).
  setMax17048({ percent: 80, voltageV: 3.95, ratePctH: 20 });
  setPull(LINE.dock, true);
  await agent.waitFor((x) => x.state === 'OFF_DUTY', 60_000, 'off duty after the dock line went high and the battery charges');
  const dockEnd = shiftJournal(dataDir, s.shiftId!).find((r) => r.type === 'duty' && r.what === 'dock_end');
  assert.deepEqual({ dock: dockEnd?.dock, charging: dockEnd?.charging }, { dock: true, charging: true }, 'both signals journaled');
  assert.equal(shiftJournal(dataDir, s.shiftId!).find((r) => r.type === 'shift_end')?.reason, 'dock');
  assert.equal((await agent.status()).ext.duty?.startTrigger, null, 'off duty: no trigger');
});
