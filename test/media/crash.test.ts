/**
 * Crash recovery, tested by killing processes (not by calling functions): SIGKILL of ffmpeg mid
 * shift, and SIGKILL of the agent followed by a restart on the same data dir.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { startAgent, shiftJournal, cleanup, alive, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { chainProblem, probeSegment } from '../helpers/media.js';

const agents: AgentProc[] = [];
const dirs: string[] = [];
after(async () => {
  for (const a of agents) await a.stop();
  for (const d of dirs) cleanup(d);
});

const encoderPid = (s: { ext: Record<string, Record<string, unknown>> }): number | null => (s.ext.encoder?.pid as number | null) ?? null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SIGKILL of ffmpeg: recording resumes by itself, the gap is journaled with cause and exact bounds', { timeout: 120_000 }, async () => {
  const a = await startAgent();
  agents.push(a);
  dirs.push(a.dataDir);
  await a.press('shift', { holdS: 2.1 });
  const before = await a.waitFor((s) => s.segments >= 3 && encoderPid(s) !== null, 40_000, '3 segments');
  const pid = encoderPid(before)!;
  await sleep(900); // mid-segment: part of a segment is on disk, unlisted
  process.kill(pid, 'SIGKILL');
  const afterCrash = await a.waitFor((s) => s.encoderRestarts >= 1 && s.segments >= before.segments + 3, 40_000, 'recording after the crash');
  assert.notEqual(encoderPid(afterCrash), pid);
  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 20_000, 'end');

  const dir = join(a.dataDir, 'shifts', before.shiftId!);
  const j = shiftJournal(a.dataDir, before.shiftId!);
  assert.equal(chainProblem(join(dir, 'journal.jsonl')), undefined);
  const fault = j.find((r) => r.type === 'fault' && r.fault === 'encoder_crash');
  assert.ok(fault, 'fault journaled');
  assert.match(String(fault.detail), /signal SIGKILL/);
  assert.equal(j.filter((r) => r.type === 'fault').length, 1, 'one fault record for one interruption');
  assert.ok(j.some((r) => r.type === 'recovery' && r.fault === 'encoder_crash'), 'the fault is cleared by fresh media');
  const gap = j.find((r) => r.type === 'gap' && r.cause === 'encoder_crash');
  assert.ok(gap, 'gap journaled');
  const segs = j.filter((r) => r.type === 'segment');
  const recovered = segs.filter((r) => r.recovered === true);
  assert.equal(recovered.length, 1, 'the killed segment is kept as recovered evidence');
  assert.ok(Number(recovered[0]!.frames) > 0, 'the flushed part of the killed segment decodes');
  assert.equal(probeSegment(join(dir, String(recovered[0]!.file))).frames, recovered[0]!.frames);
  // Bounds: the gap starts where the recovered media ends and ends where the next run's media starts.
  const iRec = segs.indexOf(recovered[0]!);
  assert.equal(gap.start, recovered[0]!.end);
  assert.equal(gap.end, segs[iRec + 1]!.start);
  assert.ok(Date.parse(String(gap.end)) > Date.parse(String(gap.start)));
  // Files on disk = journaled files (nothing lost, nothing extra).
  const onDisk = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
  assert.deepEqual(onDisk, segs.map((r) => String(r.file)).sort());
});

test('SIGKILL of the agent: no orphan encoder; a restarted agent resumes the shift at once and journals the gap', { timeout: 120_000 }, async () => {
  const dataDir = tempDataDir();
  dirs.push(dataDir);
  const a = await startAgent({ dataDir });
  await a.press('shift', { holdS: 2.1 });
  const s1 = await a.waitFor((s) => s.segments >= 3 && encoderPid(s) !== null, 40_000, '3 segments');
  const ffmpegPid = encoderPid(s1)!;
  await sleep(700);
  await a.kill('SIGKILL');
  // The encoder must not outlive the agent: it dies on its next write to the closed progress pipe.
  const until = Date.now() + 5000;
  while (alive(ffmpegPid) && Date.now() < until) await sleep(50);
  assert.equal(alive(ffmpegPid), false, 'ffmpeg is gone after the agent died');

  const b = await startAgent({ dataDir });
  agents.push(b);
  const s2 = await b.status();
  assert.equal(s2.state, 'RECORDING', 'recording again as soon as the agent is up');
  assert.equal(s2.shiftId, s1.shiftId);
  await b.waitFor((s) => s.segments >= s1.segments + 3, 40_000, 'new segments after restart');
  await b.press('shift', { holdS: 3.1 });
  await b.press('shift');
  await b.waitFor((s) => s.state === 'OFF_DUTY', 20_000, 'end');

  const dir = join(dataDir, 'shifts', s1.shiftId!);
  assert.equal(chainProblem(join(dir, 'journal.jsonl')), undefined, 'chain continues across the restart');
  const j = shiftJournal(dataDir, s1.shiftId!);
  assert.ok(j.some((r) => r.type === 'recovery' && r.what === 'agent_restart'));
  const gap = j.find((r) => r.type === 'gap' && r.cause === 'agent_restart');
  assert.ok(gap, 'gap journaled with cause agent_restart');
  const segs = j.filter((r) => r.type === 'segment');
  const i = segs.findIndex((r) => Date.parse(String(r.start)) >= Date.parse(String(gap.end)));
  assert.equal(gap.end, segs[i]!.start);
  assert.equal(gap.start, segs[i - 1]!.end);
  const nums = segs.map((r) => Number(/(\d+)/.exec(String(r.file))![1]));
  assert.deepEqual(nums, nums.map((_, k) => k + 1), 'segment numbers continue without holes or reuse');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.ts')).sort(), segs.map((r) => String(r.file)).sort());
});
