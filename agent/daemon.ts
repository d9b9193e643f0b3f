/**
 * The daemon: composes the agent's rooms and executes the shift machine's effects. It owns no
 * domain logic of its own:
 *   shift/machine.ts          the pure transition table (state, event) → (state, effects)
 *   evidence/shift-evidence   open / reopen / close a shift's journal and sealer; device journal
 *   recording/pipeline        the supervised encoder, segment numbering, quality, fps, latency
 *   storage/guard             free space watched: degrade, hold at the floor, resume
 *   faults/registry           active faults, journaled, on the LED
 *   control/ops, status-builder, extensions
 *
 * Transitions are all-or-nothing: the new state and the effects it still owes are persisted
 * before the effects run; an effect that fails stays owed (persisted), raises the `transition`
 * fault and is retried, paced by the shared backoff, until it succeeds — and status never says
 * RECORDING while nothing records (it says FAULT). A restart resumes the persisted state and
 * replays owed journal records.
 *
 * Start order: identity → journals → devices → pipeline → resume an open shift → control socket
 * → storage guard → extensions → READY. Stop order is the reverse. The instance lock and the
 * pre-flight checks are taken before the daemon is constructed (cli/commands/agent.ts).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createLogger, type Logger } from './lib/log.js';
import { TypedEmitter } from './lib/typed-emitter.js';
import { systemClock, type Timer } from './lib/clock.js';
import { evidenceClock } from './lib/evidence-clock.js';
import { Backoff } from './lib/backoff.js';
import { describe } from './lib/errors.js';
import type { Fields, JournalRecord, WrittenRecord } from './evidence/journal.js';
import { createSegmentStorer, type SegmentStorer } from './evidence/storer.js';
import { ShiftEvidence, isShiftClosedError } from './evidence/shift-evidence.js';
import { isJournalDamagedError } from './evidence/journal.js';
import { findOpenShiftId } from './evidence/open-shift.js';
import { JournalReserve } from './evidence/journal-reserve.js';
import type { GapCause } from './evidence/sealer.js';
import { shiftStateTimes, transition, type Effect, type ShiftEvent, type ShiftState, type TimerName } from './shift/machine.js';
import { GestureRecogniser, type Gesture } from './shift/gestures.js';
import { StateStore, type PersistedState } from './shift/state-store.js';
import { Feedback } from './feedback.js';
import { ControlServer } from './control/server.js';
import { controlSocketPath } from './control/protocol.js';
import { registerControlOps } from './control/ops.js';
import { RecordingPipeline, ENCODER_FAULTS } from './recording/pipeline.js';
import { StorageGuard } from './storage/guard.js';
import { FaultRegistry } from './faults/registry.js';
import { buildStatus } from './status-builder.js';
import { createHal, type Hal } from '../hal/index.js';
import type { BoardConfig } from './config/board.js';
import type { AgentConfig } from './config/agent-config.js';
import type { Policy } from './config/policy.js';
import type { AgentBusEvents, AgentContext, Extension, Services } from './extension.js';
import { EXTENSIONS } from './extensions.js';
import type { StatusSnapshot } from './status.js';
import { loadIdentity } from './identity/identity.js';
import { JournalSigner } from './evidence/signer.js';
import { FIRMWARE_VERSION } from './version.js';
import { wireClockSource, type ClockReport } from '../hal/clock/index.js';
import { PolicyStore } from './config/policy-store.js';
import { DutyController } from './duty/controller.js';
import { ObstructionRoom, ANALYSIS_FORMAT } from './obstruction/room.js';
import { sceneFor } from '../hal/sim/lavfi-camera.js';
import { NO_PAUSES, foldPauseRecord, pauseUseReport, type PauseUsage } from './shift/pause-budget.js';
import { LocationRoom } from './location/room.js';
import { timeProvenance } from './location/time-provenance.js';
import { ClockWatch } from './location/clock-watch.js';

export interface DaemonOptions {
  readonly dataDir: string;
  readonly board: BoardConfig;
  readonly config: AgentConfig;
}

class Bus extends TypedEmitter<AgentBusEvents> {
  fire<K extends keyof AgentBusEvents & string>(k: K, ...a: AgentBusEvents[K]): void {
    this.emit(k, ...a);
  }
}

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export class Daemon {
  private readonly log: Logger;
  private readonly bus = new Bus();
  private readonly store: StateStore;
  private readonly policyStore: PolicyStore;
  private readonly control: ControlServer;
  private readonly storer: SegmentStorer;
  private readonly faults: FaultRegistry;
  private readonly evidence: ShiftEvidence;
  private readonly reserve: JournalReserve;
  private readonly bootId = readBootId();
  private readonly startedAt = Date.now();
  private readonly timers = new Map<TimerName, Timer>();
  private readonly serviceMap = new Map<string, unknown>();
  private readonly extensions: Extension[] = [];
  private readonly owedBackoff = new Backoff({ initialMs: 500, maxMs: 15_000, jitter: 0.3 });
  private hal: Hal | undefined;
  private feedback: Feedback | undefined;
  private gestures: GestureRecogniser | undefined;
  private pipeline: RecordingPipeline | undefined;
  private guard: StorageGuard | undefined;
  private obstruction: ObstructionRoom | undefined;
  private signer: JournalSigner | undefined;
  private duty: DutyController | undefined;
  private deviceId = 'unprovisioned';
  private policy: Policy;
  private policySource = 'config';
  private state: ShiftState = { name: 'OFF_DUTY' };
  /** Effects of the last transition(s) not yet carried out, in order. */
  private owed: Effect[] = [];
  private owedRetry: NodeJS.Timeout | undefined;
  private owedAttempts = 0;
  private persistQueued = false;
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  private housekeeping: NodeJS.Timeout | undefined;
  private clockWatch: ClockWatch | undefined;
  private location: LocationRoom | undefined;
  private battery: StatusSnapshot['battery'] = null;
  private temperatureC: number | null = null;
  /** The open shift's pause-budget use: folded from its journal records as they are written. */
  private pauseUsage: PauseUsage = NO_PAUSES;
  /** The shift the next one continues (its `shift_start.continues`): set when a damaged journal closed it. */
  private continuation: { shift_id: string; cause: 'journal_damaged' } | undefined;

  constructor(private readonly o: DaemonOptions) {
    this.log = createLogger('agent');
    this.policy = o.config.policy;
    this.store = new StateStore(o.dataDir, this.log.child('state'));
    this.policyStore = new PolicyStore(o.dataDir);
    this.control = new ControlServer(controlSocketPath(o.dataDir), this.log.child('control'));
    this.storer = createSegmentStorer(o.config);
    this.faults = new FaultRegistry(this.log.child('faults'));
    this.reserve = new JournalReserve(o.dataDir);
    this.evidence = new ShiftEvidence({
      dataDir: o.dataDir,
      storer: this.storer,
            log: this.log.child('evidence'),
      onSealed: () => this.onSealed(),
      onRecord: (shiftId, r) => {
        if (shiftId) this.pauseUsage = foldPauseRecord(this.pauseUsage, r.record);
        this.bus.fire('record', shiftId, r);
      },
      onNoSpace: () => this.guard?.releaseReserve() ?? this.reserve.release() > 0,
      onPendingGap: () => this.persistSoon(),
      segmentFields: () => this.segmentFields(),
      onWriteTrouble: (path, err) => (err ? this.faults.set('journal_write', `${path}: ${describe(err)}; records held in memory and retried`) : this.faults.clear('journal_write')),
    });
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    const { dataDir, board } = this.o;
    // Central's last signed policy outlives restarts (policy.json); the config's is the base.
    const persistedPolicy = this.policyStore.load(this.o.config.policy);
    if (persistedPolicy) {
      this.policy = persistedPolicy.policy;
      this.policySource = `persisted:${persistedPolicy.source}`;
    }
    this.loadIdentity();
    this.evidence.start();
    if (persistedPolicy) this.evidence.deviceJournal.append('policy', { source: this.policySource, policy: this.policy, saved_at: persistedPolicy.at });
    this.faults.attach({
      journal: (type, fields) => void this.journal(type, fields),
      led: (on) => this.feedback?.setFault(on),
      changed: () => this.statusChanged(),
    });

    const persisted = this.loadState();

    this.hal = await createHal(board);
    this.feedback = new Feedback(this.hal.outputs);
    if (this.faults.size) this.feedback.setFault(true);
    await this.startDevices(this.hal);
    this.clockWatch = new ClockWatch({ clock: this.hal.clock, journal: (t, f) => void this.journal(t, f), serialize: (fn) => this.dispatchTask(fn), changed: () => this.statusChanged(), stepped: (ms) => this.clockStepped(ms), log: this.log.child('clock') });
    this.clockWatch.start();
    if (this.hal.gnss) {
      this.location = new LocationRoom({ gnss: this.hal.gnss, policy: () => this.policy, journal: (t, f) => void this.journal(t, f), onDuty: () => this.evidence.current !== undefined, log: this.log.child('location') });
      this.location.start();
    }

    this.pipeline = new RecordingPipeline({
      dataDir,
      board,
      deviceId: this.deviceId,
      policy: () => this.policy,
      storer: this.storer,
      evidence: this.evidence,
      faults: this.faults,
      camera: () => this.hal!.camera,
      journal: (type, fields) => void this.journal(type, fields),
      belowFloor: () => this.guard?.belowFloor() ?? { below: false, freeBytes: 0 },
      serialize: (fn) => this.dispatchTask(fn),
      log: this.log.child('recording'),
      analysis: () => (this.obstruction?.wanted ? ANALYSIS_FORMAT : undefined),
      scene: () => (this.hal?.sim ? sceneFor(dataDir, this.hal.sim.state) : undefined),
    });
    this.obstruction = new ObstructionRoom({
      pipeline: this.pipeline,
      policy: () => this.policy,
      faults: this.faults,
      journal: (type, fields) => void this.journal(type, fields),
      nag: () => this.feedback?.nag(),
      log: this.log.child('obstruction'),
    });
    this.obstruction.start();
    this.pipeline.on('run', () => this.persist(false));
    this.pipeline.on('changed', () => this.statusChanged());
    this.pipeline.start();
    this.guard = new StorageGuard({
      dataDir,
      minFreeMb: board.storage.minFreeMb ?? 256,
      policy: () => this.policy,
      faults: this.faults,
      recorder: this.pipeline,
      reserve: this.reserve,
      serialize: (fn) => this.dispatchTask(fn),
      log: this.log.child('storage'),
    });

    this.gestures = new GestureRecogniser(
      systemClock,
      () => ({
        onDuty: this.state.name === 'RECORDING' || this.state.name === 'PAUSED',
        paused: this.state.name === 'PAUSED',
        endArmed: (this.state.name === 'RECORDING' || this.state.name === 'PAUSED') && this.state.endArmedUntil !== null,
        shiftStartHoldS: this.policy.shiftStartHoldS,
        shiftEndHoldS: this.policy.shiftEndHoldS,
        doublePressS: this.policy.doublePressS,
      }),
      (g) => this.onGesture(g),
      board.buttons.debounceMs ?? 20,
      { oneKey: board.buttons.layout === 'one-key', ack: () => this.feedback?.ack() },
    );
    this.hal.buttons.on('edge', (e) => this.gestures!.edge(e));
    this.startDuty(this.hal, persisted);

    this.evidence.deviceJournal.append('note', { what: 'agent_started', firmware: FIRMWARE_VERSION, board: board.name, boot_id: this.bootId, device_id: this.deviceId });
    if (persisted && persisted.shift.name !== 'OFF_DUTY') await this.dispatchTask(() => this.resumeWithRetry(persisted));
    else {
      this.feedback.setBase('off_duty');
      this.persist(false);
    }
    if (persisted?.owed?.length) await this.dispatchTask(() => this.replayOwedRecords(persisted.owed ?? []));
    // Duty triggers act only now that an open shift is resumed (a trigger on a stale OFF_DUTY would open a second shift).
    this.duty?.arm();

    // The socket opens only once the shift is resumed (or its retry is scheduled, status FAULT):
    // before that, `status` would answer OFF_DUTY for a camera that is on duty.
    registerControlOps(this.control, { dataDir, boardName: board.name, hal: () => this.hal!, status: () => this.status(), settled: () => this.queue });
    await this.control.start();

    this.guard.start();
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
    this.clockWatch?.stop();
    this.location?.stop();
    if (this.owedRetry) clearTimeout(this.owedRetry);
    this.guard?.stop();
    this.gestures?.reset();
    this.duty?.stop();
    await this.queue.catch(() => undefined);
    for (const t of this.timers.values()) t.cancel();
    await this.pipeline?.stop();
    this.obstruction?.stop();
    await this.evidence.suspend(evidenceClock.now());
    this.persist(true);
    this.evidence.deviceJournal.append('note', { what: 'agent_stopped' });
    for (const ext of [...this.extensions].reverse()) {
      try {
        await ext.stop();
      } catch (e) {
        this.log.error('extension stop failed', { ext: ext.name, err: e });
      }
    }
    this.evidence.stop();
    await this.control.stop();
    this.feedback?.stop();
    const h = this.hal;
    for (const d of [h?.buttons, h?.outputs, h?.gauge, h?.dock, h?.thermal, h?.camera, h?.clock, h?.gnss]) {
      try {
        await d?.stop();
      } catch (e) {
        this.log.warn('device stop failed', { err: e });
      }
    }
    this.log.info('agent stopped');
  }

  private loadIdentity(): void {
    const identity = loadIdentity(this.o.dataDir);
    this.deviceId = this.o.config.deviceId ?? identity?.deviceId ?? `unprovisioned-${hostname()}`;
    if (!identity) this.log.warn('no device identity: run `bodycam provision`; journals will not be signed', { deviceId: this.deviceId });
    else if (identity.deviceId === this.deviceId) this.signer = new JournalSigner(identity, this.policy.signEverySegments);
    else this.log.warn('config deviceId differs from the provisioned identity: journals will not be signed', { config: this.deviceId, identity: identity.deviceId });
    this.evidence.setSigner(this.signer);
  }

  /**
   * The persisted state, or — when state.json is missing or unreadable — the open shift the
   * journals tell of (a shift whose journal has no shift_end at all), or off duty.
   */
  private loadState(): PersistedState | undefined {
    const p = this.store.load();
    if (p) return p;
    const id = findOpenShiftId(this.o.dataDir);
    if (!id) return undefined;
    this.log.warn('no readable state file: resuming the shift whose journal has no shift_end', { shiftId: id });
    // The device journal still tells whether this is the same boot (agent crash) or a new one.
    return { v: 1, shift: { name: 'RECORDING', shiftId: id, endArmedUntil: null }, bootId: this.evidence.previousBootId ?? 'unknown', lastRun: 0, clean: false, at: '', owed: [] };
  }

  private async startDevices(hal: Hal): Promise<void> {
    const devices: Array<[string, { start(): Promise<void> } | undefined]> = [
      ['buttons', hal.buttons],
      ['outputs', hal.outputs],
      ['gauge', hal.gauge],
      ['dock', hal.dock],
      ['thermal', hal.thermal],
      ['camera', hal.camera],
      ['clock', hal.clock],
      ['gnss', hal.gnss],
    ];
    for (const [name, d] of devices) {
      try {
        await d?.start();
      } catch (e) {
        // A missing device is a fault, never a reason not to record.
        this.faults.set(name, describe(e));
      }
    }
    hal.buttons.on('error', (e) => this.faults.set('buttons', e.message));
  }

  /** Duty triggers (dock, central, schedule), wearer and battery forecast: agent/duty/. */
  private startDuty(hal: Hal, persisted: PersistedState | undefined): void {
    this.duty = new DutyController(this.o.dataDir, {
      clock: systemClock,
      log: this.log.child('duty'),
      policy: () => this.policy,
      onDuty: () => this.state.name === 'RECORDING' || this.state.name === 'PAUSED',
      startShift: (trigger) => void this.dispatch({ type: 'duty_start', trigger }),
      endShift: (reason) => void this.dispatch({ type: 'duty_end', reason }),
      journal: (type, fields) => void this.journal(type, fields),
      feedback: (p) => this.feedback?.play(p),
      setFault: (name, detail) => this.faults.set(name, detail),
      batteryRuntimeMin: () => this.battery?.runtimeMin ?? null,
      charging: () => this.battery?.charging ?? null,
    });
    const open = persisted && persisted.shift.name !== 'OFF_DUTY' && 'shiftId' in persisted.shift ? persisted.shift.shiftId : null;
    this.duty.start(hal.dock ? hal.dock.docked() : null, open);
    hal.dock?.on('change', (docked) => this.duty?.dockChanged(docked));
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
        this.faults.set(`ext_${ext?.name ?? entry.name}`, describe(e));
        this.log.error('extension failed to start; recording goes on', { ext: ext?.name ?? entry.name, err: e });
      }
    }
  }

  // ---------------------------------------------------------------- the machine

  /** Serialises machine events: each runs its effects to completion before the next. */
  dispatch(e: ShiftEvent): Promise<void> {
    return this.dispatchTask(() => this.apply(e));
  }

  /** Runs a task in the machine's queue so it never interleaves with a transition. */
  private dispatchTask(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn).catch((err: unknown) => {
      this.log.error('task failed', { err });
      this.faults.set('agent', describe(err));
    });
    this.queue = next;
    return next;
  }

  private async apply(e: ShiftEvent): Promise<void> {
    const now = evidenceClock.now();
    const t = transition(this.state, e, this.policy, now, () => this.newShiftId(now), this.pauseUsage);
    const before = this.state;
    this.state = t.state;
    this.owed.push(...t.effects);
    // The new state and what it owes are on disk before any effect runs.
    if (before !== t.state || this.owed.length) this.persist(false);
    await this.runOwed(now);
    if (before.name !== t.state.name) this.log.info('state', { from: before.name, to: t.state.name, shiftId: 'shiftId' in t.state ? t.state.shiftId : undefined });
    this.statusChanged();
  }

  /**
   * Carries out the owed effects in order. The first that fails stops the run: it stays owed
   * (persisted), the `transition` fault says which and why, and a paced retry follows.
   */
  private async runOwed(now = evidenceClock.now()): Promise<void> {
    if (this.owedRetry) clearTimeout(this.owedRetry);
    this.owedRetry = undefined;
    const hadOwed = this.owed.length > 0;
    if (hadOwed) this.owedAttempts++;
    while (this.owed.length) {
      const eff = this.owed[0]!;
      try {
        await this.execute(eff, now);
      } catch (err) {
        const delay = this.owedBackoff.next();
        this.faults.set('transition', `${eff.t}${'action' in eff ? ` ${eff.action}` : ''} failed: ${describe(err)}; retrying in ${Math.round(delay / 1000)} s`);
        this.log.error('effect failed; the transition stays owed', { effect: eff.t, err, retryInMs: delay });
        this.persist(false);
        if (!this.stopping) {
          this.owedRetry = setTimeout(() => void this.dispatchTask(() => this.runOwed()), delay);
        }
        this.statusChanged();
        return;
      }
      this.owed.shift();
    }
    if (hadOwed) {
      this.owedBackoff.reset();
      this.faults.clear('transition');
      this.persist(false);
    }
  }

  private async execute(eff: Effect, now: number): Promise<void> {
    switch (eff.t) {
      case 'open_shift':
        this.duty?.prepareShift(eff.shiftId, eff.trigger ?? 'button');
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
        this.feedback?.play(eff.pattern);
        return;
      case 'encoder':
        // The gap to the first frame runs from the transition's decision (the instant shift_start
        // or the resume is stamped with), not from when this effect got the CPU: under load the
        // two differ by hundreds of ms, and that interval must be accounted for.
        if (eff.action === 'start') await this.pipeline!.begin(eff.reason === 'resume' ? 'resume' : 'start', now, 'encoder_start');
        else await this.pipeline!.end(evidenceClock.now());
        return;
      case 'close_shift':
        await this.closeShift(eff.reason, now);
        void this.dispatch({ type: 'closed' });
        return;
    }
  }

  private onGesture(g: Gesture): void {
    this.log.info('gesture', { gesture: g.kind, heldS: g.heldS });
    void this.dispatch({ type: 'gesture', gesture: g.kind, ...(g.heldS !== undefined ? { heldS: g.heldS } : {}), ...(g.pressedAt !== undefined ? { pressedAt: g.pressedAt } : {}) });
  }

  private newShiftId(now: number): string {
    const ts = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return `${ts}-${this.deviceId}`;
  }

  // ---------------------------------------------------------------- shifts

  private openShift(shiftId: string, now: number, visit?: (r: JournalRecord) => void): ReturnType<ShiftEvidence['open']> {
    const wasOpen = this.evidence.current?.shiftId === shiftId;
    const opened = this.evidence.open(shiftId, now, () => ({
      shift_id: shiftId,
      device_id: this.deviceId,
      board: this.o.board.name,
      firmware: FIRMWARE_VERSION,
      boot_id: this.bootId,
      policy: this.policy,
      clock: this.clockWatch?.report ?? null,
      ...this.duty?.startFields(shiftId),
      ...(this.continuation ? { continues: this.continuation } : {}),
    }), visit);
    this.continuation = undefined;
    if (!wasOpen) {
      this.pipeline!.shiftOpened();
      this.location?.shiftOpened();
      if (opened.existing.length === 0) {
        // Queued behind this transition: the encoder start comes first (no hole after shift_start).
        void this.dispatchTask(async () => this.duty?.afterShiftStarted());
        const f = this.guard?.forecast(this.pipeline!.fullRateBytesPerS());
        if (f && !f.fits) this.feedback?.play('refused');
      }
    }
    return opened;
  }

  private async closeShift(reason: string, decidedAt: number): Promise<void> {
    const s = await this.evidence.close(reason, decidedAt);
    if (!s) return;
    this.guard?.shiftClosed();
    this.duty?.shiftClosed();
    this.faults.clear('journal_damaged');
    this.persist(false);
    this.bus.fire('shiftClosed', s.shiftId);
    this.log.info('shift closed', { shiftId: s.shiftId, reason, segments: s.sealer.segments });
  }

  /** What each `segment` record says about where and on which clock it was recorded. */
  private segmentFields(): Record<string, unknown> {
    const gnss = this.hal?.gnss?.state();
    return {
      ...(this.location ? { location: this.location.segmentLocation() } : {}),
      clock: timeProvenance(this.clockWatch?.report, gnss?.fix, performance.now()),
    };
  }

  /**
   * Resumes, and if that fails (the stage dir is gone, the disk is unreadable…) says so — the
   * persisted state stands, status shows FAULT — and tries again, paced, until it works.
   */
  private async resumeWithRetry(p: PersistedState): Promise<void> {
    this.owedAttempts++;
    try {
      await this.resumeAfterRestart(p);
      this.faults.clear('transition');
      this.owedBackoff.reset();
    } catch (err) {
      this.state = p.shift;
      const delay = this.owedBackoff.next();
      this.faults.set('transition', `resuming shift ${'shiftId' in p.shift ? p.shift.shiftId : ''} failed: ${describe(err)}; retrying in ${Math.round(delay / 1000)} s`);
      this.log.error('resume after restart failed; retrying', { err, retryInMs: delay });
      if (!this.stopping) this.owedRetry = setTimeout(() => void this.dispatchTask(() => this.resumeWithRetry(p)), delay);
      this.statusChanged();
    }
  }

  /** The agent (re)started with a shift open: account for the interval and resume at once. */
  private async resumeAfterRestart(p: PersistedState): Promise<void> {
    const shift = p.shift as Exclude<ShiftState, { name: 'OFF_DUTY' }>;
    const now = evidenceClock.now();
    const cause: GapCause = p.clean ? 'agent_stopped' : p.bootId !== this.bootId ? 'power_loss' : 'agent_restart';
    let existing;
    // The pause budget is whatever the journal says was used (every record, not the restart's
    // view of them): nothing else to persist.
    let pauses = NO_PAUSES;
    let damaged: { setAside: string; message: string } | undefined;
    try {
      existing = this.openShift(shift.shiftId, now, (r) => (pauses = foldPauseRecord(pauses, r))).existing;
    } catch (e) {
      if (isShiftClosedError(e)) {
        // A stale state file names a closed shift: it stays sealed; the device is off duty.
        this.log.warn('state file names a closed shift: it is not reopened', { shiftId: shift.shiftId });
        this.evidence.deviceJournal.append('recovery', { what: 'stale_state_closed_shift', shift_id: shift.shiftId });
        this.state = { name: 'OFF_DUTY' };
        this.feedback?.setBase('off_duty');
        this.persist(false);
        return;
      }
      if (!isJournalDamagedError(e)) throw e;
      const d = this.evidence.openDamaged(shift.shiftId, e, now);
      existing = d.existing;
      damaged = { setAside: d.setAside, message: e.message };
    }
    this.duty?.resumed(shift.shiftId, existing[0]?.type === 'shift_start' ? existing[0] : undefined);
    this.pauseUsage = pauses;
    // Run numbers go on from the journal's if the state file lost them.
    const journaledRun = Math.max(0, ...existing.filter((r) => r.type === 'segment').map((r) => Number(r.run) || 0));
    this.pipeline!.lastRun = Math.max(p.lastRun, journaledRun);
    this.log.warn('resuming open shift after restart', { shiftId: shift.shiftId, cause, state: shift.name });
    const since = await this.evidence.accountForRestart({
      existing,
      cause,
      previousBootId: p.bootId,
      bootId: this.bootId,
      state: shift.name,
      // The journal's highest run when the state file lost it: the killed run's unlisted segment is
      // then placed on that run's anchor, not guessed from its file's mtime.
      lastRun: this.pipeline!.lastRun,
      pendingGap: shift.name === 'RECORDING' ? p.pendingGap ?? undefined : undefined,
      savedAt: Date.parse(p.at),
    });
    if (damaged) return this.continueAfterDamage(shift.shiftId, damaged.setAside, damaged.message, since || now, cause, now);
    this.state = shift.name === 'CLOSING' ? shift : { ...shift, endArmedUntil: null };
    if (shift.name === 'RECORDING') {
      this.feedback?.play('recording');
      await this.pipeline!.begin('recover', since || now, cause);
    } else if (shift.name === 'PAUSED') {
      this.feedback?.play('paused');
      const left = shift.until - now;
      if (left <= 0) void this.dispatch({ type: 'pause_expired' });
      else {
        this.timers.set('pause_expired', systemClock.setTimer(left, () => void this.dispatch({ type: 'pause_expired' })));
        const warnIn = left - this.policy.autoResumeWarningS * 1000;
        if (warnIn > 0) this.timers.set('pause_warning', systemClock.setTimer(warnIn, () => void this.dispatch({ type: 'pause_warning' })));
        void this.dispatch({ type: 'pause_budget_warning' }); // re-arms (or raises) the paused-time warning
      }
    } else {
      await this.closeShift(shift.reason, now);
      this.state = { name: 'OFF_DUTY' };
    }
    this.persist(false);
  }

  /**
   * The restarted shift's journal was damaged (openDamaged set it aside and opened it past the
   * damage; the restart is accounted for as ever). A bit flip must not silence the camera: the
   * shift is closed as damaged with what it proves, and recording starts again at once in a new
   * shift that names it (`shift_start.continues`, trigger `recovery`). A paused shift's pause is
   * not carried over: its record may be the damaged one, and recording more is the safe side.
   */
  private async continueAfterDamage(shiftId: string, setAside: string, message: string, since: number, cause: GapCause, now: number): Promise<void> {
    await this.evidence.closeDamaged(since, cause, now);
    this.bus.fire('shiftClosed', shiftId);
    this.state = { name: 'OFF_DUTY' };
    this.continuation = { shift_id: shiftId, cause: 'journal_damaged' };
    await this.apply({ type: 'duty_start', trigger: 'recovery' });
    this.faults.set('journal_damaged', `shift ${shiftId}: ${message}; set aside as ${setAside} and closed as damaged; recording continues in shift ${'shiftId' in this.state ? this.state.shiftId : '?'}`);
  }

  /**
   * A wall-clock step was journaled and evidence time moved by `stepMs`: the journals, the
   * sealer, the machine's instants and the duty window move with it (one timeline).
   */
  private clockStepped(stepMs: number): void {
    this.evidence.clockStepped(stepMs);
    this.state = shiftStateTimes(this.state, stepMs);
    this.persist(false);
    this.duty?.clockStepped();
  }

  /** Journal records a transition decided before the restart but may not have written. */
  private async replayOwedRecords(owed: readonly Effect[]): Promise<void> {
    for (const eff of owed) {
      if (eff.t === 'journal') this.journal(eff.type, { ...eff.fields, replayed_after_restart: true });
    }
  }

  /** Coalesces the persists of one tick (a gap ends and the next begins in the same seal). */
  private persistSoon(): void {
    if (this.persistQueued || this.stopping) return;
    this.persistQueued = true;
    queueMicrotask(() => {
      this.persistQueued = false;
      this.persist(false);
    });
  }

  private persist(clean: boolean): void {
    try {
      this.store.save({ shift: this.state, bootId: this.bootId, lastRun: this.pipeline?.lastRun ?? 0, clean, owed: this.owed, pendingGap: this.evidence.current?.sealer.pending ?? null });
      this.faults.clear('storage');
    } catch (e) {
      this.faults.set('storage', `cannot persist state: ${describe(e)}`);
    }
  }

  journal(type: string, fields: Fields, at?: number): WrittenRecord {
    return this.evidence.journal(type, fields, at);
  }

  private onSealed(): void {
    this.pipeline?.noteHealthy();
    // The last segment of a run stopped at the storage floor proves nothing about the fault.
    // One statfs per segment: the guard's look decides both its thresholds and the hold.
    const below = this.guard?.check() ?? false;
    const held = this.pipeline?.haltedFor ?? (below ? 'storage_full' : undefined);
    for (const f of ENCODER_FAULTS) if (f !== held) this.faults.clear(f);
    this.statusChanged();
  }

  // ---------------------------------------------------------------- status, context

  status(): StatusSnapshot {
    return buildStatus({
      deviceId: this.deviceId,
      board: this.o.board.name,
      bootId: this.bootId,
      startedAt: this.startedAt,
      state: this.state,
      owedEffects: this.owed.length,
      owedAttempts: this.owedAttempts,
      evidence: this.evidence,
      pipeline: this.pipeline,
      faults: this.faults,
      storage: this.guard,
      obstruction: this.obstruction,
      hal: this.hal,
      extensions: this.extensions,
      battery: this.battery,
      temperatureC: this.temperatureC,
      duty: this.duty?.status(),
      pauseUse: 'shiftId' in this.state ? pauseUseReport(this.pauseUsage, this.policy, this.state.name === 'PAUSED' ? this.state : null, evidenceClock.now()) : null,
      ...(this.location ? { location: this.location.status() } : {}),
      clock: clockStatus(this.clockWatch?.report),
    });
  }

  private statusChanged(): void {
    if (this.hal) this.bus.fire('status', this.status());
  }

  /** Slow periodic upkeep: the off-duty LED shows an offload in progress. */
  private tick(): void {
    if (this.state.name !== 'OFF_DUTY' || !this.feedback) return;
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

  private context(): AgentContext {
    const services: Services = {
      provide: (name, impl) => void this.serviceMap.set(name, impl),
      get: <T>(name: string) => this.serviceMap.get(name) as T | undefined,
    };
    services.provide('feedback', { identify: (s: number) => this.feedback?.identify(s) });
    if (this.duty) services.provide('duty', this.duty);
    services.provide('power', { report: (b: StatusSnapshot['battery'], t: number | null) => this.reportPower(b, t) });
    return {
      dataDir: this.o.dataDir,
      deviceId: this.deviceId,
      board: this.o.board,
      config: this.o.config,
      hal: this.hal!,
      log: this.log,
      bus: this.bus,
      services,
      policy: () => this.policy,
      setPolicy: (p, source) => this.setPolicy(p, source),
      status: () => this.status(),
      journal: (type, fields) => this.journal(type, fields),
      setFault: (name, detail) => this.faults.set(name, detail),
      signDeviceJournal: (why) => this.evidence.signDevice(why),
      shiftDir: (id) => this.evidence.shiftDir(id),
      forceEndShift: (reason) => void this.dispatch({ type: 'force_end', reason }),
      setDegrade: (source, level) => this.pipeline?.setDegrade(source, level),
      registerControlOp: (op, h) => this.control.register(op, h),
    };
  }

  /**
   * SIGHUP: the config file's policy applies again — unless central set one by signed command
   * since (that is newer intent and persists until central changes it).
   */
  reloadConfigPolicy(p: Policy): void {
    void this.dispatchTask(async () => {
      if (this.policySource.startsWith('command:') || this.policySource.startsWith('persisted:')) {
        this.log.warn('SIGHUP: the policy set by central stays in force; config policy not applied', { source: this.policySource });
        this.journal('note', { what: 'sighup', applied: false, reason: `policy from ${this.policySource} stays in force` });
        return;
      }
      this.setPolicy(p, 'config_reload');
    });
  }

  setPolicy(p: Policy, source: string): void {
    // Saved before applied: a policy that cannot be persisted is refused, not half-applied.
    if (source.startsWith('command:')) this.policyStore.save(p, source);
    this.policySource = source;
    this.policy = p;
    this.signer?.setSignEverySegments(p.signEverySegments);
    this.journal('policy', { source, policy: p });
    this.bus.fire('policy', p);
  }

  private notifySystemd(msg: string): void {
    if (!process.env.NOTIFY_SOCKET) return;
    const notify = this.serviceMap.get('systemd-notify') as ((m: string) => void) | undefined;
    if (notify) notify(msg);
  }
}

/** The clock section of status: the wire source (gnss/ntp/rtc/none) beside the daemon behind it. */
function clockStatus(c: ClockReport | undefined) {
  return c ? { source: wireClockSource(c), synced: c.synced, daemon: c.source, rtc: c.rtc, offsetS: c.offsetS } : undefined;
}
