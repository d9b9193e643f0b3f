/**
 * What asks the shift machine for a transition from outside: the wearer's buttons (gestures) and
 * the duty triggers (dock, central, schedule; agent/duty/). Both feed the runner's queue.
 */
import { systemClock } from '../lib/clock.js';
import { GestureRecogniser } from './gestures.js';
import { DutyController } from '../duty/controller.js';
import type { ShiftRunner } from './runner.js';
import type { ShiftRestart } from './restart.js';
import type { Core } from '../parts.js';

export class GestureRoom {
  constructor(
    private readonly c: Core,
    private readonly runner: ShiftRunner,
  ) {}

  start(): void {
    const { board, parts } = this.c;
    const r = this.runner;
    const gestures = new GestureRecogniser(
      systemClock,
      () => {
        const policy = this.c.policy();
        return {
          onDuty: r.onDuty,
          paused: r.state.name === 'PAUSED',
          endArmed: (r.state.name === 'RECORDING' || r.state.name === 'PAUSED') && r.state.endArmedUntil !== null,
          shiftStartHoldS: policy.shiftStartHoldS,
          shiftEndHoldS: policy.shiftEndHoldS,
          doublePressS: policy.doublePressS,
        };
      },
      (g) => r.onGesture(g),
      board.buttons.debounceMs ?? 20,
      { oneKey: board.buttons.layout === 'one-key', ack: () => parts.feedback?.ack() },
    );
    parts.gestures = gestures;
    parts.hal!.buttons.on('edge', (e) => gestures.edge(e));
  }

  drain(): void {
    this.c.parts.gestures?.reset();
  }
}

/** Duty triggers (dock, central, schedule), wearer and battery forecast: agent/duty/. */
export class DutyRoom {
  constructor(
    private readonly c: Core,
    private readonly runner: ShiftRunner,
    private readonly restart: ShiftRestart,
  ) {}

  start(): void {
    const { parts, faults, power } = this.c;
    const hal = parts.hal!;
    const r = this.runner;
    const duty = new DutyController(this.c.dataDir, {
      clock: systemClock,
      log: this.c.log.child('duty'),
      policy: () => this.c.policy(),
      onDuty: () => r.onDuty,
      startShift: (trigger) => r.dispatch({ type: 'duty_start', trigger }),
      endShift: (reason) => r.dispatch({ type: 'duty_end', reason }),
      journal: (type, fields) => void this.c.journal(type, fields),
      feedback: (p) => parts.feedback?.play(p),
      setFault: (name, detail) => faults.set(name, detail),
      batteryRuntimeMin: () => power.battery?.runtimeMin ?? null,
      charging: () => power.battery?.charging ?? null,
    });
    parts.duty = duty;
    const persisted = this.restart.persisted;
    const open = persisted && persisted.shift.name !== 'OFF_DUTY' && 'shiftId' in persisted.shift ? persisted.shift.shiftId : null;
    duty.start(hal.dock ? hal.dock.docked() : null, open);
    hal.dock?.on('change', (docked) => parts.duty?.dockChanged(docked));
  }

  /** Duty triggers act only once an open shift is resumed (a trigger on a stale OFF_DUTY would open a second shift). */
  arm(): void {
    this.c.parts.duty?.arm();
    // Custody mode: duty starts when the agent does (an open one was just resumed, same shift),
    // and when a policy turns custody on while off duty.
    this.startCustodyDuty();
    this.c.bus.on('policy', () => this.startCustodyDuty());
  }

  private startCustodyDuty(): void {
    if (this.c.policy().custody !== 1) return;
    const r = this.runner;
    // Decided inside the queue: a transition in flight (closing, resuming) is seen finished.
    void r.dispatchTask(async () => {
      if (this.c.policy().custody === 1 && r.state.name === 'OFF_DUTY') await r.apply({ type: 'duty_start', trigger: 'custody' });
    });
  }

  drain(): void {
    this.c.parts.duty?.stop();
  }
}
