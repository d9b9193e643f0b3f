/**
 * Helpers for tests that run inside the HIL VM (test/hil/guest.sh sets BODYCAM_HIL=1): drive
 * gpio-sim inputs from outside through their pull attribute, read outputs back from their value
 * attribute, preset i2c-stub registers, unbind and rebind the vivid camera.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { findBusByName } from '../../hal/gauge/smbus.js';
import { startAgent, type AgentOptions, type AgentProc } from '../helpers/agent.js';
import { controlSocketPath } from '../../agent/control/protocol.js';

export const IN_VM = process.env.BODYCAM_HIL === '1';
/** `skip` option for node:test: these tests need the VM's kernel drivers. */
export const vmOnly = IN_VM ? false : 'needs the HIL VM (make hil)';
export const REPO = process.env.HIL_REPO ?? process.cwd();
export const RESULTS = process.env.HIL_RESULTS ?? '/tmp';
export const SIM_LABEL = 'bodycam-hil';
export const LINE = { shift: 0, privacy: 1, led_rec: 2, led_status: 3, haptic: 4, buzzer: 5, dock: 6 } as const;

let chipName: string | undefined;
/** The gpio-sim chip's device name (cached: samplers call this every 20 ms). */
export function simChip(): string {
  if (chipName) return chipName;
  const out = execFileSync('gpiodetect', { encoding: 'utf8' });
  const m = new RegExp(`^(gpiochip\\d+) \\[${SIM_LABEL}\\]`, 'm').exec(out);
  if (!m) throw new Error(`gpio-sim chip '${SIM_LABEL}' not found in: ${out}`);
  chipName = m[1]!;
  return chipName;
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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A wearer's hand on a gpio-sim button: press (pull-up), hold, release (pull-down). */
export async function pressLine(offset: number, holdMs: number): Promise<void> {
  setPull(offset, true);
  await sleep(holdMs);
  setPull(offset, false);
}

/**
 * Samples a gpio-sim line every 20 ms and remembers whether it was ever high: haptic pulses are
 * a few hundred ms long, so a single read at the wrong moment would miss them.
 */
export function watchLine(offset: number): { sawHigh(): boolean; reset(): void; stop(): void } {
  let high = false;
  const t = setInterval(() => {
    try {
      if (simValue(offset)) high = true;
    } catch {
      /* chip busy being reconfigured: next sample */
    }
  }, 20);
  return { sawHigh: () => high, reset: () => void (high = false), stop: () => clearInterval(t) };
}

/**
 * startAgent with a start-up allowance for emulation: under TCG, on a host whose two cores other
 * test stages share, loading the agent's module graph alone can take longer than the harness's
 * 30 s.
 */
export async function startAgentVm(o: AgentOptions, timeoutMs = 120_000): Promise<AgentProc> {
  const a = await startAgent({ ...o, waitReady: false });
  const until = Date.now() + timeoutMs;
  while (!existsSync(controlSocketPath(a.dataDir))) {
    if (Date.now() > until) {
      await a.kill('SIGKILL');
      throw new Error(`agent did not open its control socket within ${timeoutMs} ms\n${a.logs().slice(-3000)}`);
    }
    await sleep(100);
  }
  await a.waitFor(() => true, 60_000, 'first status');
  return a;
}
