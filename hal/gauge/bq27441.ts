/**
 * TI BQ27441-G1 (Impedance Track, with sense resistor). Standard commands are 16-bit
 * little-endian words, which is also SMBus word order: no swap.
 * Voltage 0x04 mV; Flags 0x06 (bit0 DSG discharging, bit9 FC full); AverageCurrent 0x10 mA
 * signed (positive = charging); RemainingCapacity 0x0C mAh; FullChargeCapacity 0x0E mAh;
 * StateOfCharge 0x1C %. Runtime = remaining capacity at the average drain.
 */
import type { Gauge, GaugeReading } from '../types.js';
import { s16, SmbusChip, type BusOpener } from './smbus.js';

export const BQ27441 = { CONTROL: 0x00, TEMP: 0x02, VOLTAGE: 0x04, FLAGS: 0x06, REMAINING: 0x0c, FULL: 0x0e, AVG_CURRENT: 0x10, SOC: 0x1c } as const;
export const BQ27441_ADDR = 0x55;
export const BQ27441_FLAG_DSG = 0x0001;
export const BQ27441_FLAG_FC = 0x0200;

export interface Bq27441Raw {
  voltage: number;
  flags: number;
  avgCurrent: number;
  remaining: number;
  soc: number;
}

export function decodeBq27441(raw: Bq27441Raw): GaugeReading {
  const currentMa = s16(raw.avgCurrent);
  const discharging = (raw.flags & BQ27441_FLAG_DSG) !== 0;
  const charging = !discharging && currentMa > 0;
  const runtimeMin = currentMa < 0 ? Math.round((raw.remaining / -currentMa) * 60) : undefined;
  return { percent: Math.min(100, raw.soc), voltageV: raw.voltage / 1000, charging, currentMa, runtimeMin };
}

export class Bq27441Gauge implements Gauge {
  readonly kind = 'bq27441';
  private readonly chip: SmbusChip;
  constructor(
    open: BusOpener,
    busNumber: () => number,
    address = BQ27441_ADDR,
  ) {
    this.chip = new SmbusChip('bq27441', open, busNumber, address);
  }

  start(): Promise<void> {
    return this.chip.start();
  }
  stop(): Promise<void> {
    return this.chip.stop();
  }

  private async word(reg: number): Promise<number> {
    return this.chip.readWord(reg);
  }

  async read(): Promise<GaugeReading> {
    return decodeBq27441({
      voltage: await this.word(BQ27441.VOLTAGE),
      flags: await this.word(BQ27441.FLAGS),
      avgCurrent: await this.word(BQ27441.AVG_CURRENT),
      remaining: await this.word(BQ27441.REMAINING),
      soc: await this.word(BQ27441.SOC),
    });
  }
}
