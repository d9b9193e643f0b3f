/**
 * Boot `recover4`, after power cut 4 (see test/hil/powercut.ts), which fell mid-period of a custody
 * duty: the agent resumes the same period — same shift id and period number, no new period, no
 * new duty — with the cut journaled in it, the rotation still due `periodS` after the period's
 * start, and the still open period verifies as far as an open shift can. The last boot of the
 * power-cut sequence: it ends cleanly (the custody duty stays open, as a stopped agent leaves it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { shiftJournal, type AgentProc } from '../../helpers/agent.js';
import { vmOnly } from '../lib.js';
import { CUSTODY_PERIOD_S, checkOpenShiftVerifies, checkResumedAfterCut, custodyOf, dataDir, previousCut } from '../powercut.js';
import { isoMs } from '../../../agent/evidence/journal.js';
import type { PersistedState } from '../../../agent/shift/state-store.js';

const hold: { agent?: AgentProc } = {};

await test("cut 4 (custody period 1, plain): the restarted agent records in the same period — same shift id and period number, no new period or duty, the state file names it — with a power_loss recovery and a power_loss gap in it bounded exactly by the media on both sides and covering the host's kill instant; the rotation stays due periodS after the period's start", { skip: vmOnly, timeout: 240_000 }, async (t) => {
  const { armed } = previousCut('recover3');
  const before = armed.custody;
  assert.ok(before, 'the cut was armed mid-period of a custody duty');
  const period = armed.shiftId;
  await checkResumedAfterCut(t, { afterPhase: 'recover3', nthInShift: 1, custody: true, hold });
  const s = await hold.agent!.status();
  assert.equal(s.state, 'RECORDING');
  assert.equal(s.shiftId, period, 'the period open at the cut is the one recording');
  const c = custodyOf(s);
  assert.ok(c, 'status has ext.custody');
  console.log(`HIL: after cut 4: custody ${JSON.stringify(c)}`);
  assert.equal(c.period, before.period, 'the same period number');
  assert.equal(c.periodStart, before.periodStart, 'the same period start');
  assert.equal(c.rotations, 0, 'no rotation since the restart');
  assert.equal(c.periodS, CUSTODY_PERIOD_S);
  assert.equal(c.nextRotationAt, isoMs(Date.parse(before.periodStart!) + CUSTODY_PERIOD_S * 1000), "the rotation is due periodS after the period's start, not after the restart");

  const j = shiftJournal(dataDir(), period);
  const starts = j.filter((r) => r.type === 'shift_start');
  assert.equal(starts.length, 1, 'the period was resumed, not reopened');
  assert.equal(starts[0]!.at, before.periodStart, "status's period start is the period's shift_start");
  assert.equal(starts[0]!.period, before.period);
  assert.equal(j.filter((r) => r.type === 'shift_end').length, 0, 'the period is still open');
  const shifts = join(dataDir(), 'shifts');
  const later = readdirSync(shifts).filter((id) => id !== period && Date.parse(shiftJournal(dataDir(), id)[0]?.at ?? '') >= Date.parse(before.periodStart!));
  assert.deepEqual(later, [], 'no shift or period started after the custody period (the restart opened none)');
  const successors = readdirSync(shifts).filter((id) => (shiftJournal(dataDir(), id)[0]?.continues as { shift_id?: string } | undefined)?.shift_id === period);
  assert.deepEqual(successors, [], 'no period continues the one the cut interrupted');
  const state = JSON.parse(readFileSync(join(dataDir(), 'state.json'), 'utf8')) as PersistedState;
  assert.equal((state.shift as { shiftId?: string }).shiftId, period, 'the state file on the data disk names the period');
});

await test('cut 4: verify finds the still open custody period untampered and signed past its power_loss gap: a snapshot ending on a signature is an open prefix, intact and verified through its last covered instant; otherwise its only error findings are the missing shift_end, the unsigned tail and the not yet sealed tail', { skip: vmOnly, timeout: 240_000 }, async () => {
  await checkOpenShiftVerifies(previousCut('recover3').armed.shiftId, 1);
});

// No `after` hook: with awaited top-level tests it runs before the last test is done.
await hold.agent?.stop();
