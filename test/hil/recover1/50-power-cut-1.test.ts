/**
 * Boot `recover1`, after power cut 1 (see test/hil/powercut.ts): shift A (plain) resumes, the cut
 * is journaled and measured, and the still open shift verifies as far as an open shift can. Then
 * this boot arms cut 2 and the host cuts the power again.
 */
import { test } from 'node:test';
import type { AgentProc } from '../../helpers/agent.js';
import { vmOnly } from '../lib.js';
import { armCut, checkOpenShiftVerifies, checkResumedAfterCut, previousCut } from '../powercut.js';

const hold: { agent?: AgentProc } = {};

await test('cut 1 (shift A, plain): the next boot resumes the same shift and journals a power_loss gap bounded exactly by the media kept before the cut and the first media after it and covering the host\'s kill instant; media lost is finite', { skip: vmOnly, timeout: 240_000 }, async (t) => {
  await checkResumedAfterCut(t, { afterPhase: 'main', nthInShift: 1, hold });
});

await test('cut 1: verify finds the still open shift untampered and signed past its power_loss gap: a snapshot ending on a signature is an open prefix, intact and verified through its last covered instant; otherwise its only error findings are the missing shift_end, the unsigned tail and the not yet sealed tail', { skip: vmOnly, timeout: 240_000 }, async () => {
  await checkOpenShiftVerifies(previousCut('main').armed.shiftId, 1);
});

if (hold.agent) await armCut(hold.agent, 2, false);
