/**
 * The GNSS device: where the camera is, and a time reference when it has a fix. Backends: `gpsd`
 * (the gpsd daemon's JSON protocol over TCP) and `sim` (a scripted track in the sim world).
 * A backend reports what the receiver says and nothing more: no fix is reported as mode 'none',
 * never as the last position (the location room journals the loss).
 */
import type { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import type { Lifecycle } from '../types.js';

/** NMEA/gpsd fix modes: no fix, 2D (lat/lon), 3D (lat/lon/altitude). */
export type FixMode = 'none' | '2d' | '3d';

export interface GnssFix {
  readonly mode: FixMode;
  /** WGS84 degrees; null without a fix. */
  readonly lat: number | null;
  readonly lon: number | null;
  /** Metres above mean sea level (3D fixes only). */
  readonly altM: number | null;
  /** Estimated horizontal error in metres (gpsd `eph`, else max(epx, epy)); null when unknown. */
  readonly accuracyM: number | null;
  readonly speedMps: number | null;
  /** The receiver's own time of the fix (UTC, RFC 3339), null when it sent none. */
  readonly fixTime: string | null;
  /** Wall clock (ms) when the report arrived: fixTime − receivedAt estimates the clock's offset. */
  readonly receivedAt: number;
  /** Monotonic ms (performance.now()) when the report arrived: ages are computed from this. */
  readonly receivedMono: number;
}

export interface GnssSatellites {
  readonly used: number;
  readonly visible: number;
}

export interface GnssState {
  /** The backend reaches its receiver (gpsd connected and a device attached; sim: always). */
  readonly connected: boolean;
  /** The last report (a 'none' fix after a loss), undefined before any. */
  readonly fix: GnssFix | undefined;
  /** The last report that had a position, kept for "age of last fix". */
  readonly lastPosition: GnssFix | undefined;
  readonly satellites: GnssSatellites | undefined;
  /**
   * Why the fix is 'none' while the link is up, when the backend knows: the receiver stopped
   * reporting (`silent`: no report within the fix age limit) or gpsd let it go (`gone`).
   */
  readonly receiver?: 'silent' | 'gone';
}

export interface GnssEvents extends Record<string, unknown[]> {
  /** A new report from the receiver (including mode 'none'). */
  fix: [GnssFix];
  /** The receiver became reachable (true) or was lost (false), with why. */
  link: [up: boolean, detail: string];
}

export interface Gnss extends Lifecycle, TypedEmitter<GnssEvents> {
  readonly kind: 'gpsd' | 'sim';
  /** Cached, no I/O. */
  state(): GnssState;
}
