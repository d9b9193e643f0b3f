/**
 * A scripted track (the sim backend's): waypoints at seconds from the start, linearly
 * interpolated, with windows in which there is no fix; it loops after its last waypoint.
 * Pure, so the unit tests check it without timers.
 */
export interface TrackWaypoint {
  /** Seconds from the start of the track. */
  readonly t: number;
  readonly lat: number;
  readonly lon: number;
}

export interface SimTrack {
  /** At least one, in increasing `t`. */
  readonly waypoints: readonly TrackWaypoint[];
  /** [fromS, toS) windows without a fix (a tunnel, a building). */
  readonly lossWindows: ReadonlyArray<readonly [number, number]>;
  readonly accuracyM: number;
}

export interface TrackPosition {
  readonly lat: number;
  readonly lon: number;
  readonly speedMps: number;
}

/** Mean Earth radius (m), for the haversine distance. */
const R = 6_371_008.8;
const rad = (d: number): number => (d * Math.PI) / 180;

/** Great-circle distance in metres. */
export function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Where the track is `elapsedS` after its start, or undefined inside a loss window. */
export function trackPosition(track: SimTrack, elapsedS: number): TrackPosition | undefined {
  const w = track.waypoints;
  if (w.length === 0) return undefined;
  const period = w[w.length - 1]!.t;
  const t = period > 0 ? ((elapsedS % period) + period) % period : 0;
  if (track.lossWindows.some(([a, b]) => t >= a && t < b)) return undefined;
  if (w.length === 1) return { lat: w[0]!.lat, lon: w[0]!.lon, speedMps: 0 };
  let i = 0;
  while (i < w.length - 2 && t >= w[i + 1]!.t) i++;
  const a = w[i]!;
  const b = w[i + 1]!;
  const span = b.t - a.t;
  const f = span > 0 ? Math.min(1, Math.max(0, (t - a.t) / span)) : 0;
  return { lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f, speedMps: span > 0 ? distanceM(a, b) / span : 0 };
}
