/**
 * The daemon only composes: it builds the agent's rooms, starts them in one declared order and
 * stops them in reverse, and tells systemd READY / STOPPING. Each domain lives in its own file:
 *   shift/runner.ts        the event queue, effect execution, owed-effect retry, state persistence
 *   shift/restart.ts       recovery after a restart, the damaged-journal continuation, owed records
 *   shift/inputs.ts        what asks for transitions: gestures, duty triggers (agent/duty/)
 *   shift/machine.ts       the pure transition table (state, event) → (state, effects)
 *   policy/room.ts         policy precedence (config, persisted, command), SIGHUP, setPolicy
 *   recording/room.ts      the supervised encoder, obstruction detection, the storage guard
 *   evidence/shift-evidence  open / reopen / close a shift's journal and sealer; device journal
 *   extension-host.ts      extensions (agent/extensions.ts): loading, context, services
 *   location/rooms.ts      the clock watch and the location room
 *   hal/lifecycle.ts       devices started and stopped in one order
 *   parts.ts               the Room interface, the core every room is handed, the shared parts
 *   status-builder.ts      what status says, and when it is the truth
 *   update/room.ts         RAUC A/B updates: install off duty only, trial boot, mark good/bad
 *
 * Stop runs in two passes over the same list, both in reverse: `drain` (event sources go quiet,
 * the queue runs out, the encoder finalizes its segment, the last records are journaled and the
 * state saved clean), then `stop` (extensions — telemetry still delivers those records before
 * OFFLINE — the control socket, outputs and devices, the journals). The instance lock and the
 * pre-flight checks are taken before the daemon is constructed (cli/commands/agent.ts).
 */
import { createLogger, type Logger } from './lib/log.js';
import { describe } from './lib/errors.js';
import type { Fields, WrittenRecord } from './evidence/journal.js';
import { createSegmentStorer } from './evidence/storer.js';
import { ShiftEvidence } from './evidence/shift-evidence.js';
import { JournalReserve } from './evidence/journal-reserve.js';
import type { JournalSigner } from './evidence/signer.js';
import type { ShiftEvent } from './shift/machine.js';
import { StateStore } from './shift/state-store.js';
import { foldPauseRecord } from './shift/pause-budget.js';
import { ShiftRunner } from './shift/runner.js';
import { ShiftRestart } from './shift/restart.js';
import { DutyRoom, GestureRoom } from './shift/inputs.js';
import { PolicyRoom } from './policy/room.js';
import { RecordingRoom } from './recording/room.js';
import { ExtensionHost } from './extension-host.js';
import { Feedback } from './feedback.js';
import { ControlServer } from './control/server.js';
import { controlSocketPath } from './control/protocol.js';
import { registerControlOps } from './control/ops.js';
import { FaultRegistry } from './faults/registry.js';
import { agentStatus } from './status-builder.js';
import type { StatusSnapshot } from './status.js';
import { deviceIdentity, readBootId } from './identity/device.js';
import { clockRoom, locationRoom } from './location/rooms.js';
import type { BoardConfig } from './config/board.js';
import type { AgentConfig } from './config/agent-config.js';
import type { Policy } from './config/policy.js';
import { Bus, type Core, type Parts, type Room } from './parts.js';
import { UpdateRoom } from './update/room.js';
import { sectionOf } from './config/agent-config.js';
import type { UpdateConfig } from './update/config.js';
import { UpdateError } from './lib/errors.js';
import { createHal } from '../hal/index.js';
import { startDevices, stopDevices } from '../hal/lifecycle.js';

export interface DaemonOptions {
  readonly dataDir: string;
  readonly board: BoardConfig;
  readonly config: AgentConfig;
}

export class Daemon {
  private readonly log: Logger;
  private readonly core: Core;
  private readonly parts: Parts = {};
  private readonly startedAt = Date.now();
  private readonly control: ControlServer;
  private readonly policy: PolicyRoom;
  private readonly runner: ShiftRunner;
  private readonly host: ExtensionHost;
  /** Start order, top to bottom; drain and stop run bottom to top. */
  private readonly rooms: readonly Room[];
  private signer: JournalSigner | undefined;
  private housekeeping: NodeJS.Timeout | undefined;

  constructor(o: DaemonOptions) {
    const log = (this.log = createLogger('agent'));
    const { dataDir, board } = o;
    const parts = this.parts;
    const bus = new Bus();
    const faults = new FaultRegistry(log.child('faults'));
    const storer = createSegmentStorer(o.config);
    const reserve = new JournalReserve(dataDir);
    const store = new StateStore(dataDir, log.child('state'));
    const evidence = new ShiftEvidence({
      dataDir,
      storer,
      log: log.child('evidence'),
      onSealed: () => this.runner.onSealed(),
      onRecord: (shiftId, r) => {
        if (shiftId) this.runner.pauseUsage = foldPauseRecord(this.runner.pauseUsage, r.record);
        this.runner.custody.noteRecord(r.record);
        bus.fire('record', shiftId, r);
      },
      onNoSpace: () => parts.guard?.releaseReserve() ?? reserve.release() > 0,
      onPendingGap: () => this.runner.persistSoon(),
      segmentFields: () => this.runner.segmentFields(),
      custody: () => this.policy.current.custody === 1,
      onWriteTrouble: (path, err) => (err ? faults.set('journal_write', `${path}: ${describe(err)}; records held in memory and retried`) : faults.clear('journal_write')),
    });
    const core: Core = (this.core = {
      ...o,
      log,
      bus,
      faults,
      evidence,
      bootId: readBootId(),
      parts,
      power: { battery: null, temperatureC: null },
      deviceId: 'unprovisioned',
      policy: () => this.policy.current,
      journal: (type, fields, at) => evidence.journal(type, fields, at),
      statusChanged: () => this.statusChanged(),
    });
    const runner = (this.runner = new ShiftRunner(core, store));
    const serialize = (fn: () => Promise<void>): Promise<void> => runner.dispatchTask(fn);
    const restart = new ShiftRestart(core, store, runner);
    const recording = new RecordingRoom(core, { storer, reserve, serialize, onRun: () => runner.persist(false) });
    const duty = new DutyRoom(core, runner, restart);
    const gestures = new GestureRoom(core, runner);
    this.policy = new PolicyRoom(core, { signer: () => this.signer, serialize });
    this.control = new ControlServer(controlSocketPath(dataDir), log.child('control'));
    this.host = new ExtensionHost(core, { control: this.control, status: () => this.status(), setPolicy: (p, s) => this.setPolicy(p, s), dispatch: (e) => runner.dispatch(e) });
    const journal = (type: string, fields: Fields): void => void core.journal(type, fields);
    const updateConfig = sectionOf<UpdateConfig | undefined>(o.config, 'update');
    const update = updateConfig ? (parts.update = new UpdateRoom(core, updateConfig, () => this.status())) : undefined;

    this.rooms = [
      // Before identity: the signer signs every N segments as the policy in force says.
      { name: 'policy', start: () => this.policy.start() },
      {
        name: 'evidence',
        start: () => {
          const id = deviceIdentity(dataDir, o.config, this.policy.current, log);
          core.deviceId = id.deviceId;
          this.signer = id.signer;
          evidence.setSigner(id.signer);
          evidence.start();
          this.policy.journalLoaded();
          faults.attach({ journal, led: (on) => parts.feedback?.setFault(on), changed: () => this.statusChanged() });
        },
        // Closed last (reverse order): the device journal's closing signature covers every record.
        stop: () => evidence.stop(),
      },
      // Before the devices open: a trial boot of a new slot runs the self-test on them first.
      { name: 'update', start: () => update?.start(), drain: () => update?.drain() },
      // Reads what the last run left; its drain leaves the next run a clean stop.
      { name: 'state', start: () => restart.start(), drain: () => restart.drain() },
      {
        name: 'hal',
        start: async () => {
          const hal = (parts.hal = await createHal(board));
          parts.feedback = new Feedback(hal.outputs);
          if (faults.size) parts.feedback.setFault(true);
          // A missing device is a fault, never a reason not to record.
          await startDevices(hal, (name, e) => faults.set(name, describe(e)));
          hal.buttons.on('error', (e) => faults.set('buttons', e.message));
        },
        stop: async () => {
          parts.feedback?.stop();
          await stopDevices(parts.hal, (_name, e) => log.warn('device stop failed', { err: e }));
        },
      },
      { name: 'recording', start: () => recording.start(), drain: () => recording.drain() },
      // Drained after every event source below has gone quiet, before the encoder stops.
      { name: 'runner', drain: () => runner.drain() },
      clockRoom(core, serialize, (ms) => {
        evidence.clockStepped(ms);
        runner.clockStepped(ms);
        parts.duty?.clockStepped();
      }),
      locationRoom(core),
      { name: 'gestures', start: () => gestures.start(), drain: () => gestures.drain() },
      { name: 'duty', start: () => duty.start(), drain: () => duty.drain() },
      // Duty triggers act only now that an open shift is resumed (a trigger on a stale OFF_DUTY would open a second shift).
      {
        name: 'resume',
        start: async () => {
          await restart.resume();
          duty.arm();
        },
      },
      {
        // Opens only once the shift is resumed (or its retry is scheduled, status FAULT): before
        // that, `status` would answer OFF_DUTY for a camera that is on duty.
        name: 'control',
        start: async () => {
          registerControlOps(this.control, { dataDir, boardName: board.name, hal: () => parts.hal!, status: () => this.status(), settled: () => runner.settled });
          this.control.register('update', async (req) => {
            if (!update) throw new UpdateError('status', 'this image has no RAUC (config section update absent)');
            if (typeof req.bundle !== 'string' || req.bundle === '') throw new UpdateError('download', "op 'update' needs 'bundle': a path");
            return update.request({ kind: 'file', path: req.bundle, allowDowngrade: req.allowDowngrade === true, source: 'bench' });
          });
          await this.control.start();
        },
        stop: () => this.control.stop(),
      },
      { name: 'storage', start: () => parts.guard!.start(), drain: () => parts.guard?.stop() },
      { name: 'extensions', start: () => this.host.start(), stop: () => this.host.stop() },
      {
        name: 'housekeeping',
        start: () => void (this.housekeeping = setInterval(() => this.tick(), 2000)),
        drain: () => clearInterval(this.housekeeping),
      },
    ];
  }

  async start(): Promise<void> {
    for (const room of this.rooms) await room.start?.();
    this.host.notifySystemd('READY=1');
    // Not awaited: a trial boot's test segment and verdict take seconds and must not hold READY.
    void this.parts.update?.ready().catch((e: unknown) => this.log.error('update room failed after READY', { err: e }));
    this.log.info('agent ready', { deviceId: this.core.deviceId, board: this.core.board.name, state: this.runner.state.name, socket: controlSocketPath(this.core.dataDir) });
  }

  async stop(): Promise<void> {
    if (this.runner.stopping) return;
    this.runner.stopping = true;
    this.host.notifySystemd('STOPPING=1');
    this.log.info('agent stopping', { state: this.runner.state.name });
    const reversed = [...this.rooms].reverse();
    for (const room of reversed) await room.drain?.();
    for (const room of reversed) await room.stop?.();
    this.log.info('agent stopped');
  }

  dispatch(e: ShiftEvent): Promise<void> {
    return this.runner.dispatch(e);
  }

  journal(type: string, fields: Fields, at?: number): WrittenRecord {
    return this.core.journal(type, fields, at);
  }

  status(): StatusSnapshot {
    return agentStatus({ core: this.core, runner: this.runner, extensions: this.host.extensions, startedAt: this.startedAt });
  }

  private statusChanged(): void {
    if (this.parts.hal) this.core.bus.fire('status', this.status());
  }

  /** Slow periodic upkeep: the off-duty LED shows an offload in progress. */
  private tick(): void {
    const feedback = this.parts.feedback;
    if (this.runner.state.name !== 'OFF_DUTY' || !feedback) return;
    const active = this.host.offloading();
    if (active && feedback.baseName !== 'offloading') feedback.setBase('offloading');
    else if (!active && feedback.baseName === 'offloading') feedback.setBase('off_duty');
  }

  /** Extensions that read power report here, so status and heartbeats carry it. */
  reportPower(battery: StatusSnapshot['battery'], temperatureC: number | null): void {
    this.host.reportPower(battery, temperatureC);
  }

  reloadConfigPolicy(p: Policy): void {
    this.policy.reloadConfigPolicy(p);
  }

  setPolicy(p: Policy, source: string): void {
    this.policy.setPolicy(p, source);
  }
}
