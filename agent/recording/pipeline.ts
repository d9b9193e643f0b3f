/**
 * The recording pipeline of the open shift: one supervised ffmpeg (hal/encoder) feeding the
 * shift's sealer. It owns what an encoder run needs — argv, segment numbering, quality (degrade
 * arbitration between thermal, storage…), the pidfile — and what it tells — fps and dropped
 * frames (zero when not recording), first-frame latency, restarts per shift, and the cause of
 * every interruption, which becomes the gap's cause in the journal.
 *
 * `begin`/`end` are the machine's encoder effects; `halt`/`proceed` are the storage guard's: a
 * halt stops the encoder but keeps the interval open as a gap, journaled with exact bounds when
 * media comes back.
 */
import { eachNameSync } from '../lib/dir-names.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/log.js';
import { BodycamError, EncoderError, describe, isDeviceError } from '../lib/errors.js';
import type { Policy } from '../config/policy.js';
import type { BoardConfig } from '../config/board.js';
import type { Camera } from '../../hal/types.js';
import { EncoderSupervisor } from '../../hal/encoder/supervisor.js';
import { buildRecordingArgs, SEGMENT_RE, type AnalysisOutput, type AudioSource, type RecordingArgs, type VideoSource } from '../../hal/encoder/args.js';
import type { ArgvFor, RunPlan } from '../../hal/encoder/parking.js';
import { encoderBinary, findExecutable } from '../../hal/encoder/binary.js';
import type { GapCause } from '../evidence/sealer.js';
import type { ShiftEvidence } from '../evidence/shift-evidence.js';
import type { SegmentStorer } from '../evidence/storer.js';
import type { FaultRegistry } from '../faults/registry.js';
import { EncoderPidfile } from './encoder-pidfile.js';
import { RTSP_RECONNECT_MAX_S, RTSP_TIMEOUT_S } from '../../hal/camera/rtsp-url.js';
import { evidenceClock } from '../lib/evidence-clock.js';

const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';
/**
 * How often an idle pipeline checks that the run parked for the next start still fits (building
 * an argv and comparing it: microseconds). Also checked at once when a pause or shift end stops
 * the encoder.
 */
const PARK_CHECK_MS = 500;
/** Quality steps: bitrate and frame-rate factors. Level 0 = the board's full quality. */
export const DEGRADE = [
  { kbps: 1, fps: 1 },
  { kbps: 0.6, fps: 1 },
  { kbps: 0.35, fps: 0.5 },
] as const;
/** Faults that a fresh valid segment proves over. */
export const ENCODER_FAULTS = ['encoder_crash', 'encoder_stall', 'encoder_start', 'camera_lost', 'storage_full', 'camera'] as const;

/** A network camera does not answer: no encoder is spawned until it does (paced retries). */
export class CameraLostError extends BodycamError {
  constructor(detail: string) {
    super('DEVICE', `camera lost: ${detail}`);
  }
}

/** Recording cannot proceed now because free space is below the floor. */
export class StorageFloorError extends BodycamError {
  constructor(freeBytes: number) {
    super('STORAGE', `storage below its floor (${Math.round(freeBytes / 1048576)} MiB free): encoder held until space returns`);
  }
}

export interface PipelineEvents extends Record<string, unknown[]> {
  /** Run number changed (persisted with the state, so a restart continues the numbering). */
  run: [run: number];
  /** Something status shows changed. */
  changed: [];
  /** An encoder run started (analysis side outputs begin afresh). */
  runStarted: [run: number];
  /** Raw analysis bytes of the running encoder (agent/obstruction reads them). */
  analysis: [run: number, stream: 'video' | 'audio', chunk: Buffer];
  /** The encoder run ended: no more analysis bytes from it. */
  runEnded: [run: number];
}

export interface PipelineOptions {
  readonly dataDir: string;
  readonly board: BoardConfig;
  readonly deviceId: string;
  readonly policy: () => Policy;
  readonly storer: SegmentStorer;
  readonly evidence: ShiftEvidence;
  readonly faults: FaultRegistry;
  readonly camera: () => Camera;
  readonly journal: (type: string, fields: Record<string, unknown>) => void;
  /** Free space is below the floor where recording is held (storage guard). */
  readonly belowFloor: () => { below: boolean; freeBytes: number };
  /** Runs `fn` in the machine's queue, so a reconfigure never interleaves with a transition. */
  readonly serialize: (fn: () => Promise<void>) => Promise<void>;
  readonly log: Logger;
  /** Obstruction analysis side outputs for the next run (undefined = detection off). */
  readonly analysis?: () => AnalysisOutput | undefined;
  /** Live view's loopback RTP output for every run (undefined = none: no liveView config). */
  readonly liveTap?: { readonly port: number };
  /** The sim scene a lavfi run starts in (sim boards only). */
  readonly scene?: () => { video: NonNullable<VideoSource['scene']>; audio: NonNullable<AudioSource['scene']> } | undefined;
}

export class RecordingPipeline extends TypedEmitter<PipelineEvents> {
  private encoder: EncoderSupervisor | undefined;
  private readonly pidfile: EncoderPidfile;
  private readonly degradeBySource = new Map<string, number>();
  private level = 0;
  private lastRunNo = 0;
  private fpsNow = 0;
  private dropped = 0;
  private halted: GapCause | undefined;
  /** Runs that could not be prepared or spawned (each followed by a paced retry). */
  failedStarts = 0;
  private startRequest: { at: number; reason: 'start' | 'resume' } | undefined;
  /** The camera inputs of the last run (probed), which a parked run's guess reuses. */
  private inputs: { device: string | undefined; url: string | undefined } = { device: undefined, url: undefined };
  private parkTimer: NodeJS.Timeout | undefined;
  readonly latencies: { start: number[]; resume: number[] } = { start: [], resume: [] };

  constructor(private readonly o: PipelineOptions) {
    super();
    this.pidfile = new EncoderPidfile(o.dataDir, o.log.child('pidfile'));
  }

  /** Ends an encoder a killed predecessor left running; creates the supervisor. */
  start(): void {
    this.pidfile.killStale();
    this.encoder = this.createEncoder();
    // The guess follows pauses, shift ends and settings changes.
    this.parkTimer = setInterval(() => this.parkNext(), PARK_CHECK_MS).unref();
  }

  async stop(): Promise<void> {
    if (this.parkTimer) clearInterval(this.parkTimer);
    this.parkTimer = undefined;
    await this.encoder?.stop();
    this.encoder?.disposeParking();
    this.pidfile.remove();
  }

  get running(): boolean {
    return this.encoder?.running ?? false;
  }
  /** Recording is wanted by the shift (begun and not ended), halted or not. */
  get wanted(): boolean {
    return (this.encoder?.isWanted ?? false) || this.halted !== undefined;
  }
  get haltedFor(): GapCause | undefined {
    return this.halted;
  }
  get pid(): number | null {
    return this.encoder?.pid ?? null;
  }
  /** The run parked for the next start or resume (hal/encoder/parking.ts), if one waits. */
  get parkedPid(): number | null {
    return this.encoder?.parkedPid ?? null;
  }
  get restarts(): number {
    return this.encoder?.restartCount ?? 0;
  }
  get fps(): number {
    return this.running ? this.fpsNow : 0;
  }
  get droppedFrames(): number {
    return this.running ? this.dropped : 0;
  }
  get degradeLevel(): number {
    return this.level;
  }
  get lastRun(): number {
    return this.lastRunNo;
  }
  /** Continue run numbering after an agent restart. */
  set lastRun(n: number) {
    this.lastRunNo = n;
    if (this.encoder) this.encoder.lastRun = n;
  }

  /** A fresh valid segment was sealed: the encoder is healthy (stall timer and backoff reset). */
  noteHealthy(): void {
    this.encoder?.noteHealthy();
  }

  /** A shift was opened: per-shift counters start again. */
  shiftOpened(): void {
    this.encoder?.resetRestartCount();
  }

  /**
   * The machine wants media from `gapFrom` on; until the first frame the interval is a gap with
   * `cause`. Never throws for an encoder that cannot start: the supervisor retries, paced.
   */
  async begin(reason: 'start' | 'resume' | 'recover', gapFrom: number, cause: GapCause): Promise<void> {
    const s = this.o.evidence.current;
    if (!s) throw new BodycamError('STATE', 'no open shift to record into');
    s.sealer.expectMedia(gapFrom, cause);
    this.halted = undefined;
    this.startRequest = { at: performance.now(), reason: reason === 'resume' ? 'resume' : 'start' };
    await this.encoder!.start(reason);
  }

  /** Pause or end: no media expected from `at` on; the last segment is finalized and sealed. */
  async end(at: number): Promise<void> {
    this.halted = undefined;
    const s = this.o.evidence.current;
    // With a gap pending (no media since a start or crash), that gap runs to `at` already.
    const mediaFlowing = s !== undefined && s.sealer.pending === undefined;
    s?.sealer.stopExpecting(at);
    await this.encoder!.stop();
    await s?.sealer.drain();
    if (s && mediaFlowing) s.sealer.tailGap(at, 'encoder_stop');
    this.parkNext();
  }

  /**
   * Stops the encoder while recording stays wanted (storage below its floor): the interval since
   * the last media stays open as one gap with `cause`, bounded when media comes back.
   */
  async halt(cause: GapCause): Promise<void> {
    if (this.halted || !this.encoder?.isWanted) return;
    this.halted = cause;
    const s = this.o.evidence.current;
    await this.encoder.stop();
    if (s) {
      await s.sealer.drain();
      s.sealer.holdGap(cause, evidenceClock.now());
    }
    this.emit('changed');
  }

  /** The halt's cause is gone: record again at once. */
  async proceed(): Promise<void> {
    if (!this.halted) return;
    this.halted = undefined;
    this.startRequest = { at: performance.now(), reason: 'resume' };
    await this.encoder!.start('space_returned');
    this.emit('changed');
  }

  // ------------------------------------------------------------------ quality

  setDegrade(source: string, level: number): void {
    const l = Math.max(0, Math.min(DEGRADE.length - 1, Math.round(level)));
    if (l === 0) this.degradeBySource.delete(source);
    else this.degradeBySource.set(source, l);
    const eff = Math.max(0, ...this.degradeBySource.values());
    if (eff === this.level) return;
    this.level = eff;
    this.o.journal('degrade', { level: eff, source, video_kbps: this.videoKbps(), fps: this.encoderFps() });
    if (this.encoder?.running) {
      void this.o.serialize(async () => {
        const s = this.o.evidence.current;
        if (!s || !this.encoder?.running) return;
        // Degraded because space is running out and already below the floor: hold, not restart.
        if (this.o.belowFloor().below) return this.halt('storage_full');
        await this.encoder.stop();
        await s.sealer.drain();
        s.sealer.expectMedia(s.sealer.mediaEndWall ?? evidenceClock.now(), 'encoder_reconfigure');
        await this.encoder.start('reconfigure');
      });
    }
    this.emit('changed');
  }

  private videoKbps(): number {
    return Math.max(100, Math.round((this.o.board.encoder.bitrateKbps ?? 2000) * DEGRADE[this.level]!.kbps));
  }

  encoderFps(): number {
    return Math.max(1, Math.round(this.o.board.camera.fps * DEGRADE[this.level]!.fps));
  }

  /** Bytes per second the encoder writes at full quality (storage forecast). */
  fullRateBytesPerS(): number {
    const b = this.o.board.encoder;
    return (((b.bitrateKbps ?? 2000) + (b.audioBitrateKbps ?? 64)) * 1000) / 8;
  }

  // ------------------------------------------------------------------ encoder runs

  /** ffmpeg's stderr and argv carry a network camera's URL: its secrets never reach a log or the journal. */
  private redact(text: string): string {
    return this.o.camera().redact?.(text) ?? text;
  }

  /**
   * Why run `run` ended unexpectedly. A network camera is asked (a real round trip, up to its
   * timeout): "no media" from a camera that does not answer is camera loss, not an encoder crash.
   */
  private async interruptionCause(how: { stalled: boolean }): Promise<GapCause> {
    const camera = this.o.camera();
    const lost = camera.reachable ? !(await camera.reachable()) : !camera.present();
    return lost ? 'camera_lost' : this.o.belowFloor().below ? 'storage_full' : how.stalled ? 'encoder_stall' : 'encoder_crash';
  }

  private createEncoder(): EncoderSupervisor {
    const cam = this.o.board.camera;
    const enc = new EncoderSupervisor({
      prepareRun: () => this.prepareRun(),
      // BODYCAM_ENCODER_PARK=off: every run starts cold (diagnosis; the bench's baseline).
      park: process.env.BODYCAM_ENCODER_PARK !== 'off',
      stallMs: this.o.policy().encoderStallS * 1000,
      // A lost IP camera is retried often (its cap bounds how much a gap outlasts the outage); a
      // local device that failed is not hammered. The first restart after a healthy run (the
      // backoff resets on every valid segment) is immediate: a fixed 175–250 ms wait was most of
      // the SIGKILL → next frame gap; a run that fails again is paced from 250 ms on.
      backoff: { initialMs: 250, maxMs: cam.source === 'rtsp' ? (cam.reconnectMaxS ?? RTSP_RECONNECT_MAX_S) * 1000 : 10_000, jitter: 0.3, immediateFirst: true },
      log: this.o.log.child('encoder'),
      redact: (t) => this.redact(t),
    });
    enc.on('runStarted', (r) => {
      this.lastRunNo = r.run;
      this.o.evidence.current?.sealer.runStarted(r.run, this.encoderFps());
      if (r.pid) this.pidfile.write(r.pid);
      this.o.faults.clear('encoder_start');
      this.emit('runStarted', r.run);
      this.emit('run', r.run);
      this.emit('changed');
    });
    enc.on('runFailed', (reason, err, retryInMs) => {
      this.failedStarts++;
      if (err instanceof StorageFloorError) return; // the storage guard owns that fault
      if (err instanceof CameraLostError) {
        // The interval without media is the camera's, also when it was never there since the
        // start: a planned start that has not produced media yet becomes this loss (holdGap).
        this.o.evidence.current?.sealer.holdGap('camera_lost', evidenceClock.now());
        this.o.faults.set('camera_lost', `${this.redact(describe(err))}; next attempt in ${Math.round(retryInMs)} ms`);
        return;
      }
      this.o.faults.set('encoder_start', `run (${reason}) could not start: ${describe(err)}; next attempt in ${Math.round(retryInMs)} ms`);
    });
    enc.on('firstFrame', (_r, p) => {
      const req = this.startRequest;
      if (!req) return;
      const ms = Math.round(p.atMono - req.at);
      const list = req.reason === 'resume' ? this.latencies.resume : this.latencies.start;
      list.push(ms);
      if (list.length > 20) list.shift();
      this.o.log.info('first frame', { reason: req.reason, latencyMs: ms });
      this.startRequest = undefined;
    });
    enc.on('progress', (r, p) => {
      this.fpsNow = p.fps;
      this.dropped = p.dropFrames;
      this.o.evidence.current?.sealer.progress(r.run, p.outTimeS, p.atWall);
    });
    enc.on('segment', (r, seg) => {
      void this.o.evidence.current?.sealer.segmentClosed(r.run, seg.file, seg.mediaStart, seg.mediaEnd, seg.closedAtWall);
    });
    enc.on('analysis', (r, stream, chunk) => this.emit('analysis', r.run, stream, chunk));
    enc.on('runEnded', (r, exit, how) => {
      this.fpsNow = 0;
      this.emit('runEnded', r.run);
      this.pidfile.remove();
      this.emit('changed');
      const s = this.o.evidence.current;
      if (!s) return;
      if (!how.unexpected) {
        void s.sealer.recoverUnlisted(r.run, undefined);
        return;
      }
      const cause = this.interruptionCause(how);
      const detail = this.redact(`run ${r.run}: exit code ${exit.code ?? '-'} signal ${exit.signal ?? '-'}: ${exit.stderrTail.slice(-3).join(' | ') || '(no stderr)'}`);
      // The sealer takes the cause as a promise, in its queue: the next run's segments are sealed
      // after this interruption is journaled, however long the camera takes to answer.
      void s.sealer.recoverUnlisted(r.run, cause);
      // One fault record per interruption; a repeat of the same cause still journals (new run).
      void cause.then((c) => this.o.faults.raiseAgain(c, detail));
    });
    return enc;
  }

  private async prepareRun(): Promise<RunPlan> {
    const s = this.o.evidence.current;
    if (!s) throw new BodycamError('STATE', 'no open shift to record into');
    const floor = this.o.belowFloor();
    if (floor.below) throw new StorageFloorError(floor.freeBytes);
    const bin = encoderBinary();
    if (!findExecutable(bin)) throw new EncoderError(`encoder binary '${bin}' not found or not executable`);
    await s.sealer.drain();
    const b = this.o.board;
    let device: string | undefined;
    let url: string | undefined;
    if (b.camera.source === 'rtsp') {
      const camera = this.o.camera();
      try {
        await camera.probe();
      } catch (e) {
        // Not answering is loss (retried, paced); a bad credentials file is a config error (raised
        // as encoder_start with its message, retried too: it may be fixed in place).
        if (isDeviceError(e)) throw new CameraLostError(describe(e));
        throw e;
      }
      url = camera.streamUrl?.();
    }
    if (b.camera.source === 'v4l2') {
      const camera = this.o.camera();
      try {
        await camera.probe();
        device = camera.devicePath();
      } catch (e) {
        // Let ffmpeg fail on the missing device: the supervisor paces retries and the gap says why.
        this.o.faults.set('camera', describe(e));
        device = b.camera.device;
      }
    }
    this.inputs = { device, url };
    // The sealer's stage: the shift dir, a tmpfs stage (encryption), or in custody mode one stable
    // dir for every period, so a period rotation never restarts the encoder.
    const stageDir = s.sealer.stageDir;
    return { outDir: stageDir, argv: this.argvFor(nextSegmentNumber(s.sealer.lastSegmentNumber, [stageDir, s.dir]), this.inputs) };
  }

  /** A run's argv from segment `startNumber` with the current quality, scene, analysis and tap. */
  private argvFor(startNumber: number, inputs: { device: string | undefined; url: string | undefined }): ArgvFor {
    const b = this.o.board;
    const scene = b.camera.source === 'lavfi' ? this.o.scene?.() : undefined;
    const analysis = this.o.analysis?.();
    const { device, url } = inputs;
    const args: Omit<RecordingArgs, 'outDir'> = {
      video: { kind: b.camera.source, width: b.camera.width, height: b.camera.height, fps: b.camera.fps, ...(device ? { device } : {}), ...(url ? { url, timeoutS: b.camera.timeoutS ?? RTSP_TIMEOUT_S } : {}), ...(b.camera.inputFormat ? { inputFormat: b.camera.inputFormat } : {}), ...(scene ? { scene: scene.video } : {}) },
      audio: { kind: b.audio.source, sampleRate: b.audio.sampleRate ?? 48000, channels: b.audio.channels ?? 1, ...(b.audio.device ? { device: b.audio.device } : {}), ...(scene && b.audio.source === 'lavfi' ? { scene: scene.audio } : {}) },
      encoder: {
        video: b.encoder.video,
        preset: b.encoder.preset ?? 'veryfast',
        videoKbps: this.videoKbps(),
        audioKbps: b.encoder.audioBitrateKbps ?? 64,
        fps: this.encoderFps(),
      },
      burnIn: b.encoder.burnIn === false ? undefined : { deviceId: this.o.deviceId, font: b.encoder.font ?? DEFAULT_FONT },
      segmentS: this.o.policy().segmentS,
      startNumber,
      ...(analysis ? { analysis } : {}),
      ...(this.o.liveTap ? { liveTap: this.o.liveTap } : {}),
    };
    return (outDir, progress) => buildRecordingArgs({ ...args, outDir, progress });
  }

  /**
   * While nothing records, keeps a run parked for what comes next (hal/encoder/parking.ts): the
   * resume of the paused shift (its next segment number), or a new shift's start (segment 1). A
   * network camera is parked for only once its stream URL is known. A wrong guess costs nothing
   * but the parked process: the start finds it does not match and spawns cold.
   */
  private parkNext(): void {
    const enc = this.encoder;
    if (!enc || enc.isWanted || this.halted) return;
    const b = this.o.board;
    if (b.camera.source === 'rtsp' && this.inputs.url === undefined) return;
    const s = this.o.evidence.current;
    const startNumber = s ? s.sealer.lastSegmentNumber + 1 : 1;
    const inputs = { device: this.inputs.device ?? (b.camera.source === 'v4l2' ? b.camera.device : undefined), url: this.inputs.url };
    void enc.parkNext(this.argvFor(startNumber, inputs));
  }
}

/**
 * A segment number is never reused: beyond the journal's last one, files on disk keep theirs —
 * unsealed leftovers in the stage, and (encryption) ciphertext a power cut left unjournaled in
 * the shift dir, which a reused number would overwrite.
 */
export function nextSegmentNumber(lastJournaled: number, dirs: readonly string[]): number {
  let max = lastJournaled;
  for (const dir of dirs) {
    try {
      // One name at a time: at hour 11 the shift dir names 19,800 segments (lib/dir-names.ts).
      eachNameSync(dir, (n) => {
        const m = SEGMENT_RE.exec(n.endsWith('.enc') ? n.slice(0, -4) : n);
        if (m) max = Math.max(max, Number(m[1]));
      });
    } catch {
      continue;
    }
  }
  return max + 1;
}
