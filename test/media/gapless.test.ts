/**
 * Gapless recording on real ffmpeg: ≥ 10 segments of one run decode cleanly, frame counts match
 * duration × fps, PTS run on across segment boundaries, and every segment's journal record is true.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { startAgent, shiftJournal, cleanup, type AgentProc } from '../helpers/agent.js';
import { probeSegment, chainProblem, sha256File } from '../helpers/media.js';

let agent: AgentProc | undefined;
after(async () => {
  await agent?.stop();
  if (agent) cleanup(agent.dataDir);
});

test('≥ 10 consecutive segments are gapless and their journal records are exact', { timeout: 120_000 }, async () => {
  agent = await startAgent();
  await agent.press('shift', { holdS: 2.1 });
  const s = await agent.waitFor((st) => st.segments >= 11, 60_000, '11 segments');
  const shiftId = s.shiftId!;
  await agent.press('shift', { holdS: 3.1 });
  await agent.press('shift');
  await agent.waitFor((st) => st.state === 'OFF_DUTY', 20_000, 'shift end');

  const dir = join(agent.dataDir, 'shifts', shiftId);
  const journal = shiftJournal(agent.dataDir, shiftId);
  assert.equal(chainProblem(join(dir, 'journal.jsonl')), undefined);
  const segs = journal.filter((r) => r.type === 'segment');
  assert.ok(segs.length >= 11, `segments: ${segs.length}`);
  const fps = 30;
  let totalFrames = 0;
  let prev: { lastPts: number; end: string; mediaEnd: number } | undefined;
  for (const r of segs) {
    const path = join(dir, String(r.file));
    assert.equal(sha256File(path), r.sha256, `${r.file}: hash`);
    assert.equal(statSync(path).size, r.bytes, `${r.file}: size`);
    const p = probeSegment(path);
    assert.equal(p.decodeErrors, '', `${r.file} decodes cleanly`);
    assert.equal(p.frames, r.frames, `${r.file}: journal frames = decoded frames`);
    totalFrames += p.frames;
    if (prev) {
      // Continuous PTS: the next segment's first frame follows the previous one's last by one frame.
      assert.ok(Math.abs(p.firstPts - prev.lastPts - 1 / fps) < 0.5 / fps, `${r.file}: PTS jump ${prev.lastPts} → ${p.firstPts}`);
      assert.equal(r.start, prev.end, `${r.file}: wall interval continues the previous one`);
      assert.equal(r.media_start, prev.mediaEnd, `${r.file}: media interval continues`);
    }
    prev = { lastPts: p.lastPts, end: String(r.end), mediaEnd: Number(r.media_end) };
  }
  const duration = Number(segs.at(-1)!.media_end) - Number(segs[0]!.media_start);
  const expected = duration * fps;
  assert.ok(Math.abs(totalFrames - expected) <= segs.length - 1, `frames ${totalFrames} vs duration×fps ${expected.toFixed(1)} (≤ 1 per boundary)`);
  // Only one gap: the encoder start at the beginning, before the first frame.
  const gaps = journal.filter((r) => r.type === 'gap');
  assert.deepEqual(gaps.map((g) => g.cause), ['encoder_start']);
  assert.equal(gaps[0]!.end, segs[0]!.start);
  const end = journal.at(-1)!;
  assert.equal(end.type, 'shift_end');
  assert.equal(end.segments, segs.length);
});
