/**
 * Boot `recover3`, after power cut 3 (see test/hil/powercut.ts): shift B (encrypted at rest)
 * resumes, the cut is journaled and measured, shift B is ended and verifies intact with
 * central's key. The last boot of the stage: it ends cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentProc } from '../../helpers/agent.js';
import { vmOnly } from '../lib.js';
import { CENTRAL_MADE_IN, checkResumedAfterCut, endShift, phaseDir, previousCut, shiftDirOf, verifyJson } from '../powercut.js';
import { join } from 'node:path';

const hold: { agent?: AgentProc } = {};
const central = join(phaseDir(CENTRAL_MADE_IN), 'central');

await test('cut 3 (shift B, encrypted): the next boot resumes the same shift and journals a power_loss gap bounded exactly by the encrypted media kept before the cut and the first media after it; media lost is finite', { skip: vmOnly, timeout: 240_000 }, async (t) => {
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
  }
  const v = await verifyJson(shiftDirOf(armed.shiftId), central);
  console.log(`HIL: verify shift B: ${v.report.summary}; gaps ${JSON.stringify(v.report.totals.gapS)}`);
  assert.equal(v.code, 0, `verify: ${v.text}`);
  assert.equal(v.report.verdict, 'intact');
  assert.equal(v.report.encrypted, true);
  assert.equal(v.report.mediaChecked, v.report.totals.segments, 'every segment decrypted and decoded');
  assert.equal(v.report.timeline.filter((x) => x.kind === 'gap' && x.label === 'power_loss').length, 1, 'one power_loss gap');
});

// No `after` hook: with awaited top-level tests it runs before the last test is done.
await hold.agent?.stop();
