/**
 * The scene corpus (test/fixtures/scenes, issue 25) through the recording ffmpeg's analysis
 * graph, unpaced, and the pure detectors over it, calibrated as the corpus camera measures
 * (the still desk) and uncalibrated: every covered, frozen and dead-microphone scene is found
 * within 10 s of its change, no normal scene gives any finding, and a 1-hour replay of the normal
 * scenes gives none (the 12-hour one is `node dist/test/bench/obstruction-eval.js`).
 * Scenes are shortened here (normal 30 s, obstructed 25 s with the change at 10 s) to keep the
 * stage under two minutes on a shared core.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenes } from '../fixtures/scenes/scenes.js';
import { runScene, type SceneRun } from '../bench/obstruction-scenes.js';
import { judge, replay, CORPUS_CALIBRATION } from '../bench/obstruction-eval.js';
import { calibrateFromFrames } from '../../agent/obstruction/calibrate.js';

void test('scene corpus: obstructions found within 10 s, normal scenes and a 1 h replay give nothing', { timeout: 600_000 }, async () => {
  const runs = new Map<string, SceneRun>();
  for (const s of scenes()) runs.set(s.name, await runScene(s, s.expect === 'normal' ? 30 : 25));
  const still = calibrateFromFrames(runs.get('still-desk')!.frames);
  assert.ok(still.noiseFloorFrameDiff !== undefined && Math.abs(still.noiseFloorFrameDiff - CORPUS_CALIBRATION.noiseFloorFrameDiff!) < 0.02, JSON.stringify(still));
  const lines: string[] = [];
  for (const cal of [CORPUS_CALIBRATION, undefined]) {
    for (const s of scenes()) {
      const j = judge(s, runs.get(s.name)!, cal);
      lines.push(`${cal ? 'cal' : 'uncal'} ${s.name}: expect ${s.expect} got ${j.got} ${j.detectS ?? ''}`);
      assert.ok(j.ok, lines.join('\n'));
    }
  }
  const normals = scenes().filter((s) => s.expect === 'normal').map((s) => runs.get(s.name)!);
  const r = replay(normals, 1);
  assert.ok(r.mediaH >= 1);
  assert.deepEqual(r.findings, []);
});
