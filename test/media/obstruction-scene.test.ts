/**
 * A normal moving scene gives no obstruction finding: 10 minutes of the sim board's own source
 * (testsrc2 at 640x360 30 fps + a 440 Hz tone) through the SAME analysis filtergraph the recording
 * ffmpeg uses (hal/encoder/args.ts), read by the SAME process wrapper, parsers and detectors as
 * the agent — run faster than real time (no `-re`), stamped with media time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAnalysisArgs } from '../../hal/encoder/args.js';
import { FfmpegProcess } from '../../hal/encoder/process.js';
import { GrayFrameParser, LevelParser } from '../../agent/obstruction/analysis-stream.js';
import { ObstructionDetector, type Finding } from '../../agent/obstruction/detectors.js';
import { ANALYSIS_FORMAT, detectorPolicy } from '../../agent/obstruction/room.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';
import { SIM_ANALYSIS_SOURCES } from '../bench/obstruction-scenes.js';

const SCENE_S = 600;

void test('10 minutes of a normal moving scene (testsrc2 + tone) through the analysis graph: zero findings', { timeout: 120_000 }, async () => {
  const argv = buildAnalysisArgs(
    SIM_ANALYSIS_SOURCES,
    { paced: false, durationS: SCENE_S },
  );
  assert.ok(!argv.includes('-re'), 'faster than real time');
  const video = new GrayFrameParser(ANALYSIS_FORMAT.width, ANALYSIS_FORMAT.height);
  const audio = new LevelParser(ANALYSIS_FORMAT.audioRate);
  const detector = new ObstructionDetector(() => detectorPolicy(DEFAULT_POLICY));
  const findings: Finding[] = [];
  let frames = 0;
  let windows = 0;
  const p = new FfmpegProcess(argv);
  p.on('analysis', (stream, chunk) => {
    if (stream === 'video') {
      for (const f of video.feed(chunk)) {
        frames++;
        findings.push(...detector.video({ atMs: (f.index * 1000) / ANALYSIS_FORMAT.fps, ...f }));
      }
    } else {
      for (const l of audio.feed(chunk)) {
        windows++;
        findings.push(...detector.audio({ atMs: l.index * 500, ...l }));
      }
    }
  });
  p.start();
  const exit = await p.wait();
  findings.push(...detector.stop());
  assert.equal(exit.code, 0, exit.stderrTail.join('\n'));
  assert.ok(Math.abs(frames - SCENE_S * ANALYSIS_FORMAT.fps) <= 2, `${frames} analysis frames for ${SCENE_S} s`);
  assert.ok(Math.abs(windows - SCENE_S * 2) <= 2, `${windows} level windows for ${SCENE_S} s`);
  assert.deepEqual(findings, []);
});
