/**
 * The sim board's physical world: battery, dock, temperature, and what the lavfi camera and tone
 * show (a covered lens, a frozen picture, a silent microphone). Tests and the demo change it
 * through the control socket (`sim` request) to exercise low battery, docking, heat and
 * obstruction; the scene reaches the running ffmpeg through hal/sim/lavfi-camera.ts.
 */
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import type { Dock, DockEvents, Gauge, GaugeReading, Thermal } from '../types.js';
import type { SimTrack } from '../gnss/track.js';

export interface SimState {
  batteryPct: number;
  voltageV: number;
  charging: boolean;
  currentMa: number;
  docked: boolean;
  tempC: number;
  /** The sim clock's time daemon reports synchronized. */
  clockSynced: boolean;
  /** What the sim camera shows: the moving scene, a covered lens (black) or a frozen picture. */
  picture: 'live' | 'black' | 'frozen';
  /** The sim microphone: the tone, or silence (blocked). */
  mic: 'live' | 'silent';
  /** The sim GNSS receiver has a fix (false: lost, as in a tunnel); the track says where. */
  gnssFix: boolean;
}

/**
 * The sim GNSS track: a 2-minute walk round a block in Berlin (~1.4 m/s) with no fix from 60 s
 * to 75 s (a passage), looped.
 */
export const DEFAULT_SIM_TRACK: SimTrack = {
  waypoints: [
    { t: 0, lat: 52.52, lon: 13.405 },
    { t: 30, lat: 52.52038, lon: 13.405 },
    { t: 60, lat: 52.52038, lon: 13.40562 },
    { t: 90, lat: 52.52, lon: 13.40562 },
    { t: 120, lat: 52.52, lon: 13.405 },
  ],
  lossWindows: [[60, 75]],
  accuracyM: 4,
};

export class SimWorld {
  readonly state: SimState = { batteryPct: 87, voltageV: 3.95, charging: false, currentMa: -450, docked: false, tempC: 38, clockSynced: true, picture: 'live', mic: 'live', gnssFix: true };
  track: SimTrack = DEFAULT_SIM_TRACK;
  readonly dock = new SimDock(this);
  readonly gauge = new SimGauge(this);
  readonly thermal = new SimThermal(this);

  /** Applies a partial update (validated by the caller); emits dock changes. */
  update(p: Partial<SimState>): void {
    const wasDocked = this.state.docked;
    // A dock is a charger: docking charges unless the update says otherwise (a dead charger).
    if (p.docked !== undefined && p.docked !== wasDocked && p.charging === undefined) p = { ...p, charging: p.docked };
    Object.assign(this.state, p);
    if (p.docked !== undefined && p.docked !== wasDocked) this.dock.changed(p.docked);
  }
}

export class SimDock extends TypedEmitter<DockEvents> implements Dock {
  constructor(private readonly w: SimWorld) {
    super();
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  docked(): boolean {
    return this.w.state.docked;
  }
  changed(d: boolean): void {
    this.emit('change', d);
  }
}

export class SimGauge implements Gauge {
  readonly kind = 'sim';
  constructor(private readonly w: SimWorld, private readonly capacityMah = 3000) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async read(): Promise<GaugeReading> {
    const s = this.w.state;
    const runtimeMin = s.currentMa < 0 ? Math.round(((s.batteryPct / 100) * this.capacityMah) / -s.currentMa * 60) : undefined;
    return { percent: s.batteryPct, voltageV: s.voltageV, charging: s.charging, currentMa: s.currentMa, runtimeMin };
  }
}

export class SimThermal implements Thermal {
  constructor(private readonly w: SimWorld) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async readC(): Promise<number | undefined> {
    return this.w.state.tempC;
  }
}
