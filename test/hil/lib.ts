/**
 * Helpers for tests that run inside the HIL VM (test/hil/guest.sh sets BODYCAM_HIL=1): drive
 * gpio-sim inputs from outside through their pull attribute, read outputs back from their value
 * attribute, preset i2c-stub registers, unbind and rebind the vivid camera.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { findBusByName } from '../../hal/gauge/smbus.js';

export const IN_VM = process.env.BODYCAM_HIL === '1';
/** `skip` option for node:test: these tests need the VM's kernel drivers. */
export const vmOnly = IN_VM ? false : 'needs the HIL VM (make hil)';
export const REPO = process.env.HIL_REPO ?? process.cwd();
export const RESULTS = process.env.HIL_RESULTS ?? '/tmp';
export const SIM_LABEL = 'bodycam-hil';
export const LINE = { shift: 0, privacy: 1, led_rec: 2, led_status: 3, haptic: 4, buzzer: 5, dock: 6 } as const;

export function simChip(): string {
  const out = execFileSync('gpiodetect', { encoding: 'utf8' });
  const m = new RegExp(`^(gpiochip\\d+) \\[${SIM_LABEL}\\]`, 'm').exec(out);
  if (!m) throw new Error(`gpio-sim chip '${SIM_LABEL}' not found in: ${out}`);
  return m[1]!;
}

const simAttr = (offset: number, attr: string): string => `/sys/bus/gpio/devices/${simChip()}/sim_gpio${offset}/${attr}`;

/** Drives a gpio-sim input from outside: pull-up = high, pull-down = low. */
export function setPull(offset: number, high: boolean): void {
  writeFileSync(simAttr(offset, 'pull'), high ? 'pull-up' : 'pull-down');
}

/** The level gpio-sim sees on a line (for outputs: what the consumer drives). */
export function simValue(offset: number): boolean {
  return readFileSync(simAttr(offset, 'value'), 'utf8').trim() === '1';
}

export function consumerOf(offset: number): string | undefined {
  const out = execFileSync('gpioinfo', [simChip()], { encoding: 'utf8' });
  const m = new RegExp(`^\\s+line\\s+${offset}:\\s+\\S+\\s+(unused|"[^"]*")`, 'm').exec(out);
  return !m || m[1] === 'unused' ? undefined : m[1]!.slice(1, -1);
}

export function stubBus(): number {
  return findBusByName('SMBus stub driver');
}

/** Presets a 16-bit register in i2c-stub exactly as an SMBus word write puts it there. */
export function i2cWord(address: number, reg: number, word: number): void {
  execFileSync('i2cset', ['-y', String(stubBus()), `0x${address.toString(16)}`, `0x${reg.toString(16)}`, `0x${word.toString(16).padStart(4, '0')}`, 'w']);
}

/** MAX17048 registers are big-endian: the stub must hold the bytes swapped. */
export function maxReg(reg: number, value: number): void {
  i2cWord(0x36, reg, ((value & 0xff) << 8) | ((value >> 8) & 0xff));
}

/** Sets the MAX17048 in i2c-stub to a state of charge, cell voltage and charge rate (%/h). */
export function setMax17048(p: { percent: number; voltageV: number; ratePctH: number }): void {
  maxReg(0x02, Math.round(p.voltageV / 78.125e-6));
  maxReg(0x04, Math.round(p.percent * 256));
  maxReg(0x08, 0x0012);
  maxReg(0x16, Math.round(p.ratePctH / 0.208) & 0xffff);
}

/** Sets the BQ27441 in i2c-stub (little-endian words, as the chip). */
export function setBq27441(p: { percent: number; voltageMv: number; currentMa: number; remainingMah: number }): void {
  i2cWord(0x55, 0x04, p.voltageMv);
  i2cWord(0x55, 0x06, p.currentMa < 0 ? 0x0001 : 0x0000);
  i2cWord(0x55, 0x10, p.currentMa & 0xffff);
  i2cWord(0x55, 0x0c, p.remainingMah);
  i2cWord(0x55, 0x0e, 3000);
  i2cWord(0x55, 0x1c, p.percent);
}

const VIVID = '/sys/bus/platform/drivers/vivid';
export function unbindCamera(): void {
  writeFileSync(`${VIVID}/unbind`, 'vivid.0');
}
export function bindCamera(): void {
  if (!existsSync(`${VIVID}/vivid.0`)) writeFileSync(`${VIVID}/bind`, 'vivid.0');
}

export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
