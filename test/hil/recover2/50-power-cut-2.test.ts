/**
 * Boot `recover2`, after power cut 2 (see test/hil/powercut.ts): shift A (plain) resumes again,
 * the cut is journaled and measured, shift A is ended and verifies intact. Then shift B starts
 * with encryption at rest on, and this boot arms cut 3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type AgentProc } from '../../helpers/agent.js';
import { LINE, RESULTS, pressLine, vmOnly } from '../lib.js';
import { STAGE_DIR, armCut, checkResumedAfterCut, endShift, previousCut, shiftDirOf, startShiftAgent, verifyJson } from '../powercut.js';
import { isVolatileDir } from '../../../agent/evidence/encrypt.js';

const hold: { agent?: AgentProc } = {};
const central = join(RESULTS, 'central');
let shiftB: string | undefined;

await test('cut 2 (shift A, plain): the next boot resumes the same shift and journals a second power_loss gap bounded exactly by the media kept before the cut and the first media after it and covering the host\'s kill instant; media lost is finite', { skip: vmOnly, timeout: 240_000 }, async (t) => {
  await checkResumedAfterCut(t, { afterPhase: 'recover1', nthInShift: 2, hold });
});

await test('shift A, ended after its two power cuts, verifies intact with both power_loss gaps on its timeline', { skip: vmOnly, timeout: 300_000 }, async () => {
  const a = hold.agent;
  assert.ok(a, 'the agent runs');
  const { armed } = previousCut('recover1');
  await endShift(a);
  await a.stop();
  hold.agent = undefined;
  const v = await verifyJson(shiftDirOf(armed.shiftId));
  console.log(`HIL: verify shift A: ${v.report.summary}; gaps ${JSON.stringify(v.report.totals.gapS)}`);
  assert.equal(v.code, 0, `verify: ${v.text}`);
  assert.equal(v.report.verdict, 'intact');
  assert.equal(v.report.timeline.filter((x) => x.kind === 'gap' && x.label === 'power_loss').length, 2, 'two power_loss gaps');
});

await test('shift B starts with encryption at rest on: its segments reach the disk only as .ts.enc, the plaintext stage is on tmpfs', { skip: vmOnly, timeout: 240_000 }, async () => {
  const k = await runCli(['keygen-central', '--out', central]);
  assert.equal(k.code, 0, `keygen-central: ${k.stderr}`);
  const a = (hold.agent = await startShiftAgent({ central }));
  await pressLine(LINE.shift, 2600);
  const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 1, 90_000, 'shift B recording with a sealed segment');
  shiftB = s.shiftId ?? undefined;
  assert.ok(shiftB && shiftB !== previousCut('recover1').armed.shiftId, 'a new shift');
  const files = readdirSync(shiftDirOf(shiftB)).filter((f) => f.startsWith('seg-'));
  assert.ok(files.length > 0 && files.every((f) => f.endsWith('.ts.enc')), `segments in the shift dir: ${files.join(' ')}`);
  assert.ok(existsSync(join(STAGE_DIR, shiftB)) && isVolatileDir(join(STAGE_DIR, shiftB)), 'the stage is on tmpfs');
});

if (hold.agent && shiftB) await armCut(hold.agent, 3, true);
