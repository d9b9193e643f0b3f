/**
 * The SMBus calls the fuel-gauge drivers use, as an interface: the real one is `i2c-bus` on
 * /dev/i2c-N; unit tests replay register maps through a fake (the one thing not runnable on a
 * host without the chip). Only byte/word transfers: the kernel's i2c-stub (the HIL VM's gauge)
 * and many SoC adapters speak SMBus only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { DeviceError } from '../../agent/lib/errors.js';

export interface SmbusBus {
  /** SMBus read word: the chip's first byte is the low byte (little-endian on the wire). */
  readWord(address: number, command: number): Promise<number>;
  readByte(address: number, command: number): Promise<number>;
  writeWord(address: number, command: number, word: number): Promise<void>;
  close(): Promise<void>;
}

export type BusOpener = (bus: number) => Promise<SmbusBus>;

export const openI2cBus: BusOpener = async (bus) => {
  const i2c = await import('i2c-bus');
  const open = i2c.openPromisified ?? (i2c as unknown as { default: typeof i2c }).default.openPromisified;
  try {
    return await open(bus);
  } catch (e) {
    throw new DeviceError(`/dev/i2c-${bus}`, `cannot open: ${(e as Error).message}`, { cause: e });
  }
};

/** Finds an I2C bus number by adapter name (e.g. 'SMBus stub driver'): bus numbers are dynamic. */
export function findBusByName(name: string, root = '/sys/class/i2c-dev'): number {
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    /* no i2c-dev loaded: reported below */
  }
  const seen: string[] = [];
  for (const e of entries) {
    const m = /^i2c-(\d+)$/.exec(e);
    if (!m) continue;
    let n: string;
    try {
      n = readFileSync(`${root}/${e}/name`, 'utf8').trim();
    } catch {
      continue;
    }
    seen.push(`${e} '${n}'`);
    if (n === name) return Number(m[1]);
  }
  throw new DeviceError('gauge', `no I2C adapter named '${name}' (present: ${seen.join(', ') || 'none; is i2c-dev loaded?'})`);
}

/** Two's complement of a 16-bit register. */
export const s16 = (w: number): number => (w & 0x8000 ? w - 0x10000 : w);
/** Byte swap of a 16-bit word: big-endian chip registers read through SMBus word calls. */
export const swap16 = (w: number): number => ((w & 0xff) << 8) | ((w >> 8) & 0xff);

/**
 * One chip on an SMBus, as the gauge drivers use it: the bus is opened on start and closed on
 * stop, and a failed read names the chip, its address and the register.
 */
export class SmbusChip {
  private bus: SmbusBus | undefined;
  constructor(
    private readonly chip: string,
    private readonly open: BusOpener,
    private readonly busNumber: () => number,
    readonly address: number,
  ) {}

  async start(): Promise<void> {
    this.bus = await this.open(this.busNumber());
  }
  async stop(): Promise<void> {
    await this.bus?.close();
    this.bus = undefined;
  }

  /** SMBus read word, as the wire gives it (little-endian); callers swap big-endian chips. */
  async readWord(reg: number): Promise<number> {
    if (!this.bus) throw new DeviceError('gauge', `${this.chip} not started`);
    try {
      return await this.bus.readWord(this.address, reg);
    } catch (e) {
      throw new DeviceError('gauge', `${this.chip} at 0x${this.address.toString(16)}: read of register 0x${reg.toString(16)} failed: ${(e as Error).message}`, { cause: e });
    }
  }
}
