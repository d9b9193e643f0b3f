/**
 * Parses gpsd's JSON reports (one object per line, gpsd_json(5)). Only what the agent uses is
 * read: TPV (time-position-velocity), SKY (satellites), DEVICES (is a receiver attached) and
 * DEVICE (one receiver activated or closed: gpsd sends it without `activated` when it lets go).
 * Anything else, or a malformed line, is `undefined`: gpsd sends classes we do not need
 * (VERSION, WATCH, ATT, PPS…) and a half-written line after a restart must not break the stream.
 */
import type { FixMode, GnssSatellites } from './types.js';

export interface TpvReport {
  readonly class: 'TPV';
  readonly mode: FixMode;
  readonly lat: number | null;
  readonly lon: number | null;
  readonly altM: number | null;
  readonly accuracyM: number | null;
  readonly speedMps: number | null;
  readonly time: string | null;
}

export interface SkyReport {
  readonly class: 'SKY';
  readonly satellites: GnssSatellites;
}

export interface DevicesReport {
  readonly class: 'DEVICES';
  readonly count: number;
}

export interface DeviceReport {
  readonly class: 'DEVICE';
  readonly path: string;
  /** gpsd_json(5): `activated` is present while gpsd has the device open, absent once it is closed. */
  readonly active: boolean;
}

export type GpsdReport = TpvReport | SkyReport | DevicesReport | DeviceReport;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** gpsd modes: 0 unknown, 1 no fix, 2 2D, 3 3D. */
function modeOf(v: unknown): FixMode {
  return v === 3 ? '3d' : v === 2 ? '2d' : 'none';
}

function tpv(o: Record<string, unknown>): TpvReport | undefined {
  const mode = modeOf(o.mode);
  const lat = num(o.lat);
  const lon = num(o.lon);
  // gpsd sends a mode-2/3 TPV without lat/lon while a new fix is being assembled (seen with
  // gpsfake at start-up): that is no report at all, neither a position nor a loss.
  if (mode !== 'none' && (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180)) return undefined;
  const has = mode !== 'none';
  const epx = num(o.epx);
  const epy = num(o.epy);
  const accuracyM = num(o.eph) ?? (epx !== null && epy !== null ? Math.max(epx, epy) : null);
  return {
    class: 'TPV',
    mode,
    lat: has ? lat : null,
    lon: has ? lon : null,
    // gpsd ≥ 3.20 says altMSL/altHAE; older ones `alt` (MSL).
    altM: mode === '3d' ? num(o.altMSL) ?? num(o.alt) : null,
    accuracyM: has ? accuracyM : null,
    speedMps: has ? num(o.speed) : null,
    time: typeof o.time === 'string' && !Number.isNaN(Date.parse(o.time)) ? o.time : null,
  };
}

function sky(o: Record<string, unknown>): SkyReport | undefined {
  const sats = Array.isArray(o.satellites) ? (o.satellites as unknown[]) : undefined;
  if (sats) {
    const used = sats.filter((s) => typeof s === 'object' && s !== null && (s as { used?: unknown }).used === true).length;
    return { class: 'SKY', satellites: { used, visible: sats.length } };
  }
  // gpsd ≥ 3.23 may send counts only.
  const n = num(o.nSat);
  const u = num(o.uSat);
  if (n === null && u === null) return undefined;
  return { class: 'SKY', satellites: { used: u ?? 0, visible: n ?? u ?? 0 } };
}

export function parseGpsdLine(line: string): GpsdReport | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  switch (r.class) {
    case 'TPV':
      return tpv(r);
    case 'SKY':
      return sky(r);
    case 'DEVICES':
      return { class: 'DEVICES', count: Array.isArray(r.devices) ? r.devices.length : 0 };
    case 'DEVICE':
      return { class: 'DEVICE', path: typeof r.path === 'string' ? r.path : '', active: r.activated !== undefined && r.activated !== 0 && r.activated !== null };
    default:
      return undefined;
  }
}

/**
 * Splits a TCP byte stream into complete lines; the remainder waits for the next chunk. Not node's
 * readline: it has no bound on a line, and a peer that never sends a newline must not grow memory
 * without end (the encoder's own pipes use readline: hal/encoder/process.ts).
 */
export class LineSplitter {
  private rest = '';
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    // A peer that never sends a newline must not grow this without bound (gpsd lines are < 8 KiB).
    if (this.rest.length > 65536) this.rest = '';
    return lines.map((l) => l.trim()).filter((l) => l !== '');
  }
  reset(): void {
    this.rest = '';
  }
}
