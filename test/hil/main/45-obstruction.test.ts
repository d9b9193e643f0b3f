/**
 * Obstruction on a real driver: mid-shift, vivid's own test-pattern control switches the picture
 * the kernel driver delivers to black (`v4l2-ctl --set-ctrl test_pattern=5`) and back. The agent
 * reading /dev/video0 through its one recording ffmpeg journals one `covered` interval, raises
 * and clears the fault, and its encoder never restarts.
 *
 * vivid draws its on-screen text over a third of a 320x180 frame: the test turns the text off and
 * lets the bars move (horizontal_movement), so "100% Black" is black and the bars are not frozen;
 * the defaults are restored afterwards for the next tests of this boot.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { shiftJournal, tempDataDir, type AgentProc } from '../../helpers/agent.js';
import { LINE, pressLine, setPull, startAgentVm, vmOnly } from '../lib.js';

const DEBOUNCE_S = 2;
let agent: AgentProc | undefined;

function vivid(ctrls: string): void {
  execFileSync('v4l2-ctl', ['-d', '/dev/video0', '--set-ctrl', ctrls]);
}

after(async () => {
  await agent?.stop().catch(() => undefined);
  if (!vmOnly) vivid('test_pattern=0,osd_text_mode=0,horizontal_movement=3');
});

void test('vivid switched to a black test pattern mid-shift and back: one covered interval, fault raised and cleared, no encoder restart', { skip: vmOnly, timeout: 240_000 }, async () => {
  vivid('test_pattern=0,osd_text_mode=2,horizontal_movement=2');
  for (const l of [LINE.shift, LINE.privacy, LINE.dock]) setPull(l, false);
  // Under TCG ffmpeg can need more than the default 6 s to its first segment.
  const policy = { encoderStallS: 20, obstructionOnsetS: DEBOUNCE_S, obstructionClearS: DEBOUNCE_S };
  agent = await startAgentVm({ board: 'qemu-hil-sysfs', dataDir: tempDataDir('hil-obstruct-'), config: { policy } });
  const a = agent;
  await pressLine(LINE.shift, 2600);
  const rec = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 120_000, 'recording vivid frames');
  const run = rec.ext.encoder?.run;
  assert.deepEqual(Object.keys(rec.faults).filter((f) => f.startsWith('obstruction_')), [], 'moving bars are no obstruction');

  const blackAt = Date.now();
  vivid('test_pattern=5');
  const covered = await a.waitFor((s) => 'obstruction_covered' in s.faults, 60_000, 'covered fault from the black pattern');
  assert.equal((covered.ext.obstruction?.active as Array<{ kind: string }> | undefined)?.[0]?.kind, 'covered');
  const backAt = Date.now();
  vivid('test_pattern=0');
  const clear = await a.waitFor((s) => !('obstruction_covered' in s.faults), 60_000, 'covered fault cleared by the bars');
  assert.equal(clear.encoderRestarts, 0, 'no encoder restart');
  assert.equal(clear.ext.encoder?.run, run, 'the same encoder run throughout');
  assert.equal(clear.state, 'RECORDING');

  const journal = shiftJournal(a.dataDir, clear.shiftId!);
  const ends = journal.filter((r) => r.type === 'obstruction' && r.phase === 'end');
  assert.deepEqual(ends.map((r) => r.kind), ['covered'], JSON.stringify(journal.filter((r) => r.type === 'obstruction')));
  const start = Date.parse(String(ends[0]!.start));
  const end = Date.parse(String(ends[0]!.end));
  // Emulated capture adds latency; the bounds still follow the real switches, in order.
  assert.ok(start >= blackAt && start < backAt, `interval starts ${start - blackAt} ms after the switch to black`);
  assert.ok(end >= backAt, `interval ends ${end - backAt} ms after the switch back`);
  assert.deepEqual(journal.filter((r) => r.type === 'gap').map((r) => r.cause), ['encoder_start'], 'no gap in the media');
});
