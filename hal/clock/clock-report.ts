/**
 * Where the device's wall clock comes from and whether it can be trusted: journal timestamps are
 * evidence, so status and selftest report the RTC, its drift against system time, and NTP sync.
 * Everything is read from sysfs/procfs/run files (no timedatectl/D-Bus, nothing spawned).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** Wall-clock times before this are certainly wrong (an RTC that lost power reads 1970/2000). */
export const CLOCK_FLOOR_MS = Date.UTC(2025, 0, 1);

export interface ClockReport {
  /** 'ntp' when synchronized, 'rtc' when an RTC set the clock, else 'unknown'. */
  readonly source: 'ntp' | 'rtc' | 'unknown';
  readonly ntpSynced: boolean | undefined;
  readonly rtc: { device: string; name: string; epochS: number; driftS: number; hctosys: boolean } | null;
  readonly clocksource: string | undefined;
  /** System time is after CLOCK_FLOOR_MS and within 2 s of a present RTC. */
  readonly sane: boolean;
  readonly problems: string[];
}

function rd(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function clockReport(rtcDevice = '/dev/rtc0', sysRoot = '/sys', runRoot = '/run', nowMs = Date.now()): ClockReport {
  const problems: string[] = [];
  const name = basename(rtcDevice);
  const dir = `${sysRoot}/class/rtc/${name}`;
  let rtc: ClockReport['rtc'] = null;
  const since = rd(`${dir}/since_epoch`);
  if (since !== undefined && /^\d+$/.test(since)) {
    const epochS = Number(since);
    rtc = { device: rtcDevice, name: rd(`${dir}/name`) ?? '', epochS, driftS: Math.round(nowMs / 1000 - epochS), hctosys: rd(`${dir}/hctosys`) === '1' };
    if (Math.abs(rtc.driftS) > 2) problems.push(`system time differs from ${rtcDevice} by ${rtc.driftS} s`);
  } else if (existsSync(dir) || existsSync(rtcDevice)) {
    problems.push(`${rtcDevice} does not report a time (RTC lost power or not set)`);
  }
  // systemd-timesyncd creates this file once it has synchronized; chrony/ntpd boards report undefined.
  const ntpSynced = existsSync(`${runRoot}/systemd/timesync`) ? existsSync(`${runRoot}/systemd/timesync/synchronized`) : undefined;
  if (nowMs < CLOCK_FLOOR_MS) problems.push(`system time ${new Date(nowMs).toISOString()} is before ${new Date(CLOCK_FLOOR_MS).toISOString()}`);
  const clocksource = rd(`${sysRoot}/devices/system/clocksource/clocksource0/current_clocksource`);
  const source = ntpSynced ? 'ntp' : rtc ? 'rtc' : 'unknown';
  return { source, ntpSynced, rtc, clocksource, sane: problems.length === 0, problems };
}
