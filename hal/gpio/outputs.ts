/**
 * GPIO outputs (led_rec, led_status, haptic, buzzer) over either kernel interface.
 *
 * Character device: a character-device line keeps its value only while some process holds its
 * request (released, a gpio-sim line falls back to its pull, a real pin is undefined), so a
 * `gpioset --mode=signal` child holds each output line for as long as the agent drives it.
 * libgpiod 1.6's gpioset cannot change a held value, so a change replaces that line's child: the
 * old one is stopped, a new one started with the new value. One child per line (not per chip), so
 * a blinking status LED never glitches the steady record LED. Changes are coalesced: a burst of
 * pattern steps ends in one respawn with the latest value.
 * Legacy sysfs: onoff exports each line as an output and writes its value file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { GpioLine } from '../../agent/generated/board-config.js';
import { DeviceError } from '../../agent/lib/errors.js';
import { createLogger } from '../../agent/lib/log.js';
import type { OutputName, Outputs } from '../types.js';
import { resolveCdevLine, listCdevChips, resolveSysfsLine } from './chips.js';
import { waitHeld } from './held.js';
import type { GpioBackendName } from './inputs.js';
import type { Gpio as OnoffGpio } from 'onoff';

const log = createLogger('hal.gpio');

export type OutputLines = Partial<Record<OutputName, GpioLine>>;

/** Outputs that can also read a line's electrical state back from the kernel. */
export interface ReadableOutputs extends Outputs {
  /** Logical level read from the device, or undefined when the kernel cannot report it. */
  readBack(name: OutputName): Promise<boolean | undefined>;
  describe(): Record<string, string>;
}

export function createOutputs(backend: GpioBackendName, lines: OutputLines): ReadableOutputs {
  return backend === 'gpio-cdev' ? new CdevOutputs(lines) : new SysfsOutputs(lines);
}

interface CdevOut {
  readonly chip: string;
  readonly offset: number;
  readonly activeLow: boolean;
  on: boolean;
}

export class CdevOutputs implements ReadableOutputs {
  private readonly outs = new Map<OutputName, CdevOut>();
  private readonly holders = new Map<OutputName, LineHolder>();
  private readonly where = new Map<string, string>();

  constructor(private readonly lines: OutputLines) {}

  async start(): Promise<void> {
    const chips = await listCdevChips();
    for (const [name, spec] of Object.entries(this.lines) as [OutputName, GpioLine][]) {
      const r = await resolveCdevLine(spec, name, chips);
      this.outs.set(name, { chip: r.chip, offset: r.offset, activeLow: r.activeLow, on: false });
      this.where.set(name, `${r.chip} [${r.label}] line ${r.offset}${r.activeLow ? ' active-low' : ''}`);
      this.holders.set(name, new LineHolder(r.chip, r.offset));
    }
    // Drive everything off at start: a known state, and the lines are ours from now on.
    await Promise.all([...this.holders].map(([name, h]) => h.apply(this.electrical(name))));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.holders.values()].map((h) => h.release()));
    this.holders.clear();
  }

  private electrical(name: OutputName): boolean {
    const o = this.outs.get(name)!;
    return o.on !== o.activeLow;
  }

  set(name: OutputName, on: boolean): void {
    const o = this.outs.get(name);
    if (!o || o.on === on) return;
    o.on = on;
    this.holders.get(name)?.apply(this.electrical(name)).catch((e: unknown) => log.error('output change failed', { output: name, error: e }));
  }

  get(name: OutputName): boolean {
    return this.outs.get(name)?.on ?? false;
  }

  has(name: OutputName): boolean {
    return this.lines[name] !== undefined;
  }

  /** Resolves when every requested change has reached the lines (tests, selftest). */
  async settled(): Promise<void> {
    await Promise.all([...this.holders.values()].map((h) => h.idle()));
  }

  async readBack(name: OutputName): Promise<boolean | undefined> {
    await this.settled();
    const o = this.outs.get(name);
    if (!o) return undefined;
    // Only gpio-sim exposes the electrical level of an output it does not own; real chips do
    // not let a second request read a held output over the character device.
    const raw = readSimValue(o.chip, o.offset);
    return raw === undefined ? undefined : raw !== o.activeLow;
  }

  describe(): Record<string, string> {
    return Object.fromEntries(this.where);
  }
}

/** gpio-sim's per-line `value` attribute (what the simulated pin is driven to), if this is gpio-sim. */
export function readSimValue(chip: string, offset: number): boolean | undefined {
  try {
    return readFileSync(`/sys/bus/gpio/devices/${chip}/sim_gpio${offset}/value`, 'utf8').trim() === '1';
  } catch {
    return undefined;
  }
}

/** Holds one output line with a `gpioset --mode=signal` child, replaced on every change. */
class LineHolder {
  private child: ChildProcess | undefined;
  /** Requested changes not yet on the pin, with the (monotonic) time each was asked for. */
  private queue: { value: boolean; at: number }[] = [];
  private last: { value: boolean; askedAt: number; onPinAt: number } | undefined;
  private running: Promise<void> | undefined;
  private readonly retired = new Set<ChildProcess>();
  private wake: (() => void) | undefined;
  private released = false;

  constructor(
    readonly chip: string,
    readonly offset: number,
  ) {}

  apply(value: boolean): Promise<void> {
    if (this.released) return Promise.resolve();
    this.queue.push({ value, at: performance.now() });
    // Far behind (a loaded CPU, a fast blink): skip to the latest value rather than lag further.
    if (this.queue.length > 4) this.queue = this.queue.slice(-1);
    this.running ??= this.loop().finally(() => (this.running = undefined));
    return this.running;
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async loop(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      const last = this.last;
      if (last) {
        if (next.value === last.value) continue;
        // A level reached the pin late (a respawn takes time under load): keep it on the pin as
        // long as it was asked to last, so a 400 ms haptic pulse stays a 400 ms pulse.
        const wanted = next.at - last.askedAt;
        const held = performance.now() - last.onPinAt;
        if (held < wanted) {
          await new Promise<void>((r) => {
            const t = setTimeout(r, wanted - held);
            this.wake = () => {
              clearTimeout(t);
              r();
            };
          });
          this.wake = undefined;
          if (this.released) return;
        }
      }
      await this.kill();
      await this.spawnHolder(next.value);
      this.last = { value: next.value, askedAt: next.at, onPinAt: performance.now() };
    }
  }

  private async spawnHolder(value: boolean): Promise<void> {
    const args = ['--mode=signal', this.chip, `${this.offset}=${value ? 1 : 0}`];
    const child = spawn('gpioset', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    let exited = false;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const failed = new Promise<Error>((resolve) => {
      child.once('error', (e) => {
        exited = true;
        resolve(new DeviceError(this.chip, `cannot run gpioset: ${e.message}`));
      });
      child.once('exit', (code, sig) => {
        exited = true;
        if (this.child === child) this.child = undefined;
        // gpioset handles SIGTERM through a signalfd and exits 0: a replacement we asked for.
        if (this.retired.has(child)) return;
        const e = new DeviceError(this.chip, `gpioset for line ${this.offset} exited (${code ?? sig}): ${stderr.trim()}`);
        log.error('output holder died', { chip: this.chip, offset: this.offset, error: e });
        resolve(e);
      });
    });
    // The value is on the pin only once gpioset holds the line request.
    const held = child.pid !== undefined && (await waitHeld(child.pid, 1, 10_000, () => exited));
    if (!held) throw await Promise.race([failed, Promise.resolve(new DeviceError(this.chip, `gpioset did not take line ${this.offset} within 10 s`))]);
  }

  private kill(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    this.retired.add(c);
    return new Promise<void>((res) => {
      c.once('exit', () => {
        this.retired.delete(c);
        res();
      });
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 2000).unref();
    });
  }

  async release(): Promise<void> {
    this.released = true;
    this.queue = [];
    this.wake?.();
    await this.running?.catch(() => undefined);
    await this.kill();
  }
}

export class SysfsOutputs implements ReadableOutputs {
  private readonly gpios = new Map<OutputName, { g: OnoffGpio; activeLow: boolean; on: boolean; num: number }>();
  private readonly where = new Map<string, string>();

  constructor(private readonly lines: OutputLines) {}

  async start(): Promise<void> {
    const { Gpio } = (await import('onoff')).default;
    for (const [name, spec] of Object.entries(this.lines) as [OutputName, GpioLine][]) {
      const r = await resolveSysfsLine(spec, name);
      const off = r.activeLow ? 'high' : 'low';
      let g: OnoffGpio;
      try {
        g = new Gpio(r.gpio, off);
      } catch (e) {
        throw new DeviceError(name, `cannot export gpio${r.gpio}: ${(e as Error).message}`, { cause: e });
      }
      this.gpios.set(name, { g, activeLow: r.activeLow, on: false, num: r.gpio });
      this.where.set(name, `sysfs gpio${r.gpio} ([${r.label}] line ${r.offset})${r.activeLow ? ' active-low' : ''}`);
    }
  }

  async stop(): Promise<void> {
    for (const [name, o] of this.gpios) {
      try {
        o.g.writeSync(o.activeLow ? 1 : 0);
        o.g.unexport();
      } catch (e) {
        log.warn('cannot release output', { output: name, error: e });
      }
    }
    this.gpios.clear();
  }

  set(name: OutputName, on: boolean): void {
    const o = this.gpios.get(name);
    if (!o || o.on === on) return;
    try {
      o.g.writeSync(on !== o.activeLow ? 1 : 0);
      o.on = on;
    } catch (e) {
      log.error('output write failed', { output: name, error: e });
    }
  }

  get(name: OutputName): boolean {
    return this.gpios.get(name)?.on ?? false;
  }

  has(name: OutputName): boolean {
    return this.lines[name] !== undefined;
  }

  async readBack(name: OutputName): Promise<boolean | undefined> {
    const o = this.gpios.get(name);
    if (!o) return undefined;
    // The sysfs value file of an output reads the level the chip reports for the pin.
    return (o.g.readSync() === 1) !== o.activeLow;
  }

  describe(): Record<string, string> {
    return Object.fromEntries(this.where);
  }
}
