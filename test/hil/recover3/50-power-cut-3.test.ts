/**
 * Boot `recover3`, after power cut 3 (see test/hil/powercut.ts): shift B (encrypted at rest)
 * resumes, the cut is journaled and measured, shift B is ended and verifies intact with
 * central's key. Then the agent restarts in custody mode: duty starts by itself in period 1, and
 * this boot arms cut 4 mid-period (recover4 checks it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shiftJournal, type AgentProc } from '../../helpers/agent.js';
import { vmOnly } from '../lib.js';
import { CENTRAL_MADE_IN, CUSTODY_PERIOD_S, armCut, checkResumedAfterCut, custodyOf, dataDir, endShift, phaseDir, previousCut, shiftDirOf, startShiftAgent, verifyJson } from '../powercut.js';
import { join } from 'node:path';

const hold: { agent?: AgentProc } = {};
const central = join(phaseDir(CENTRAL_MADE_IN), 'central');

await test('cut 3 (shift B, encrypted): the next boot resumes the same shift and journals a power_loss gap bounded exactly by the encrypted media kept before the cut and the first media after it and covering the host\'s kill instant; media lost is finite', { skip: vmOnly, timeout: 240_000 }, async (t) => {
  await checkResumedAfterCut(t, { afterPhase: 'recover2', nthInShift: 1, central, hold });
});

await test("shift B, ended after its power cut, verifies intact with central's key: every segment decrypts, matches its plaintext hash and decodes to its journaled frame count", { skip: vmOnly, timeout: 300_000 }, async () => {
  const a = hold.agent;
  assert.ok(a, 'the agent runs');
  const { armed } = previousCut('recover2');
  try {
    await endShift(a);
  } finally {
    await a.stop();
    hold.agent = undefined;
  }
  const v = await verifyJson(shiftDirOf(armed.shiftId), central);
  console.log(`HIL: verify shift B: ${v.report.summary}; gaps ${JSON.stringify(v.report.totals.gapS)}`);
  assert.equal(v.code, 0, `verify: ${v.text}`);
  assert.equal(v.report.verdict, 'intact');
  assert.equal(v.report.encrypted, true);
  assert.equal(v.report.mediaChecked, v.report.totals.segments, 'every segment decrypted and decoded');
  assert.equal(v.report.timeline.filter((x) => x.kind === 'gap' && x.label === 'power_loss').length, 1, 'one power_loss gap');
});

await test(`custody duty (cut 4 follows): an agent started in custody mode goes on duty by itself in period 1 of ${CUSTODY_PERIOD_S} s and records`, { skip: vmOnly, timeout: 240_000 }, async () => {
  const shiftB = previousCut('recover2').armed.shiftId;
  const a = (hold.agent = await startShiftAgent({ custody: true }));
  // A sealed segment first: the cut then falls after journaled media (as for cuts 1–3).
  const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 1 && custodyOf(x)?.period === 1, 90_000, 'custody period 1 recording with a sealed segment');
  assert.ok(s.shiftId && s.shiftId !== shiftB, 'a new duty, not shift B');
  const start = shiftJournal(dataDir(), s.shiftId).find((r) => r.type === 'shift_start');
  assert.equal(start?.trigger, 'custody', 'the agent started duty itself');
  assert.equal(start?.period, 1, "the duty's first period");
  assert.equal(start?.continues, undefined, 'it continues no earlier period');
});

if (hold.agent) await armCut(hold.agent, 4, false);
