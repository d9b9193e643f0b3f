/**
 * Where the wall clock's time comes from, per segment (docs/evidence-format.md "Provable time"):
 *   gnss  a fresh GNSS fix carries the receiver's UTC: its difference to the system clock is
 *         measured (offset_s), and the clock counts as synced when within MAX_SYNC_OFFSET_S;
 *   ntp   a time daemon (chrony, systemd-timesyncd) says the clock is synchronised;
 *   rtc   the clock was set from the RTC and nothing has confirmed it since;
 *   none  nothing vouches for the clock.
 * A GNSS time comes first: it is a measurement against an independent reference in the record
 * itself, not a daemon's word.
 */
import type { ClockReport } from '../../hal/clock/types.js';
import type { GnssFix } from '../../hal/gnss/types.js';

export type TimeSourceName = 'gnss' | 'ntp' | 'rtc' | 'none';

export interface TimeProvenance {
  readonly source: TimeSourceName;
  readonly synced: boolean;
  /** System clock minus the reference, seconds (positive = system ahead); null when not measured. */
  readonly offset_s: number | null;
}

/** A GNSS time older than this (s) is no longer a reference for the clock. */
export const GNSS_TIME_FRESH_S = 5;
/** System clock within this of GNSS time (s, receive latency included) counts as synced. */
export const MAX_SYNC_OFFSET_S = 1;

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function timeProvenance(clock: ClockReport | undefined, fix: GnssFix | undefined, nowMono: number): TimeProvenance {
  if (fix && fix.mode !== 'none' && fix.fixTime !== null && nowMono - fix.receivedMono <= GNSS_TIME_FRESH_S * 1000) {
    const offset = (fix.receivedAt - Date.parse(fix.fixTime)) / 1000;
    return { source: 'gnss', synced: Math.abs(offset) <= MAX_SYNC_OFFSET_S, offset_s: r3(offset) };
  }
  if (clock?.synced) return { source: 'ntp', synced: true, offset_s: clock.offsetS };
  if (clock && clock.rtc.driftS !== null) return { source: 'rtc', synced: false, offset_s: -clock.rtc.driftS };
  return { source: 'none', synced: false, offset_s: null };
}
