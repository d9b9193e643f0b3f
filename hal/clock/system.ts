/**
 * The real clock backend. Sources, in order: chrony (when `chronyc` answers), systemd-timesyncd
 * (its run directory exists), the RTC (its sysfs time is readable), else the system clock alone.
 * Nothing here blocks the event loop: files are read asynchronously and chronyc runs as a child
 * with a short time limit (a wedged chronyd must not stall the agent).
 */
import { access, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runTool } from '../util/exec.js';
import { BodycamError } from '../../agent/lib/errors.js';
import { parseChronyTracking, type ChronyTracking } from './chrony-parse.js';
import type { ClockReport, ClockSource, RtcReport } from './types.js';

export interface SystemClockOptions {
  /** Filesystem root for /run and /sys (tests point it at a temp tree). Default '/'. */
  readonly root?: string;
  /** RTC device node; its sysfs directory is /sys/class/rtc/<basename>. Default /dev/rtc0. */
  readonly rtc?: string;
  /** chronyc executable (looked up on PATH). Default 'chronyc'. */
  readonly chronyc?: string;
  /** chronyd's command socket; default: chronyc's own default. */
  readonly chronycSocket?: string;
  readonly chronycTimeoutMs?: number;
  readonly nowMs?: () => number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    // An RTC that lost power answers EINVAL on since_epoch: "no time", like a missing file.
    return undefined;
  }
}

export class SystemClock implements ClockSource {
  private readonly root: string;
  private readonly rtcDevice: string;
  private readonly chronyc: string;
  private readonly chronycSocket: string | undefined;
  private readonly chronycTimeoutMs: number;
  private readonly now: () => number;
  private last: ClockReport | undefined;
  private inFlight: Promise<ClockReport> | undefined;

  constructor(o: SystemClockOptions = {}) {
    this.root = o.root ?? '/';
    this.rtcDevice = o.rtc ?? '/dev/rtc0';
    this.chronyc = o.chronyc ?? 'chronyc';
    this.chronycSocket = o.chronycSocket;
    this.chronycTimeoutMs = o.chronycTimeoutMs ?? 2000;
    this.now = o.nowMs ?? Date.now;
  }

  async start(): Promise<void> {
    await this.refresh();
  }

  async stop(): Promise<void> {
    await this.inFlight;
  }

  report(): ClockReport {
    if (!this.last) throw new BodycamError('STATE', 'clock: report() before start()');
    return this.last;
  }

  /** Concurrent callers share one read, so a slow chronyc never piles up children. */
  refresh(): Promise<ClockReport> {
    this.inFlight ??= this.read()
      .then((r) => (this.last = r))
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async read(): Promise<ClockReport> {
    const [chrony, timesyncd, rtc] = await Promise.all([this.readChrony(), this.readTimesyncd(), this.readRtc()]);
    const checkedAt = new Date(this.now()).toISOString();
    if (chrony) return { source: 'chrony', synced: chrony.synced, rtc, offsetS: chrony.offsetS, stratum: chrony.stratum, checkedAt };
    if (timesyncd) return { source: 'timesyncd', synced: timesyncd.synced, rtc, offsetS: null, stratum: null, checkedAt };
    return { source: rtc.driftS !== null ? 'rtc' : 'system', synced: false, rtc, offsetS: null, stratum: null, checkedAt };
  }

  /** undefined when chronyc is missing, cannot reach chronyd, times out or prints nonsense. */
  private async readChrony(): Promise<ChronyTracking | undefined> {
    const args = [...(this.chronycSocket ? ['-h', this.chronycSocket] : []), '-n', '-c', 'tracking'];
    try {
      const r = await runTool(this.chronyc, args, { timeoutMs: this.chronycTimeoutMs, device: 'clock' });
      return r.code === 0 ? parseChronyTracking(r.stdout) : undefined;
    } catch {
      return undefined;
    }
  }

  /** timesyncd creates its run directory when it starts and touches `synchronized` on each sync. */
  private async readTimesyncd(): Promise<{ synced: boolean } | undefined> {
    const dir = join(this.root, 'run/systemd/timesync');
    if (!(await exists(dir))) return undefined;
    return { synced: await exists(join(dir, 'synchronized')) };
  }

  private async readRtc(): Promise<RtcReport> {
    const dir = join(this.root, 'sys/class/rtc', basename(this.rtcDevice));
    if (!(await exists(dir))) return { present: false, device: null, driftS: null };
    const since = await readTrimmed(join(dir, 'since_epoch'));
    const nowS = Math.floor(this.now() / 1000);
    const driftS = since !== undefined && /^\d+$/.test(since) ? Number(since) - nowS : null;
    return { present: true, device: this.rtcDevice, driftS };
  }
}
