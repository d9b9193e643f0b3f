/**
 * The daemon: the thin shell around the pure shift machine. It owns the HAL, the encoder
 * supervisor, the open shift's evidence, the control socket and the extensions, and executes the
 * machine's effects. Start order: state → devices → control socket → resume an open shift →
 * extensions → READY. Stop order is the reverse.
 */
import { mkdirSync, readFileSync, existsSync, readdirSync, statfsSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { createLogger, type Logger } from './lib/log.js';
import { TypedEmitter } from './lib/typed-emitter.js';
import { systemClock, type Timer } from './lib/clock.js';
import { describe, BodycamError } from './lib/errors.js';
import { Journal, isoMs, type Fields, type WrittenRecord, type JournalRecord } from './evidence/journal.js';
import { ShiftSealer, type GapCause } from './evidence/sealer.js';
import { createSegmentStorer, type SegmentStorer } from './evidence/storer.js';
import { transition, type Effect, type ShiftEvent, type ShiftState, type TimerName } from './shift/machine.js';
import { GestureRecogniser, type Gesture } from './shift/gestures.js';
import { StateStore, type PersistedState } from './shift/state-store.js';
import { Feedback } from './feedback.js';
import { ControlServer } from './control/server.js';
import { controlSocketPath } from './control/protocol.js';
import { EncoderSupervisor, type RunReason } from '../hal/encoder/supervisor.js';
import { buildRecordingArgs, SEGMENT_RE } from '../hal/encoder/args.js';
import { createHal, type Hal, type ButtonName, type VirtualButtons } from '../hal/index.js';
import type { BoardConfig } from './config/board.js';
import type { AgentConfig } from './config/agent-config.js';
import type { Policy } from './config/policy.js';
import { PolicyStore } from './config/policy-store.js';
import type { AgentBusEvents, AgentContext, Extension, Services } from './extension.js';
import { EXTENSIONS } from './extensions.js';
import type { StatusSnapshot } from './status.js';
import { loadIdentity } from './identity/identity.js';
import { JournalSigner, attachSigner } from './evidence/signer.js';
import { FIRMWARE_VERSION } from './version.js';
import type { SimState } from '../hal/sim/sim-world.js';

export interface DaemonOptions {
  readonly dataDir: string;
  readonly board: BoardConfig;
  readonly config: AgentConfig;
}

interface OpenShift {
  readonly shiftId: string;
  readonly dir: string;
  readonly journal: Journal;
  readonly sealer: ShiftSealer;
  /** `at` of the shift_start record. */
  readonly startedAt: string;
}

class Bus extends TypedEmitter<AgentBusEvents> {
  fire<K extends keyof AgentBusEvents & string>(k: K, ...a: AgentBusEvents[K]): void {
    this.emit(k, ...a);
  }
}

/** Faults that a fresh valid segment proves over. */
const ENCODER_FAULTS = ['encoder_crash', 'encoder_stall', 'camera_lost', 'storage_full', 'camera'] as const;
const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';
const DEGRADE = [
  { kbps: 1, fps: 1 },
  { kbps: 0.6, fps: 1 },
  { kbps: 0.35, fps: 0.5 },
] as const;

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat): pid reuse guard. */
function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class Daemon {
  private readonly log: Logger;
  private readonly bus = new Bus();
  private readonly store: StateStore;
  private readonly control: ControlServer;
  private readonly storer: SegmentStorer;
  private readonly bootId = readBootId();
  private readonly startedAt = Date.now();
  private readonly timers = new Map<TimerName, Timer>();
  private readonly faults = new Map<string, string>();
  private readonly degradeBySource = new Map<string, number>();
  private readonly serviceMap = new Map<string, unknown>();
  private readonly extensions: Extension[] = [];
  private hal!: Hal;
  private feedback!: Feedback;
  private gestures!: GestureRecogniser;
  private encoder!: EncoderSupervisor;
  private deviceJournal!: Journal;
  private deviceId = 'unprovisioned';
  private policy: Policy;
  private readonly policyStore: PolicyStore;
  private state: ShiftState = { name: 'OFF_DUTY' };
  private shift: OpenShift | undefined;
  private lastRun = 0;
  private degradeLevel = 0;
  private fps = 0;
  private droppedFrames = 0;
  private startRequestMono: { at: number; reason: RunReason } | undefined;
  private latencies: { start: number[]; resume: number[] } = { start: [], resume: [] };
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  private signer: JournalSigner | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private battery: StatusSnapshot['battery'] = null;
  private temperatureC: number | null = null;

  constructor(private readonly o: DaemonOptions) {
    this.log = createLogger('agent');
    this.policy = o.config.policy;
    this.policyStore = new PolicyStore(o.dataDir);
    this.store = new StateStore(o.dataDir, this.log.child('state'));
    this.control = new ControlServer(controlSocketPath(o.dataDir), this.log.child('control'));
    this.storer = createSegmentStorer(o.config);
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    const { dataDir, board } = this.o;
    mkdirSync(join(dataDir, 'shifts'), { recursive: true });
    // Central's last accepted set_policy outlives restarts; before anything reads this.policy.
    const persistedPolicy = this.policyStore.load(this.o.config.policy);
    if (persistedPolicy) this.policy = persistedPolicy.policy;
    const identity = loadIdentity(dataDir);
    this.deviceId = this.o.config.deviceId ?? identity?.deviceId ?? `unprovisioned-${hostname()}`;
    if (!identity) this.log.warn('no device identity: run `bodycam provision`; journals will not be signed', { deviceId: this.deviceId });
    else if (identity.deviceId === this.deviceId) this.signer = new JournalSigner(identity, this.policy.signEverySegments);
    else this.log.warn('config deviceId differs from the provisioned identity: journals will not be signed', { config: this.deviceId, identity: identity.deviceId });
    this.deviceJournal = new Journal(dataDir, Date.now, 'device-journal.jsonl');
    this.deviceJournal.open();
    this.deviceJournal.on('record', (r) => this.bus.fire('record', null, r));
    if (persistedPolicy) this.deviceJournal.append('policy', { source: `persisted:${persistedPolicy.source}`, policy: this.policy, saved_at: persistedPolicy.at });

    const persisted = this.store.load() ?? this.findOpenShift();
    this.killStaleEncoder();

    this.hal = await createHal(board);
    this.feedback = new Feedback(this.hal.outputs);
    await this.startDevices();
    this.encoder = this.createEncoder();
    this.gestures = new GestureRecogniser(
      systemClock,
      () => ({
        onDuty: this.state.name === 'RECORDING' || this.state.name === 'PAUSED',
        paused: this.state.name === 'PAUSED',
        shiftStartHoldS: this.policy.shiftStartHoldS,
        shiftEndHoldS: this.policy.shiftEndHoldS,
        doublePressS: this.policy.doublePressS,
      }),
      (g) => this.onGesture(g),
      board.buttons.debounceMs ?? 20,
    );
    this.hal.buttons.on('edge', (e) => this.gestures.edge(e));

    this.registerControlOps();
    await this.control.start();

    this.deviceJournal.append('note', { what: 'agent_started', firmware: FIRMWARE_VERSION, board: board.name, boot_id: this.bootId, device_id: this.deviceId });
    if (persisted && persisted.shift.name !== 'OFF_DUTY') await this.resumeAfterRestart(persisted);
    else {
      this.feedback.setBase('off_duty');
      this.persist(false);
    }

    await this.startExtensions();
    this.housekeeping = setInterval(() => this.tick(), 2000);
    this.notifySystemd('READY=1');
    this.log.info('agent ready', { deviceId: this.deviceId, board: board.name, state: this.state.name, socket: controlSocketPath(dataDir) });
  }

  /**
   * Stop order: no new events → encoder finalizes its segment → last records journaled and
   * signed → extensions stop (telemetry still delivers those records before OFFLINE) → journals,
   * control socket, outputs and devices close.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.notifySystemd('STOPPING=1');
    this.log.info('agent stopping', { state: this.state.name });
    if (this.housekeeping) clearInterval(this.housekeeping);
    this.gestures?.reset();
    await this.queue.catch(() => undefined);
    for (const t of this.timers.values()) t.cancel();
    if (this.encoder) await this.encoder.stop();
    if (this.shift) {
      await this.shift.sealer.drain();
      this.shift.sealer.stopExpecting(Date.now());
      this.shift.journal.append('note', { what: 'agent_stopped_during_shift' });
      this.signFinal(this.shift.journal, 'agent_stop');
    }
    this.persist(true);
    this.deviceJournal?.append('note', { what: 'agent_stopped' });
    for (const ext of [...this.extensions].reverse()) {
      try {
        await ext.stop();
      } catch (e) {
        this.log.error('extension stop failed', { ext: ext.name, err: e });
      }
    }
    this.shift?.journal.close();
    this.deviceJournal?.close();
    await this.control.stop();
    this.feedback?.stop();
    for (const d of [this.hal?.buttons, this.hal?.outputs, this.hal?.gauge, this.hal?.dock, this.hal?.thermal, this.hal?.camera]) {
      try {
        await d?.stop();
      } catch (e) {
        this.log.warn('device stop failed', { err: e });
      }
    }
    this.removePidfile();
    this.log.info('agent stopped');
  }

  private async startDevices(): Promise<void> {
    const devices: Array<[string, { start(): Promise<void> } | undefined]> = [
      ['buttons', this.hal.buttons],
      ['outputs', this.hal.outputs],
      ['gauge', this.hal.gauge],
      ['dock', this.hal.dock],
      ['thermal', this.hal.thermal],
      ['camera', this.hal.camera],
    ];
    for (const [name, d] of devices) {
      try {
        await d?.start();
      } catch (e) {
        // A missing device is a fault, never a reason not to record.
        this.setFault(name, describe(e));
      }
    }
    this.hal.buttons.on('error', (e) => this.setFault('buttons', e.message));
  }

  private async startExtensions(): Promise<void> {
    const ctx = this.context();
    for (const entry of EXTENSIONS) {
      let ext: Extension | undefined;
      try {
        if (!entry.wanted(this.o.config, this.o.board)) continue;
        ext = (await entry.load())(this.o.config, this.o.board);
        if (!ext) continue;
        await ext.start(ctx);
        this.extensions.push(ext);
        this.log.info('extension started', { ext: ext.name });
      } catch (e) {
        this.setFault(`ext_${ext?.name ?? entry.name}`, describe(e));
        this.log.error('extension failed to start; recording goes on', { ext: ext?.name ?? entry.name, err: e });
      }
    }
  }

  // ---------------------------------------------------------------- the machine

  /** Serialises machine events: each runs its effects to completion before the next. */
  dispatch(e: ShiftEvent): Promise<void> {
    const next = this.queue.then(() => this.apply(e)).catch((err: unknown) => {
      this.log.error('event handling failed', { event: e, err });
      this.setFault('agent', describe(err));
    });
    this.queue = next;
    return next;
  }

  private async apply(e: ShiftEvent): Promise<void> {
    const now = Date.now();
    const t = transition(this.state, e, this.policy, now, () => this.newShiftId(now));
    const before = this.state;
    this.state = t.state;
    if (before !== t.state) this.persist(false);
    for (const eff of t.effects) await this.execute(eff, now);
    if (before.name !== t.state.name) this.log.info('state', { from: before.name, to: t.state.name, shiftId: 'shiftId' in t.state ? t.state.shiftId : undefined });
    this.bus.fire('status', this.status());
  }

  private async execute(eff: Effect, now: number): Promise<void> {
    switch (eff.t) {
      case 'open_shift':
        this.openShift(eff.shiftId, now);
        return;
      case 'journal':
        // Stamped at write time: `at` never goes backwards even when a seal ran in between.
        this.journal(eff.type, eff.fields);
        return;
      case 'timer': {
        this.timers.get(eff.name)?.cancel();
        this.timers.delete(eff.name);
        if (eff.ms !== null) {
          const name = eff.name;
          this.timers.set(name, systemClock.setTimer(eff.ms, () => void this.dispatch({ type: name })));
        }
        return;
      }
      case 'feedback':
        this.feedback.play(eff.pattern);
        return;
      case 'encoder':
        if (eff.action === 'start') {
          this.shift!.sealer.expectMedia(now, 'encoder_start');
          this.startRequestMono = { at: performance.now(), reason: eff.reason === 'resume' ? 'resume' : 'start' };
          await this.encoder.start(eff.reason === 'resume' ? 'resume' : 'start');
        } else {
          this.shift?.sealer.stopExpecting(now);
          await this.encoder.stop();
          await this.shift?.sealer.drain();
        }
        return;
      case 'close_shift':
        await this.closeShift(eff.reason, now);
        void this.dispatch({ type: 'closed' });
        return;
    }
  }

  private onGesture(g: Gesture): void {
    this.log.info('gesture', { gesture: g.kind, heldS: g.heldS });
    void this.dispatch({ type: 'gesture', gesture: g.kind, ...(g.heldS !== undefined ? { heldS: g.heldS } : {}) });
  }

  private newShiftId(now: number): string {
    const ts = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return `${ts}-${this.deviceId}`;
  }

  // ---------------------------------------------------------------- shifts and evidence

  /** Opens (or reopens) a shift's evidence; returns the records already in its journal. */
  private openShift(shiftId: string, now: number): JournalRecord[] {
    const dir = join(this.o.dataDir, 'shifts', shiftId);
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const journal = new Journal(dir);
    const existing = journal.open();
    const stageDir = this.storer.stageDir(shiftId, dir);
    mkdirSync(stageDir, { recursive: true, mode: 0o700 });
    const sealer = new ShiftSealer(dir, stageDir, journal, this.storer, this.log.child('sealer'), {
      onSealed: () => {
        this.encoder.noteHealthy();
        for (const f of ENCODER_FAULTS) this.clearFault(f);
        this.checkStorage();
        this.bus.fire('status', this.status());
      },
    });
    sealer.restore(existing);
    journal.on('record', (r) => this.bus.fire('record', shiftId, r));
    if (this.signer) attachSigner(journal, this.signer, existing);
    const startedAt = existing[0]?.type === 'shift_start' ? existing[0].at : isoMs(now);
    this.shift = { shiftId, dir, journal, sealer, startedAt };
    this.lastRun = 0;
    this.encoder.lastRun = 0;
    if (existing.length === 0) {
      journal.append(
        'shift_start',
        {
          shift_id: shiftId,
          device_id: this.deviceId,
          board: this.o.board.name,
          firmware: FIRMWARE_VERSION,
          boot_id: this.bootId,
          policy: this.policy,
          clock: this.clockInfo(),
        },
        now,
      );
    }
    return existing;
  }

  private async closeShift(reason: string, decidedAt: number): Promise<void> {
    const s = this.shift;
    if (!s) return;
    await s.sealer.drain();
    s.sealer.stopExpecting(decidedAt);
    s.journal.append('shift_end', { reason, end: isoMs(decidedAt), segments: s.sealer.segments, media_s: Math.round(s.sealer.mediaS * 1000) / 1000 });
    this.signFinal(s.journal, 'shift_end');
    s.journal.close();
    this.shift = undefined;
    this.removePidfile();
    this.persist(false);
    this.bus.fire('shiftClosed', s.shiftId);
    this.log.info('shift closed', { shiftId: s.shiftId, reason, segments: s.sealer.segments });
  }

  private clockInfo(): { source: string; synced: boolean } {
    // systemd-timesyncd touches this file once the clock is synchronised; chrony/ntpd users map it.
    const synced = existsSync('/run/systemd/timesync/synchronized');
    return { source: synced ? 'ntp' : existsSync('/dev/rtc0') ? 'rtc' : 'system', synced };
  }

  /** No readable state.json: an open shift is one whose journal does not end with shift_end. */
  private findOpenShift(): PersistedState | undefined {
    const root = join(this.o.dataDir, 'shifts');
    if (!existsSync(root)) return undefined;
    for (const id of readdirSync(root).sort().reverse()) {
      const p = join(root, id, 'journal.jsonl');
      if (!existsSync(p)) continue;
      const lines = readFileSync(p, 'utf8').trimEnd().split('\n');
      let last: JournalRecord | undefined;
      for (const l of lines.reverse()) {
        try {
          last = JSON.parse(l) as JournalRecord;
          break;
        } catch {
          continue;
        }
      }
      if (last && last.type !== 'shift_end') {
        this.log.warn('found an open shift without state file', { shiftId: id });
        return { v: 1, shift: { name: 'RECORDING', shiftId: id, endArmedUntil: null }, bootId: 'unknown', lastRun: 0, clean: false, at: '' };
      }
      return undefined;
    }
    return undefined;
  }

  /** The agent (re)started with a shift open: account for the interval and resume at once. */
  private async resumeAfterRestart(p: PersistedState): Promise<void> {
    const shift = p.shift as Exclude<ShiftState, { name: 'OFF_DUTY' }>;
    const now = Date.now();
    const cause: GapCause = p.clean ? 'agent_stopped' : p.bootId !== this.bootId ? 'power_loss' : 'agent_restart';
    const existing = this.openShift(shift.shiftId, now);
    const s = this.shift!;
    this.lastRun = p.lastRun;
    this.encoder.lastRun = p.lastRun;
    s.journal.append('recovery', { what: cause, previous_boot_id: p.bootId, boot_id: this.bootId, state: shift.name });
    this.log.warn('resuming open shift after restart', { shiftId: shift.shiftId, cause, state: shift.name });
    // Segments the dead encoder wrote but nobody journaled are evidence too.
    await s.sealer.recoverUnlisted(p.lastRun, undefined);
    await s.sealer.drain();
    const lastResume = existing.findLast((r) => r.type === 'resume' || r.type === 'shift_start');
    const since = Math.max(s.sealer.mediaEndWall ?? 0, lastResume ? Date.parse(lastResume.at) : 0);
    this.state = shift.name === 'CLOSING' ? shift : { ...shift, endArmedUntil: null };
    if (shift.name === 'RECORDING') {
      s.sealer.expectMedia(since || now, cause);
      this.startRequestMono = { at: performance.now(), reason: 'recover' };
      await this.encoder.start('recover');
      this.feedback.play('recording');
    } else if (shift.name === 'PAUSED') {
      this.feedback.play('paused');
      const left = shift.until - now;
      if (left <= 0) void this.dispatch({ type: 'pause_expired' });
      else {
        this.timers.set('pause_expired', systemClock.setTimer(left, () => void this.dispatch({ type: 'pause_expired' })));
        const warnIn = left - this.policy.autoResumeWarningS * 1000;
        if (warnIn > 0) this.timers.set('pause_warning', systemClock.setTimer(warnIn, () => void this.dispatch({ type: 'pause_warning' })));
      }
    } else {
      await this.closeShift(shift.reason, now);
      this.state = { name: 'OFF_DUTY' };
    }
    this.persist(false);
  }

  private signFinal(j: Journal, why: string): void {
    try {
      this.signer?.signNow(j, why);
    } catch (e) {
      this.log.error('final signature failed; the verifier will report the unsigned tail', { err: e });
    }
  }

  private persist(clean: boolean): void {
    try {
      this.store.save({ shift: this.state, bootId: this.bootId, lastRun: this.lastRun, clean });
    } catch (e) {
      this.setFault('storage', `cannot persist state: ${describe(e)}`);
    }
  }

  journal(type: string, fields: Fields, at?: number): WrittenRecord {
    return (this.shift?.journal ?? this.deviceJournal).append(type, fields, at);
  }

  // ---------------------------------------------------------------- encoder

  private createEncoder(): EncoderSupervisor {
    const enc = new EncoderSupervisor({
      prepareRun: (reason) => this.prepareRun(reason),
      stallMs: this.policy.encoderStallS * 1000,
      backoff: { initialMs: 250, maxMs: 10_000, jitter: 0.3 },
      log: this.log.child('encoder'),
    });
    enc.on('runStarted', (r) => {
      this.lastRun = r.run;
      this.shift?.sealer.runStarted(r.run, this.encoderFps());
      if (r.pid) this.writePidfile(r.pid);
      this.persist(false);
    });
    enc.on('firstFrame', (_r, p) => {
      if (!this.startRequestMono) return;
      const ms = p.atMono - this.startRequestMono.at;
      const list = this.startRequestMono.reason === 'resume' ? this.latencies.resume : this.latencies.start;
      list.push(Math.round(ms));
      if (list.length > 20) list.shift();
      this.log.info('first frame', { reason: this.startRequestMono.reason, latencyMs: Math.round(ms) });
      this.startRequestMono = undefined;
    });
    enc.on('progress', (r, p) => {
      this.fps = p.fps;
      this.droppedFrames = p.dropFrames;
      this.shift?.sealer.progress(r.run, p.outTimeS, p.atWall);
    });
    enc.on('segment', (r, seg) => {
      void this.shift?.sealer.segmentClosed(r.run, seg.file, seg.mediaStart, seg.mediaEnd, seg.closedAtWall);
    });
    enc.on('runEnded', (r, exit, how) => {
      const s = this.shift;
      if (!s) return;
      if (!how.unexpected) {
        void s.sealer.recoverUnlisted(r.run, undefined);
        return;
      }
      const cause: GapCause = !this.hal.camera.present() ? 'camera_lost' : this.storageFull() ? 'storage_full' : how.stalled ? 'encoder_stall' : 'encoder_crash';
      const detail = `run ${r.run}: exit code ${exit.code ?? '-'} signal ${exit.signal ?? '-'}: ${exit.stderrTail.slice(-3).join(' | ') || '(no stderr)'}`;
      // One fault record per interruption; a repeat of the same cause still journals (new run).
      this.faults.delete(cause);
      this.setFault(cause, detail);
      void s.sealer.recoverUnlisted(r.run, cause);
    });
    return enc;
  }

  private encoderFps(): number {
    const b = this.o.board;
    return Math.max(1, Math.round(b.camera.fps * DEGRADE[this.degradeLevel]!.fps));
  }

  private async prepareRun(reason: RunReason): Promise<string[]> {
    const s = this.shift;
    if (!s) throw new BodycamError('STATE', 'no open shift to record into');
    await s.sealer.drain();
    const b = this.o.board;
    let device: string | undefined;
    if (b.camera.source === 'v4l2') {
      try {
        await this.hal.camera.probe();
        device = this.hal.camera.devicePath();
      } catch (e) {
        // Let ffmpeg fail on the missing device: the supervisor paces retries and the gap says why.
        this.setFault('camera', describe(e));
        device = b.camera.device;
      }
    }
    const stageDir = this.storer.stageDir(s.shiftId, s.dir);
    // Never reuse a number: files beyond the journal (unsealed leftovers) keep theirs.
    let maxOnDisk = 0;
    for (const n of readdirSync(stageDir)) {
      const m = SEGMENT_RE.exec(n);
      if (m) maxOnDisk = Math.max(maxOnDisk, Number(m[1]));
    }
    const startNumber = Math.max(s.sealer.lastSegmentNumber, maxOnDisk) + 1;
    const d = DEGRADE[this.degradeLevel]!;
    const argv = buildRecordingArgs({
      video: { kind: b.camera.source, width: b.camera.width, height: b.camera.height, fps: b.camera.fps, ...(device ? { device } : {}), ...(b.camera.inputFormat ? { inputFormat: b.camera.inputFormat } : {}) },
      audio: { kind: b.audio.source, sampleRate: b.audio.sampleRate ?? 48000, channels: b.audio.channels ?? 1, ...(b.audio.device ? { device: b.audio.device } : {}) },
      encoder: {
        video: b.encoder.video,
        preset: b.encoder.preset ?? 'veryfast',
        videoKbps: Math.max(100, Math.round((b.encoder.bitrateKbps ?? 2000) * d.kbps)),
        audioKbps: b.encoder.audioBitrateKbps ?? 64,
        fps: this.encoderFps(),
      },
      burnIn: b.encoder.burnIn === false ? undefined : { deviceId: this.deviceId, font: b.encoder.font ?? DEFAULT_FONT },
      segmentS: this.policy.segmentS,
      startNumber,
      outDir: stageDir,
    });
    this.log.debug('encoder argv', { reason, argv });
    return argv;
  }

  private get pidfile(): string {
    return join(this.o.dataDir, 'encoder.pid');
  }
  private writePidfile(pid: number): void {
    try {
      writeFileSync(this.pidfile, JSON.stringify({ pid, start: procStartTime(pid) }));
    } catch (e) {
      this.log.warn('cannot write encoder pidfile', { err: e });
    }
  }
  private removePidfile(): void {
    try {
      unlinkSync(this.pidfile);
    } catch {
      /* absent */
    }
  }

  /** An encoder left by a killed agent would write into our shift: end it before anything else. */
  private killStaleEncoder(): void {
    let rec: { pid?: number; start?: string };
    try {
      rec = JSON.parse(readFileSync(this.pidfile, 'utf8')) as { pid?: number; start?: string };
    } catch {
      return;
    }
    if (typeof rec.pid === 'number' && rec.start && procStartTime(rec.pid) === rec.start) {
      this.log.warn('killing encoder left by a previous agent', { pid: rec.pid });
      try {
        process.kill(rec.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
      const until = Date.now() + 3000;
      while (procStartTime(rec.pid) === rec.start && Date.now() < until) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    this.removePidfile();
  }

  // ---------------------------------------------------------------- faults, degrade, storage

  setFault(name: string, detail: string | null): void {
    if (detail === null) return this.clearFault(name);
    if (this.faults.get(name) === detail) return;
    const isNew = !this.faults.has(name);
    this.faults.set(name, detail);
    this.feedback?.setFault(true);
    if (isNew) {
      this.log.warn('fault', { fault: name, detail });
      try {
        if (this.deviceJournal) this.journal('fault', { fault: name, detail });
      } catch (e) {
        this.log.error('cannot journal fault', { err: e });
      }
    }
  }

  private clearFault(name: string): void {
    if (!this.faults.delete(name)) return;
    this.log.info('fault cleared', { fault: name });
    try {
      this.journal('recovery', { what: 'fault_cleared', fault: name });
    } catch (e) {
      this.log.error('cannot journal recovery', { err: e });
    }
    if (this.faults.size === 0) this.feedback?.setFault(false);
  }

  setDegrade(source: string, level: number): void {
    const l = Math.max(0, Math.min(DEGRADE.length - 1, Math.round(level)));
    if (l === 0) this.degradeBySource.delete(source);
    else this.degradeBySource.set(source, l);
    const eff = Math.max(0, ...this.degradeBySource.values());
    if (eff === this.degradeLevel) return;
    this.degradeLevel = eff;
    const b = this.o.board;
    this.journal('degrade', { level: eff, source, video_kbps: Math.round((b.encoder.bitrateKbps ?? 2000) * DEGRADE[eff]!.kbps), fps: this.encoderFps() });
    if (this.state.name === 'RECORDING') {
      void this.dispatchTask(async () => {
        const s = this.shift;
        if (!s) return;
        await this.encoder.stop();
        await s.sealer.drain();
        s.sealer.expectMedia(s.sealer.mediaEndWall ?? Date.now(), 'encoder_reconfigure');
        await this.encoder.start('reconfigure');
      });
    }
  }

  /** Runs a task in the machine's queue so it never interleaves with a transition. */
  private dispatchTask(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn).catch((e: unknown) => this.log.error('task failed', { err: e }));
    this.queue = next;
    return next;
  }

  private storageInfo(): { freeBytes: number; totalBytes: number } | null {
    try {
      const st = statfsSync(this.o.dataDir);
      return { freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize };
    } catch {
      return null;
    }
  }

  private storageFull(): boolean {
    const s = this.storageInfo();
    return s !== null && s.freeBytes < 1024 * 1024;
  }

  private checkStorage(): void {
    const s = this.storageInfo();
    if (!s) return;
    const low = s.freeBytes < (this.o.board.storage.minFreeMb ?? 256) * 1024 * 1024;
    if (low) {
      this.setFault('storage_low', `${Math.round(s.freeBytes / 1048576)} MiB free`);
      this.setDegrade('storage', 2);
    } else if (this.faults.has('storage_low')) {
      this.clearFault('storage_low');
      this.setDegrade('storage', 0);
    }
  }

  // ---------------------------------------------------------------- status, control, context

  status(): StatusSnapshot {
    const st = this.state;
    const sh = this.shift;
    const ext: Record<string, Record<string, unknown>> = {};
    for (const e of this.extensions) {
      try {
        const v = e.status?.();
        if (v) ext[e.name] = v;
      } catch (err) {
        ext[e.name] = { error: describe(err) };
      }
    }
    const outputs: Record<string, boolean> = {};
    for (const n of ['led_rec', 'led_status', 'haptic', 'buzzer'] as const) if (this.hal?.outputs.has(n)) outputs[n] = this.hal.outputs.get(n);
    return {
      deviceId: this.deviceId,
      board: this.o.board.name,
      firmware: FIRMWARE_VERSION,
      bootId: this.bootId,
      startedAt: isoMs(this.startedAt),
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      // SPEC's OFFLOADING: off duty while a closed shift is being uploaded.
      state: st.name === 'OFF_DUTY' && (ext.offload as { active?: unknown } | undefined)?.active === true ? 'OFFLOADING' : st.name,
      shiftId: 'shiftId' in st ? st.shiftId : null,
      shiftStartedAt: sh?.startedAt ?? null,
      pauseReason: st.name === 'PAUSED' ? st.reason : null,
      pauseLeftS: st.name === 'PAUSED' ? Math.max(0, Math.round((st.until - Date.now()) / 1000)) : null,
      segments: sh?.sealer.segments ?? 0,
      bytes: sh?.sealer.bytes ?? 0,
      mediaS: Math.round((sh?.sealer.mediaS ?? 0) * 10) / 10,
      lastSegmentAt: sh?.sealer.lastSegmentAt ? isoMs(sh.sealer.lastSegmentAt) : null,
      fps: this.fps,
      droppedFrames: this.droppedFrames,
      encoderRestarts: this.encoder?.restartCount ?? 0,
      encoderRunning: this.encoder?.running ?? false,
      degradeLevel: this.degradeLevel,
      faults: Object.fromEntries(this.faults),
      journalHead: sh?.journal.head ?? null,
      outputs,
      battery: this.battery,
      temperatureC: this.temperatureC,
      docked: this.hal?.dock ? this.hal.dock.docked() : null,
      storage: this.storageInfo(),
      ext: {
        ...ext,
        latency: { startMs: [...this.latencies.start], resumeMs: [...this.latencies.resume] },
        encoder: { pid: this.encoder?.pid ?? null, run: this.lastRun },
      },
    };
  }

  /** Slow periodic upkeep: the off-duty LED shows an offload in progress. */
  private tick(): void {
    if (this.state.name !== 'OFF_DUTY') return;
    const off = this.extensions.find((e) => e.name === 'offload')?.status?.();
    const active = off?.active === true;
    if (active && this.feedback.baseName !== 'offloading') this.feedback.setBase('offloading');
    else if (!active && this.feedback.baseName === 'offloading') this.feedback.setBase('off_duty');
  }

  /** Extensions that read power report here, so status and heartbeats carry it. */
  reportPower(battery: StatusSnapshot['battery'], temperatureC: number | null): void {
    this.battery = battery;
    this.temperatureC = temperatureC;
  }

  private registerControlOps(): void {
    this.control.register('status', async () => ({ status: this.status() }));
    this.control.register('press', async (req) => this.press(req));
    this.control.register('sim', async (req) => this.simSet(req));
  }

  private async press(req: Record<string, unknown>): Promise<{ pressed: string }> {
    if (!this.hal.buttons.virtual) throw new BodycamError('USAGE', `board '${this.o.board.name}' has real buttons: virtual presses are refused`);
    const button = req.button;
    if (button !== 'shift' && button !== 'privacy') throw new BodycamError('USAGE', 'button must be "shift" or "privacy"');
    const holdS = req.holdS === undefined ? 0.1 : Number(req.holdS);
    const count = req.count === undefined ? 1 : Number(req.count);
    if (!Number.isFinite(holdS) || holdS < 0 || holdS > 30) throw new BodycamError('USAGE', 'holdS must be a number of seconds in [0, 30]');
    if (!Number.isInteger(count) || count < 1 || count > 5) throw new BodycamError('USAGE', 'count must be an integer in [1, 5]');
    const vb = this.hal.buttons as VirtualButtons;
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 120));
      vb.inject(button as ButtonName, true);
      await new Promise((r) => setTimeout(r, holdS * 1000));
      vb.inject(button as ButtonName, false);
    }
    // Let the recogniser's consequences (a hold fired at release time) reach the machine.
    await new Promise((r) => setTimeout(r, 10));
    await this.queue;
    return { pressed: `${button} x${count} hold ${holdS}s` };
  }

  private async simSet(req: Record<string, unknown>): Promise<{ sim: SimState }> {
    const sim = this.hal.sim;
    if (!sim) throw new BodycamError('USAGE', `board '${this.o.board.name}' simulates nothing`);
    const set = req.set;
    if (typeof set !== 'object' || set === null) throw new BodycamError('USAGE', 'sim needs "set": {...}');
    const allowed: Record<keyof SimState, 'number' | 'boolean'> = { batteryPct: 'number', voltageV: 'number', charging: 'boolean', currentMa: 'number', docked: 'boolean', tempC: 'number' };
    const patch: Partial<SimState> = {};
    for (const [k, v] of Object.entries(set)) {
      const type = allowed[k as keyof SimState];
      if (!type) throw new BodycamError('USAGE', `unknown sim field '${k}' (known: ${Object.keys(allowed).join(', ')})`);
      if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) throw new BodycamError('USAGE', `sim field '${k}' must be a ${type}`);
      (patch as Record<string, unknown>)[k] = v;
    }
    if (patch.batteryPct !== undefined && (patch.batteryPct < 0 || patch.batteryPct > 100)) throw new BodycamError('USAGE', 'batteryPct must be in [0, 100]');
    sim.update(patch);
    return { sim: { ...sim.state } };
  }

  private context(): AgentContext {
    const services: Services = {
      provide: (name, impl) => void this.serviceMap.set(name, impl),
      get: <T>(name: string) => this.serviceMap.get(name) as T | undefined,
    };
    services.provide('feedback', { identify: (s: number) => this.feedback.identify(s) });
    services.provide('power', { report: (b: StatusSnapshot['battery'], t: number | null) => this.reportPower(b, t) });
    return {
      dataDir: this.o.dataDir,
      deviceId: this.deviceId,
      board: this.o.board,
      config: this.o.config,
      hal: this.hal,
      log: this.log,
      bus: this.bus,
      services,
      policy: () => this.policy,
      setPolicy: (p, source) => {
        // Saved before applied: if it cannot be saved it throws, and the command is refused
        // rather than applied for this run only.
        this.policyStore.save(p, source);
        this.policy = p;
        this.signer?.setSignEverySegments(p.signEverySegments);
        this.journal('policy', { source, policy: p });
        this.bus.fire('policy', p);
      },
      status: () => this.status(),
      journal: (type, fields) => this.journal(type, fields),
      setFault: (name, detail) => this.setFault(name, detail),
      shiftDir: (id) => join(this.o.dataDir, 'shifts', id),
      forceEndShift: (reason) => void this.dispatch({ type: 'force_end', reason }),
      setDegrade: (source, level) => this.setDegrade(source, level),
      registerControlOp: (op, h) => this.control.register(op, h),
    };
  }

  private notifySystemd(msg: string): void {
    if (!process.env.NOTIFY_SOCKET) return;
    const notify = this.serviceMap.get('systemd-notify') as ((m: string) => void) | undefined;
    if (notify) notify(msg);
  }
}

