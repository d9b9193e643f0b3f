/**
 * The sim backend: a scripted track (hal/sim/sim-world.ts `SimTrack`: waypoints and fix-loss
 * windows, looped) reported once a second like a 1 Hz receiver. The sim world's `gnssFix` switch
 * (the control socket's `sim` op) takes the fix away on demand.
 */
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import type { SimWorld } from '../sim/sim-world.js';
import { trackPosition } from './track.js';
import type { Gnss, GnssEvents, GnssFix, GnssState } from './types.js';

export class SimGnss extends TypedEmitter<GnssEvents> implements Gnss {
  readonly kind = 'sim';
  private timer: NodeJS.Timeout | undefined;
  private startedMono = 0;
  private fix: GnssFix | undefined;
  private lastPosition: GnssFix | undefined;

  constructor(
    private readonly world: SimWorld,
    private readonly periodMs = 1000,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.startedMono = performance.now();
    this.report();
    this.timer = setInterval(() => this.report(), this.periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  state(): GnssState {
    const fixed = this.fix !== undefined && this.fix.mode !== 'none';
    return { connected: true, fix: this.fix, lastPosition: this.lastPosition, satellites: fixed ? { used: 7, visible: 11 } : { used: 0, visible: 3 } };
  }

  private report(): void {
    const mono = performance.now();
    const now = Date.now();
    const p = this.world.state.gnssFix ? trackPosition(this.world.track, (mono - this.startedMono) / 1000) : undefined;
    const fix: GnssFix = p
      ? { mode: '3d', lat: p.lat, lon: p.lon, altM: 35, accuracyM: this.world.track.accuracyM, speedMps: p.speedMps, fixTime: new Date(now).toISOString(), receivedAt: now, receivedMono: mono }
      : { mode: 'none', lat: null, lon: null, altM: null, accuracyM: null, speedMps: null, fixTime: null, receivedAt: now, receivedMono: mono };
    this.fix = fix;
    if (fix.mode !== 'none') this.lastPosition = fix;
    this.emit('fix', fix);
  }
}
