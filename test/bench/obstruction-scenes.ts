/**
 * Runs the scene corpus (test/fixtures/scenes) through the recording ffmpeg's analysis
 * filtergraph — the `-filter_complex` and outputs of hal/encoder/args.ts buildAnalysisArgs,
 * taken verbatim, only the inputs replaced by the scene's recipe — unpaced, read by the same
 * process wrapper and parsers as the agent, stamped with media time. Shared by the media test
 * and the offline evaluation (obstruction-eval.ts).
 */
import { buildAnalysisArgs, type RecordingArgs } from '../../hal/encoder/args.js';
import { FfmpegProcess } from '../../hal/encoder/process.js';
import { GrayFrameParser, LevelParser, type FrameStats, type LevelStats } from '../../agent/obstruction/analysis-stream.js';
import { ObstructionDetector, type Calibration, type DetectorPolicy, type Finding } from '../../agent/obstruction/detectors.js';
import { ANALYSIS_FORMAT } from '../../agent/obstruction/room.js';
import { sceneInputs, type Scene } from '../fixtures/scenes/scenes.js';

export interface SceneRun {
  readonly frames: FrameStats[];
  readonly levels: LevelStats[];
  readonly wallS: number;
}

/** The sim board's recording sources with detection on: what the analysis graph is built from. */
export const SIM_ANALYSIS_SOURCES: RecordingArgs & { readonly analysis: typeof ANALYSIS_FORMAT } = {
  video: { kind: 'lavfi', width: 640, height: 360, fps: 30 },
  audio: { kind: 'lavfi', sampleRate: 48000, channels: 1 },
  encoder: { video: 'libx264', preset: 'veryfast', videoKbps: 1200, audioKbps: 64, fps: 30 },
  burnIn: undefined,
  segmentS: 2,
  startNumber: 1,
  outDir: '/nonexistent',
  analysis: ANALYSIS_FORMAT,
};

/** The analysis graph exactly as the recording ffmpeg has it (sim board sources). */
export function analysisGraphArgs(): string[] {
  const argv = buildAnalysisArgs(
    SIM_ANALYSIS_SOURCES,
    { paced: false },
  );
  return argv.slice(argv.indexOf('-filter_complex'));
}

export async function runScene(s: Scene, durationS = s.durationS): Promise<SceneRun> {
  const argv = ['-hide_banner', '-nostdin', '-loglevel', 'error', ...sceneInputs(s, durationS), ...analysisGraphArgs()];
  const video = new GrayFrameParser(ANALYSIS_FORMAT.width, ANALYSIS_FORMAT.height);
  const audio = new LevelParser(ANALYSIS_FORMAT.audioRate);
  const frames: FrameStats[] = [];
  const levels: LevelStats[] = [];
  const t0 = performance.now();
  const p = new FfmpegProcess(argv);
  p.on('analysis', (stream, chunk) => {
    if (stream === 'video') frames.push(...video.feed(chunk));
    else levels.push(...audio.feed(chunk));
  });
  p.start();
  const exit = await p.wait();
  if (exit.code !== 0) throw new Error(`scene ${s.name}: ffmpeg exit ${exit.code}: ${exit.stderrTail.join('\n')}`);
  return { frames, levels, wallS: (performance.now() - t0) / 1000 };
}

/** Media-time stamp of a video frame / an audio window, shifted by `offsetMs` (replays). */
const frameMs = (f: FrameStats, offsetMs: number): number => offsetMs + (f.index * 1000) / ANALYSIS_FORMAT.fps;
const levelMs = (l: LevelStats, offsetMs: number): number => offsetMs + l.index * 500;

/** Feeds a run into a detector in media-time order. */
export function feedRun(d: ObstructionDetector, run: SceneRun, offsetMs = 0): Finding[] {
  const out: Finding[] = [];
  let i = 0;
  let j = 0;
  while (i < run.frames.length || j < run.levels.length) {
    const f = run.frames[i];
    const l = run.levels[j];
    if (f && (!l || frameMs(f, 0) <= levelMs(l, 0))) {
      out.push(...d.video({ atMs: frameMs(f, offsetMs), ...f }));
      i++;
    } else if (l) {
      out.push(...d.audio({ atMs: levelMs(l, offsetMs), ...l }));
      j++;
    }
  }
  return out;
}

export function detect(run: SceneRun, policy: DetectorPolicy, calibration: Calibration | undefined): Finding[] {
  const d = new ObstructionDetector(() => policy, calibration);
  return [...feedRun(d, run), ...d.stop()];
}
