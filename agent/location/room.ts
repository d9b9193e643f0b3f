/**
 * The location room: turns the GNSS receiver's reports into `location` records in the open
 * shift's journal (decide.ts says when), names the last known fix for each `segment` record, and
 * reports the position to status and heartbeats. Off duty nothing is journaled: a position is
 * evidence only while recording is what the wearer is on duty for.
 *
 * No fix is journaled as such (`fix: "none"` with its cause), never filled in from an old one.
 */
import type { Fields } from '../evidence/journal.js';
import type { Logger } from '../lib/log.js';
import type { Gnss, GnssFix, GnssState } from '../../hal/gnss/types.js';
import { decideLocation, roundDeg, type JournaledFix, type LocationPolicy, type LocationWhy } from './decide.js';

export interface LocationRoomDeps {
  readonly gnss: Gnss;
  readonly policy: () => LocationPolicy;
  /** Journals into the open shift; called only while `onDuty()`. */
  readonly journal: (type: string, fields: Fields) => void;
  readonly onDuty: () => boolean;
  readonly log: Logger;
  readonly mono?: () => number;
}

/** The last fix as a segment record names it (null when there never was one). */
export interface SegmentLocation {
  readonly lat: number;
  readonly lon: number;
  readonly accuracy_m: number | null;
  readonly fix: string;
  readonly fix_time: string | null;
  /** Seconds between the fix and the segment's seal. */
  readonly age_s: number;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

export class LocationRoom {
  private last: JournaledFix | undefined;
  /** The mode the receiver reports now, and since when (monotonic ms): a 2d/3d flip must hold. */
  private modeNow: GnssFix['mode'] | undefined;
  private modeSince = 0;
  private readonly mono: () => number;
  private readonly onFix = (f: GnssFix): void => this.consider(f);

  constructor(private readonly d: LocationRoomDeps) {
    this.mono = d.mono ?? (() => performance.now());
  }

  start(): void {
    this.d.gnss.on('fix', this.onFix);
  }

  stop(): void {
    this.d.gnss.off('fix', this.onFix);
  }

  /** A shift was opened (or resumed): its journal starts with where the camera is, or that it does not know. */
  shiftOpened(): void {
    this.last = undefined;
    const s = this.d.gnss.state();
    this.consider(s.fix ?? { mode: 'none', lat: null, lon: null, altM: null, accuracyM: null, speedMps: null, fixTime: null, receivedAt: Date.now(), receivedMono: this.mono() });
  }

  private consider(fix: GnssFix): void {
    if (!this.d.onDuty()) {
      this.last = undefined;
      return;
    }
    if (fix.mode !== this.modeNow) {
      this.modeNow = fix.mode;
      this.modeSince = fix.receivedMono;
    }
    const why = decideLocation(this.last, fix, this.d.policy(), this.modeSince);
    if (!why) return;
    this.d.journal('location', this.fields(fix, why));
    this.last = { mode: fix.mode, lat: fix.lat, lon: fix.lon, atMono: fix.receivedMono };
  }

  private fields(fix: GnssFix, why: LocationWhy): Fields {
    const sats = this.d.gnss.state().satellites;
    if (fix.mode === 'none' || fix.lat === null || fix.lon === null) {
      const prev = this.d.gnss.state().lastPosition;
      return {
        fix: 'none',
        why,
        // The receiver is there but has no fix (sky blocked), or the receiver itself is gone.
        cause: noFixCause(this.d.gnss.state()),
        last_fix_time: prev?.fixTime ?? null,
        ...(sats ? { satellites: sats.used } : {}),
      };
    }
    return {
      fix: fix.mode,
      why,
      lat: roundDeg(fix.lat),
      lon: roundDeg(fix.lon),
      accuracy_m: fix.accuracyM === null ? null : r1(fix.accuracyM),
      ...(fix.altM !== null ? { alt_m: r1(fix.altM) } : {}),
      ...(fix.speedMps !== null ? { speed_mps: r1(fix.speedMps) } : {}),
      fix_time: fix.fixTime,
      ...(sats ? { satellites: sats.used } : {}),
    };
  }

  /** For a `segment` record: the last known position (however old: age_s says), or null. */
  segmentLocation(): SegmentLocation | null {
    const p = this.d.gnss.state().lastPosition;
    if (!p || p.lat === null || p.lon === null) return null;
    return {
      lat: roundDeg(p.lat),
      lon: roundDeg(p.lon),
      accuracy_m: p.accuracyM === null ? null : r1(p.accuracyM),
      fix: p.mode,
      fix_time: p.fixTime,
      age_s: r1((this.mono() - p.receivedMono) / 1000),
    };
  }

  /** `status.ext.location` (bodycam status, heartbeats). */
  status(): Record<string, unknown> {
    const s = this.d.gnss.state();
    const p = s.lastPosition;
    return {
      backend: this.d.gnss.kind,
      connected: s.connected,
      fix: s.fix?.mode ?? 'none',
      satellites: s.satellites?.used ?? null,
      satellitesVisible: s.satellites?.visible ?? null,
      lat: p?.lat ?? null,
      lon: p?.lon ?? null,
      accuracyM: p?.accuracyM ?? null,
      fixTime: p?.fixTime ?? null,
      ageS: p ? r1((this.mono() - p.receivedMono) / 1000) : null,
    };
  }
}

/**
 * Why there is no position: the receiver has no fix (sky blocked), went quiet while gpsd stayed up
 * (no report within the fix age limit), or is gone (gpsd closed it, or gpsd itself is gone).
 */
function noFixCause(st: GnssState): 'no_fix' | 'receiver_silent' | 'receiver_lost' {
  if (!st.connected || st.receiver === 'gone') return 'receiver_lost';
  return st.receiver === 'silent' ? 'receiver_silent' : 'no_fix';
}
