/**
 * Battery and thermal thresholds, and the pure level logic the power extension applies to each
 * reading. The percent and temperature thresholds are policy (central may tune them per fleet,
 * within policy's bounds); the board adds what is a property of the hardware: the cell's
 * critical voltage and the thermal hysteresis.
 */
import type { BoardConfig } from '../config/board.js';
import type { Policy } from '../config/policy.js';
import type { Issue } from '../lib/errors.js';
import type { GaugeReading } from '../../hal/types.js';

export interface PowerThresholds {
  readonly lowPct: number;
  readonly criticalPct: number;
  readonly criticalVoltageV: number;
  /** Ascending °C at which degrade levels 1..n start. */
  readonly degradeC: readonly number[];
  readonly hysteresisC: number;
}

/**
 * Three degrade steps: at policy's tempDegradeC (lower bitrate), half way to tempCriticalC (lower
 * bitrate and fps), and at tempCriticalC (the lowest quality the core has, and the overheating
 * fault). Recording never stops for heat: a hot camera that records is worth more than a cool one.
 */
export function thresholdsOf(b: BoardConfig, p: Policy): PowerThresholds {
  return {
    lowPct: p.batteryLowPct,
    criticalPct: p.batteryCriticalPct,
    criticalVoltageV: b.gauge.criticalVoltageV ?? 3.4,
    degradeC: [p.tempDegradeC, Math.round((p.tempDegradeC + p.tempCriticalC) / 2), p.tempCriticalC],
    hysteresisC: b.thermal.hysteresisC ?? 3,
  };
}

/** Cross-field rules of the board's power settings (`bodycam board check` lists them with the schema's). */
export function powerIssues(b: BoardConfig): Issue[] {
  const out: Issue[] = [];
  if (b.watchdog.device && b.watchdog.timeoutS === undefined) out.push({ where: '/watchdog/timeoutS', message: 'required with watchdog.device (the agent pets at a third of it)' });
  return out;
}

export type BatteryLevel = 'ok' | 'low' | 'critical';

/**
 * The battery level of a reading. Charging is never low or critical. Leaving a level needs 2 %
 * of margin so a gauge wobbling at the threshold does not journal a record per reading.
 */
export function batteryLevel(r: GaugeReading, prev: BatteryLevel, t: PowerThresholds): BatteryLevel {
  if (r.charging) return 'ok';
  const wasCritical = prev === 'critical';
  if (r.percent <= t.criticalPct + (wasCritical ? 2 : 0) || r.voltageV <= t.criticalVoltageV + (wasCritical ? 0.05 : 0)) return 'critical';
  if (r.percent <= t.lowPct + (prev !== 'ok' ? 2 : 0)) return 'low';
  return 'ok';
}

/** The thermal degrade level of a temperature: 0 below the first step, n at or above step n. */
export function thermalLevel(tempC: number, prev: number, t: PowerThresholds): number {
  let level = 0;
  t.degradeC.forEach((c, i) => {
    // Rising: the threshold itself. Falling from above: only below threshold - hysteresis.
    const limit = prev > i ? c - t.hysteresisC : c;
    if (tempC >= limit) level = i + 1;
  });
  return level;
}
