/**
 * Boot `recover1`, after power cut 1 (see test/hil/powercut.ts): shift A (plain) resumes, the cut
 * is journaled and measured, and the still open shift verifies as far as an open shift can. Then
 * this boot arms cut 2 and the host cuts the power again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shiftJournal, type AgentProc } from '../../helpers/agent.js';
import { vmOnly, waitFor } from '../lib.js';
import { armCut, checkResumedAfterCut, cutInJournal, dataDir, previousCut, shiftDirOf, snapshotOpenShift, verifyJson } from '../powercut.js';

const hold: { agent?: AgentProc } = {};

await test('cut 1 (shift A, plain): the next boot resumes the same shift and journals a power_loss gap bounded exactly by the media kept before the cut and the first media after it; media lost is finite', { skip: vmOnly, timeout: 240_000 }, async (t) => {
  await checkResumedAfterCut(t, { afterPhase: 'main', nthInShift: 1, hold });
});

await test('cut 1: verify finds the still open shift untampered and signed past its power_loss gap: a snapshot ending on a signature is an open prefix, intact and verified through its last covered instant; otherwise its only error findings are the missing shift_end, the unsigned tail and the not yet sealed tail', { skip: vmOnly, timeout: 240_000 }, async () => {
  const { armed } = previousCut('main');
  const gapLine = (): number => cutInJournal(shiftJournal(dataDir(), armed.shiftId), 1).gapIdx + 1;
  // The next signature after the gap (every 3 segments, see agentConfig) authenticates it.
  await waitFor(() => shiftJournal(dataDir(), armed.shiftId).some((r, i) => r.type === 'signature' && i + 1 > gapLine()), 90_000, 'a signature after the power_loss gap');
  const snap = `/tmp/open-shift-${armed.shiftId}`;
  const lines = snapshotOpenShift(shiftDirOf(armed.shiftId), snap);
  const v = await verifyJson(snap);
  const r = v.report;
  console.log(`HIL: verify of the open shift (${lines} journal lines): ${r.summary}; gaps ${JSON.stringify(r.totals.gapS)}`);
  // An open shift's timeline ends at its last record, which is journaled after the last sealed
  // media ended: the verifier shows that tail (the segment still being recorded) as a hole.
  const tail = r.timeline.filter((x) => x.kind === 'hole' && r.end !== null && x.end === Date.parse(r.end));
  const errors = r.findings.filter((f) => f.severity === 'error');
  assert.ok(r.journal.signedThroughLine > gapLine(), `signed through line ${r.journal.signedThroughLine}, the gap is line ${gapLine()}`);
  if (r.journal.unsignedTail === 0) {
    // The snapshot fell just after a signature (every 3rd segment): a verifiable open prefix, as
    // central ingest sees a live-offloaded shift (docs/evidence-format.md §8).
    assert.equal(r.open, true, 'a journal ending on a signature without shift_end is an open prefix');
    assert.equal(r.verdict, 'intact');
    assert.equal(v.code, 0);
    assert.deepEqual(errors, [], 'no error finding in an open prefix');
    const gapAt = shiftJournal(dataDir(), armed.shiftId)[gapLine() - 1]!.at ?? '';
    assert.ok(typeof r.verifiedThrough === 'string' && Date.parse(r.verifiedThrough) > Date.parse(gapAt), `verified through ${r.verifiedThrough}, past the power_loss gap journaled at ${gapAt}`);
    assert.ok((r.totals.gapS.power_loss ?? 0) > 0, 'the power_loss gap is on the timeline');
    return;
  }
  assert.deepEqual(errors.filter((f) => f.kind !== 'no_shift_end' && f.kind !== 'unsigned_tail' && !(f.kind === 'coverage_hole' && tail.length === 1)), [], 'no other error finding');
  assert.ok(errors.some((f) => f.kind === 'no_shift_end'), 'the shift is reported open');
  assert.equal(r.verdict, 'incomplete');
  assert.equal(v.code, 1);
  const tailS = tail.reduce((n, x) => n + (x.end - x.start) / 1000, 0);
  assert.ok(Math.abs(r.totals.uncoveredS - tailS) < 0.002, `nothing is uncovered but the tail after the last sealed media (${r.totals.uncoveredS} s, tail ${tailS} s)`);
  assert.ok((r.totals.gapS.power_loss ?? 0) > 0, 'the power_loss gap is on the timeline');
});

if (hold.agent) await armCut(hold.agent, 2, false);
