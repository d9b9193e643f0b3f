/**
 * The obstruction room: reads the running encoder's analysis side stream (through the recording
 * pipeline, no second capture), runs the detectors and carries out what a finding means:
 * - an `obstruction` record pair in the shift journal (`phase: start` at onset, `phase: end` at
 *   clear, both with the interval's kind, bounds and measures; docs/evidence-format.md). Journal
 *   records become events to central through the telemetry outbox (EVENT_KIND_OBSTRUCTION);
 * - a fault per kind (`obstruction_covered`, …) in status and heartbeats, hence the LED's fault
 *   pattern, cleared with the interval;
 * - a haptic nag to the wearer at onset and every `obstructionNagS` while any lasts.
 * Recording never stops or restarts for it: this room only reads.
 */
import type { Logger } from '../lib/log.js';
import { isoMs } from '../evidence/journal.js';
import type { Policy } from '../config/policy.js';
import type { FaultRegistry } from '../faults/registry.js';
import type { RecordingPipeline } from '../recording/pipeline.js';
import type { AnalysisOutput } from '../../hal/encoder/args.js';
import { GrayFrameParser, LevelParser } from './analysis-stream.js';
import { ObstructionDetector, type Calibration, type DetectorPolicy, type Finding, type ObstructionKind } from './detectors.js';
import { evidenceClock } from '../lib/evidence-clock.js';

/** The analysis stream's format: tiny on purpose (4.6 KB/s of video, 8 KB/s of audio). */
export const ANALYSIS_FORMAT: AnalysisOutput = { fps: 2, width: 64, height: 36, audioRate: 4000 };

export const faultName = (k: ObstructionKind): string => `obstruction_${k}`;

const DESCRIBE: Readonly<Record<ObstructionKind, string>> = {
  covered: 'lens covered or picture dark',
  frozen: 'picture frozen',
  silent: 'microphone silent (blocked or dead)',
};

/** The part of the policy the detectors read. */
export function detectorPolicy(p: Policy): DetectorPolicy {
  return {
    onsetS: p.obstructionOnsetS,
    clearS: p.obstructionClearS,
    coveredLumaMax: p.coveredLumaMax,
    coveredSpreadMax: p.coveredSpreadMax,
    frozenDiffMax: p.frozenDiffMax,
    silentDbfsMax: p.silentDbfsMax,
  };
}

export interface ActiveObstruction {
  readonly kind: ObstructionKind;
  /** RFC 3339 ms: when the condition began (the first bad sample). */
  readonly since: string;
  /** The kind's main measure over the interval so far: luma mean, frame difference or dBFS. */
  readonly measure: number;
}

export interface ObstructionRoomOptions {
  readonly pipeline: Pick<RecordingPipeline, 'on' | 'off'>;
  readonly policy: () => Policy;
  readonly faults: FaultRegistry;
  readonly journal: (type: string, fields: Record<string, unknown>) => void;
  /** One haptic nag to the wearer. */
  readonly nag: () => void;
  readonly log: Logger;
  /**
   * The board's calibration (board config `calibration`); absent = uncalibrated: frozen only on
   * bit-identical frames, silent only on digital silence.
   */
  readonly calibration?: Calibration;
  readonly now?: () => number;
  /** Monotonic ms (tests: a fake clock); default performance.now(). */
  readonly mono?: () => number;
}

const MAIN_MEASURE: Readonly<Record<ObstructionKind, string>> = { covered: 'luma_mean', frozen: 'frame_diff', silent: 'level_dbfs' };

export class ObstructionRoom {
  private readonly detector: ObstructionDetector;
  private video: GrayFrameParser | undefined;
  private audio: LevelParser | undefined;
  private nagTimer: NodeJS.Timeout | undefined;
  private run = 0;
  private nags = 0;
  private intervals = 0;
  private readonly now: () => number;
  private readonly mono: () => number;

  private readonly onRunStarted = (run: number): void => {
    this.endAll();
    this.run = run;
    this.video = new GrayFrameParser(ANALYSIS_FORMAT.width, ANALYSIS_FORMAT.height);
    this.audio = new LevelParser(ANALYSIS_FORMAT.audioRate);
  };
  private readonly onAnalysis = (run: number, stream: 'video' | 'audio', chunk: Buffer): void => {
    if (run !== this.run) return;
    // The detectors run on the monotonic clock: a wall-clock step must neither satisfy nor stall
    // the onset/clear debounce. Bounds become evidence time only when journaled (apply).
    const at = this.mono();
    try {
      if (stream === 'video') for (const f of this.video?.feed(chunk) ?? []) this.apply(this.detector.video({ atMs: at, ...f }));
      else for (const l of this.audio?.feed(chunk) ?? []) this.apply(this.detector.audio({ atMs: at, ...l }));
    } catch (e) {
      // Detection is advisory: it must never throw into the recording pipeline's events.
      this.o.log.error('obstruction analysis failed', { err: e });
    }
  };
  private readonly onRunEnded = (run: number): void => {
    if (run === this.run) this.endAll();
  };

  constructor(private readonly o: ObstructionRoomOptions) {
    this.now = o.now ?? (() => evidenceClock.now());
    this.mono = o.mono ?? (() => performance.now());
    this.detector = new ObstructionDetector(() => detectorPolicy(o.policy()), o.calibration);
  }

  /** Detection is on by policy (the pipeline asks before each run whether to add the side outputs). */
  get wanted(): boolean {
    return this.o.policy().obstructionDetect === 1;
  }

  start(): void {
    this.o.pipeline.on('runStarted', this.onRunStarted);
    this.o.pipeline.on('analysis', this.onAnalysis);
    this.o.pipeline.on('runEnded', this.onRunEnded);
  }

  stop(): void {
    this.o.pipeline.off('runStarted', this.onRunStarted);
    this.o.pipeline.off('analysis', this.onAnalysis);
    this.o.pipeline.off('runEnded', this.onRunEnded);
    this.endAll();
  }

  active(): ActiveObstruction[] {
    return this.detector.active().map((a) => ({ kind: a.kind, since: isoMs(this.evidenceMs(a.sinceMs)), measure: a.measures[MAIN_MEASURE[a.kind]] ?? 0 }));
  }

  status(): Record<string, unknown> {
    return { detecting: this.wanted, active: this.active(), intervals: this.intervals, nags: this.nags };
  }

  /** The stream ended (run over, pause, shift end): open intervals end at their last sample. */
  private endAll(): void {
    this.apply(this.detector.stop(this.mono()));
  }

  /** A monotonic instant as evidence time now (what a record written now is stamped on). */
  private evidenceMs(monoMs: number): number {
    return this.now() - (this.mono() - monoMs);
  }

  private apply(findings: readonly Finding[]): void {
    for (const f of findings) {
      const common = { kind: f.kind, start: isoMs(this.evidenceMs(f.startMs)), measures: f.measures };
      if (f.t === 'onset') {
        this.o.journal('obstruction', { phase: 'start', ...common, detected_at: isoMs(this.evidenceMs(f.atMs)) });
        this.o.faults.set(faultName(f.kind), `${DESCRIBE[f.kind]} since ${common.start}`);
        this.o.log.warn('obstruction', { kind: f.kind, since: common.start, measures: f.measures });
        this.nag();
      } else {
        this.intervals++;
        this.o.journal('obstruction', {
          phase: 'end', ...common, end: isoMs(this.evidenceMs(f.endMs)), duration_s: Math.round((f.endMs - f.startMs) / 100) / 10, reason: f.reason,
        });
        this.o.faults.clear(faultName(f.kind));
        this.o.log.info('obstruction ended', { kind: f.kind, durationS: (f.endMs - f.startMs) / 1000, reason: f.reason });
      }
    }
    if (findings.length) this.scheduleNag();
  }

  private nag(): void {
    this.nags++;
    this.o.nag();
  }

  private scheduleNag(): void {
    const any = this.detector.active().length > 0;
    if (!any) {
      if (this.nagTimer) clearInterval(this.nagTimer);
      this.nagTimer = undefined;
      return;
    }
    if (this.nagTimer) return;
    this.nagTimer = setInterval(() => {
      if (this.detector.active().length) this.nag();
    }, this.o.policy().obstructionNagS * 1000);
    this.nagTimer.unref();
  }
}
