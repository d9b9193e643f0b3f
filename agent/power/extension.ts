/**
 * Power, heat and liveness: reads the fuel gauge and thermal zone on an interval and watches the
 * dock input.
 *  - Battery low → journaled warning. Battery critical (state of charge or cell voltage) → the
 *    `battery_critical` fault and a clean end of the shift (`forceEndShift`) while there is still
 *    energy to seal the last segment and write shift_end: a brown-out would lose up to a segment
 *    and leave the shift open. A gauge answering implausible values is a `gauge` fault, never a
 *    reason to end a shift.
 *  - Thermal steps → degrade levels (lower bitrate, then fps) before anything stops; the last
 *    step also raises the `overheating` fault. Every step is journaled with its temperature.
 *  - Watchdogs (systemd WATCHDOG=1, /dev/watchdog) are petted only while the agent makes
 *    progress: off duty or paused, a live event loop is progress; recording, a segment must have
 *    been sealed within `watchdog.stallS`, unless a camera fault explains the silence (the core is
 *    already retrying, and a restart would not bring the camera back).
 * Readings reach status and heartbeats through the core's `power` service.
 */
import type { AgentContext, Extension } from '../extension.js';
import type { AgentConfig } from '../config/agent-config.js';
import { sectionOf } from '../config/agent-config.js';
import type { BoardConfig } from '../config/board.js';
import type { StatusSnapshot } from '../status.js';
import { ConfigError, describe } from '../lib/errors.js';
import { systemClock, type Clock, type Timer } from '../lib/clock.js';
import type { GaugeReading } from '../../hal/types.js';
import { gaugeProblems } from '../../hal/gauge/plausible.js';
import { clockReport } from '../../hal/clock/clock-report.js';
import { DeviceWatchdog, SystemdWatchdog, systemdNotifier, type Watchdog } from '../../hal/watchdog/watchdog.js';
import { DEFAULT_POWER, type PowerConfig } from './config.js';
import { batteryLevel, powerIssues, thermalLevel, thresholdsOf, type BatteryLevel, type PowerThresholds } from './thresholds.js';

/** What the core offers for power readings (agent/daemon.ts `reportPower`). */
interface PowerReportService {
  report(battery: StatusSnapshot['battery'], temperatureC: number | null): void;
}

export interface PowerDeps {
  readonly clock?: Clock;
  /** Watchdogs to pet instead of the ones the board and environment ask for (tests). */
  readonly watchdogs?: Watchdog[];
}

export class PowerExtension implements Extension {
  readonly name = 'power';
  private ctx: AgentContext | undefined;
  private readonly clock: Clock;
  private watchdogs: Watchdog[] = [];
  private readTimer: Timer | undefined;
  private petTimer: Timer | undefined;
  private reading: GaugeReading | undefined;
  private level: BatteryLevel = 'ok';
  private tempC: number | undefined;
  private thermal = 0;
  /** The shift the battery already ended (force_end once per shift). */
  private endedShift: string | null = null;
  private lastSegmentAt: string | null = null;
  private progressMono = 0;
  private lastState: string | undefined;
  private petting = true;
  private lastPetMono: number | undefined;
  private stopped = false;
  private reading$: Promise<void> | undefined;

  constructor(
    private readonly cfg: PowerConfig,
    private readonly board: BoardConfig,
    private readonly deps: PowerDeps = {},
  ) {
    this.clock = deps.clock ?? systemClock;
  }

  async start(ctx: AgentContext): Promise<void> {
    const issues = powerIssues(this.board);
    if (issues.length) throw new ConfigError(`board ${this.board.name}`, issues);
    this.ctx = ctx;
    this.stopped = false;
    const notify = await systemdNotifier();
    // The core sends READY=1/STOPPING=1 through this service once extensions are up.
    if (notify) ctx.services.provide('systemd-notify', notify);
    this.watchdogs = this.deps.watchdogs ?? this.boardWatchdogs();
    for (const w of this.watchdogs) await w.start();
    ctx.hal.dock?.on('change', (docked) => this.safeJournal('power', { event: docked ? 'docked' : 'undocked' }));
    this.progressMono = this.clock.mono();
    await this.tick();
    this.scheduleRead();
    if (this.watchdogs.length) {
      this.petIfHealthy();
      this.schedulePet(Math.min(...this.watchdogs.map((w) => w.intervalMs)));
    }
  }

  private boardWatchdogs(): Watchdog[] {
    const w: Watchdog[] = [];
    const sd = this.board.watchdog.systemd === false ? undefined : SystemdWatchdog.fromEnv();
    if (sd) w.push(sd);
    if (this.board.watchdog.device) w.push(new DeviceWatchdog(this.board.watchdog.device, Math.max(500, ((this.board.watchdog.timeoutS ?? 60) * 1000) / 3)));
    return w;
  }

  private scheduleRead(): void {
    if (this.stopped) return;
    this.readTimer = this.clock.setTimer(this.cfg.intervalS * 1000, () => {
      void this.tick().finally(() => this.scheduleRead());
    });
  }

  private schedulePet(ms: number): void {
    if (this.stopped) return;
    this.petTimer = this.clock.setTimer(ms, () => {
      this.petIfHealthy();
      this.schedulePet(ms);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.readTimer?.cancel();
    this.petTimer?.cancel();
    await this.reading$?.catch(() => undefined);
    for (const w of this.watchdogs) await w.stop().catch(() => undefined);
    this.watchdogs = [];
  }

  /** One reading of gauge and thermal zone, and what follows from it. */
  tick(): Promise<void> {
    this.reading$ = this.readOnce();
    return this.reading$;
  }

  /** Read at every use: a signed set-policy command may change the thresholds at any time. */
  private get t(): PowerThresholds {
    return thresholdsOf(this.board, this.ctx!.policy());
  }

  private async readOnce(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    const gauge = ctx.hal.gauge;
    if (gauge) {
      try {
        const r = await gauge.read();
        const problems = gaugeProblems(r);
        if (problems.length) {
          ctx.setFault('gauge', `${gauge.kind}: implausible reading: ${problems.join('; ')}`);
          this.reading = undefined;
        } else {
          ctx.setFault('gauge', null);
          this.reading = r;
          this.applyBattery(ctx, r);
        }
      } catch (e) {
        ctx.setFault('gauge', describe(e));
        this.reading = undefined;
      }
    }
    const thermal = ctx.hal.thermal;
    if (thermal) {
      const c = await thermal.readC().catch(() => undefined);
      this.tempC = c;
      if (c !== undefined) this.applyThermal(ctx, c);
    }
    const r = this.reading;
    ctx.services
      .get<PowerReportService>('power')
      ?.report(r ? { percent: r.percent, voltageV: r.voltageV, charging: r.charging, runtimeMin: r.runtimeMin ?? null } : null, this.tempC ?? null);
  }

  private applyBattery(ctx: AgentContext, r: GaugeReading): void {
    const prev = this.level;
    const next = batteryLevel(r, prev, this.t);
    this.level = next;
    const fields = { percent: r.percent, voltage_v: r.voltageV, charging: r.charging, runtime_min: r.runtimeMin ?? null };
    if (next !== prev) {
      const event = next === 'ok' ? (r.charging ? 'battery_charging' : 'battery_ok') : next === 'low' ? 'battery_low' : 'battery_critical';
      this.safeJournal('power', { event, ...fields, threshold_pct: next === 'low' ? this.t.lowPct : next === 'critical' ? this.t.criticalPct : undefined });
      ctx.log.warn('battery level', { from: prev, to: next, ...fields });
    }
    if (next === 'critical') {
      ctx.setFault('battery_critical', `${r.percent}% ${r.voltageV} V`);
      const s = ctx.status();
      if ((s.state === 'RECORDING' || s.state === 'PAUSED' || s.state === 'FAULT') && s.shiftId !== this.endedShift) {
        this.endedShift = s.shiftId;
        ctx.log.warn('battery critical: finalizing the shift before brown-out', { shiftId: s.shiftId, ...fields });
        ctx.forceEndShift('battery_critical');
      }
    } else if (prev === 'critical') ctx.setFault('battery_critical', null);
  }

  private applyThermal(ctx: AgentContext, c: number): void {
    const prev = this.thermal;
    const next = thermalLevel(c, prev, this.t);
    if (next === prev) return;
    this.thermal = next;
    this.safeJournal('power', { event: 'thermal', temp_c: c, level: next, threshold_c: next > 0 ? this.t.degradeC[next - 1] : this.t.degradeC[0] });
    ctx.setDegrade('thermal', next);
    const max = this.t.degradeC.length;
    if (next >= max) ctx.setFault('overheating', `${c} °C (limit ${this.t.degradeC[max - 1]} °C)`);
    else if (prev >= max) ctx.setFault('overheating', null);
  }

  private safeJournal(type: string, fields: Record<string, unknown>): void {
    try {
      this.ctx?.journal(type, fields);
    } catch (e) {
      this.ctx?.log.error('cannot journal', { type, err: e });
    }
  }

  /** Pets every watchdog if the agent is making progress (see the file comment). */
  petIfHealthy(): boolean {
    const ctx = this.ctx;
    if (!ctx) return false;
    const s = ctx.status();
    const now = this.clock.mono();
    if (s.state !== this.lastState || s.lastSegmentAt !== this.lastSegmentAt) {
      // A new state or a freshly sealed segment: progress (entering RECORDING starts the grace).
      this.progressMono = now;
      this.lastState = s.state;
      this.lastSegmentAt = s.lastSegmentAt;
    }
    const stallMs = (this.board.watchdog.stallS ?? 30) * 1000;
    const healthy = s.state !== 'RECORDING' || now - this.progressMono < stallMs || 'camera' in s.faults;
    if (healthy !== this.petting) {
      this.petting = healthy;
      if (healthy) ctx.log.info('recording progresses again: petting the watchdog');
      else ctx.log.error('recording stalled: no longer petting the watchdog', { stallS: stallMs / 1000, lastSegmentAt: s.lastSegmentAt });
    }
    if (!healthy) return false;
    for (const w of this.watchdogs) w.pet();
    this.lastPetMono = now;
    return true;
  }

  status(): Record<string, unknown> {
    const r = this.reading;
    return {
      battery: r ? { ...r, level: this.level } : null,
      temperatureC: this.tempC ?? null,
      thermalLevel: this.thermal,
      docked: this.ctx?.hal.dock ? this.ctx.hal.dock.docked() : null,
      clock: clockReport(this.board.rtc ?? '/dev/rtc0'),
      watchdog: { kinds: this.watchdogs.map((w) => w.kind), petting: this.petting, lastPetAgoS: this.lastPetMono === undefined ? null : Math.round((this.clock.mono() - this.lastPetMono) / 1000) },
    };
  }
}

export function powerExtension(config: AgentConfig, board: BoardConfig): Extension | undefined {
  const cfg = sectionOf<PowerConfig | undefined>(config, 'power') ?? DEFAULT_POWER;
  return new PowerExtension(cfg, board);
}
