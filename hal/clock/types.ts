/**
 * Where the device's wall clock comes from, and whether it can be trusted. Journal timestamps are
 * evidence, so the agent reports this in every heartbeat and journals a `time_sync` record when it
 * changes. Backends: `system` (chrony, systemd-timesyncd, the RTC) and `sim`.
 */
import type { Lifecycle } from '../types.js';

/**
 * The authority in charge of the clock: a time daemon when one runs (whether or not it has
 * synchronised yet), else the RTC when it holds a time, else nothing but the system clock itself.
 */
export type ClockSourceName = 'chrony' | 'timesyncd' | 'rtc' | 'system';

export interface RtcReport {
  /** The RTC's sysfs directory exists. */
  readonly present: boolean;
  /** Device node, e.g. /dev/rtc0 (null when absent). */
  readonly device: string | null;
  /** RTC time minus system time in whole seconds; null when the RTC holds no readable time. */
  readonly driftS: number | null;
}

export interface ClockReport {
  readonly source: ClockSourceName;
  /** A time daemon says the clock is synchronised to a real reference. Never true for rtc/system. */
  readonly synced: boolean;
  readonly rtc: RtcReport;
  /** System time minus the daemon's reference in seconds (positive = system ahead); chrony only. */
  readonly offsetS: number | null;
  /** NTP stratum of the system clock (chrony only; 0 = none). */
  readonly stratum: number | null;
  /** Wall clock of the check, RFC 3339 UTC ms. */
  readonly checkedAt: string;
}

export interface ClockSource extends Lifecycle {
  /** The last report (cached, no I/O). start() takes the first, so it exists once started. */
  report(): ClockReport;
  /** Re-reads every source; never rejects (an unreadable source is reported as absent). */
  refresh(): Promise<ClockReport>;
}

/**
 * The heartbeat's `Clock.source` vocabulary ("ntp" = synchronised by a time daemon, "rtc",
 * "unknown"). A daemon that has not synchronised yet is not "ntp": the time then still comes from
 * whatever set it at boot, which is the RTC when one holds a time.
 */
export function wireClockSource(r: ClockReport): 'ntp' | 'rtc' | 'unknown' {
  if (r.synced) return 'ntp';
  return r.rtc.driftS !== null ? 'rtc' : 'unknown';
}

/** Two reports describe the same clock situation (the lead journals `time_sync` when not). */
export function sameClockState(a: ClockReport, b: ClockReport): boolean {
  return a.source === b.source && a.synced === b.synced;
}
