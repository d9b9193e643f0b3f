/**
 * Maxim MAX17048 (ModelGauge, no sense resistor). Registers are 16-bit big-endian; an SMBus
 * word read returns the low byte first, so every word is byte-swapped.
 * VCELL 0x02: 78.125 µV/LSB. SOC 0x04: high byte = %, low byte = 1/256 %. VERSION 0x08: 0x001X.
 * CRATE 0x16: signed, 0.208 %/h (positive = charging). The chip measures no current: runtime is
 * estimated from CRATE, and current from CRATE times the configured capacity.
 */
import type { Gauge, GaugeReading } from '../types.js';
import { s16, swap16, SmbusChip, type BusOpener } from './smbus.js';

export const MAX17048 = { VCELL: 0x02, SOC: 0x04, MODE: 0x06, VERSION: 0x08, CONFIG: 0x0c, CRATE: 0x16, STATUS: 0x1a } as const;
export const MAX17048_ADDR = 0x36;
/** CRATE magnitudes below this (%/h) are noise around zero: neither charging nor discharging. */
const CRATE_DEADBAND = 0.5;

export interface Max17048Raw {
  vcell: number;
  soc: number;
  crate: number;
}

/** Decodes byte-swapped register words into a reading (pure: unit-tested with known words). */
export function decodeMax17048(raw: Max17048Raw, capacityMah: number | undefined): GaugeReading {
  const voltageV = Math.round(raw.vcell * 78.125) / 1e6;
  const percent = Math.min(100, Math.round(((raw.soc >> 8) + (raw.soc & 0xff) / 256) * 10) / 10);
  const ratePctH = s16(raw.crate) * 0.208;
  const charging = ratePctH > CRATE_DEADBAND;
  const runtimeMin = ratePctH < -CRATE_DEADBAND ? Math.round((percent / -ratePctH) * 60) : undefined;
  const currentMa = capacityMah !== undefined ? Math.round((ratePctH / 100) * capacityMah) : undefined;
  return { percent, voltageV, charging, currentMa, runtimeMin };
}

export class Max17048Gauge implements Gauge {
  readonly kind = 'max17048';
  private readonly chip: SmbusChip;
  constructor(
    open: BusOpener,
    busNumber: () => number,
    address = MAX17048_ADDR,
    private readonly capacityMah?: number,
  ) {
    this.chip = new SmbusChip('max17048', open, busNumber, address);
  }

  start(): Promise<void> {
    return this.chip.start();
  }
  stop(): Promise<void> {
    return this.chip.stop();
  }

  private async word(reg: number): Promise<number> {
    return swap16(await this.chip.readWord(reg));
  }

  async read(): Promise<GaugeReading> {
    const vcell = await this.word(MAX17048.VCELL);
    const soc = await this.word(MAX17048.SOC);
    const crate = await this.word(MAX17048.CRATE);
    return decodeMax17048({ vcell, soc, crate }, this.capacityMah);
  }

  /** The VERSION register (0x001X on a real part). */
  async version(): Promise<number> {
    return this.word(MAX17048.VERSION);
  }
}
