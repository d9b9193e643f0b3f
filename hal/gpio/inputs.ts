/**
 * Debounced GPIO inputs (buttons, dock detect) over either kernel interface. Both backends take
 * edges by interrupt: the character device through libgpiod's `gpiomon` (a long-lived child
 * that blocks on the line-event fd), legacy sysfs through `onoff` (epoll on the value file).
 * Nothing polls. Levels are logical: `activeLow` is applied here, the same way for both.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { GpioLine } from '../../agent/generated/board-config.js';
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import { DeviceError } from '../../agent/lib/errors.js';
import { Backoff, sleep } from '../../agent/lib/backoff.js';
import { createLogger } from '../../agent/lib/log.js';
import { Debouncer } from './debounce.js';
import { listCdevChips, resolveCdevLine, resolveSysfsLine, type CdevLine } from './chips.js';
import { waitHeld } from './held.js';
import { runToolOk } from '../util/exec.js';
import type { Gpio as OnoffGpio } from 'onoff';

const log = createLogger('hal.gpio');

export type GpioBackendName = 'gpio-cdev' | 'gpio-sysfs';

export interface InputSpec {
  readonly key: string;
  readonly line: GpioLine;
}

export interface GpioInputEvents extends Record<string, unknown[]> {
  change: [key: string, level: boolean, atMono: number];
  error: [Error];
}

export interface GpioInputSet extends TypedEmitter<GpioInputEvents> {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Debounced logical level of one input. */
  level(key: string): boolean;
  /** Where each key was found (chip/label/offset), for selftest and logs. */
  describe(): Record<string, string>;
}

export function createInputs(backend: GpioBackendName, specs: readonly InputSpec[], debounceMs: number): GpioInputSet {
  return backend === 'gpio-cdev' ? new CdevInputs(specs, debounceMs) : new SysfsInputs(specs, debounceMs);
}

/** One physical line may serve several keys (a board may map shift and privacy to one button). */
interface Bound {
  readonly keys: string[];
  readonly activeLow: boolean;
  deb: Debouncer | undefined;
}

abstract class InputsBase extends TypedEmitter<GpioInputEvents> implements GpioInputSet {
  protected readonly where = new Map<string, string>();
  protected readonly byKey = new Map<string, Bound>();
  constructor(
    protected readonly specs: readonly InputSpec[],
    protected readonly debounceMs: number,
  ) {
    super();
  }
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  /** Debounced level; false while the input is not started (its start failure is the device's fault). */
  level(key: string): boolean {
    return this.byKey.get(key)?.deb?.level ?? false;
  }
  describe(): Record<string, string> {
    return Object.fromEntries(this.where);
  }
  /** Arms the debouncer of a bound line with its initial raw (electrical) level. */
  protected arm(b: Bound, rawInitial: boolean): void {
    b.deb?.dispose();
    b.deb = new Debouncer(rawInitial !== b.activeLow, this.debounceMs, (level, at) => {
      for (const k of b.keys) this.emit('change', k, level, at);
    });
  }
  protected rawEdge(b: Bound, raw: boolean, atMono: number): void {
    b.deb?.edge(raw !== b.activeLow, atMono);
  }
  protected disposeAll(): void {
    for (const b of new Set(this.byKey.values())) b.deb?.dispose();
  }
}

/** Character device: one `gpiomon` per chip watching all of that chip's input lines. */
class CdevInputs extends InputsBase {
  private monitors: ChipMonitor[] = [];

  async start(): Promise<void> {
    const chips = await listCdevChips();
    // One monitor per chip and bias: gpiomon applies one bias to all the lines it requests.
    const byChip = new Map<string, { chip: string; bias: CdevLine['bias']; lines: Map<number, Bound> }>();
    for (const s of this.specs) {
      const r: CdevLine = await resolveCdevLine(s.line, s.key, chips);
      const gk = `${r.chip}/${r.bias}`;
      const group = byChip.get(gk) ?? { chip: r.chip, bias: r.bias, lines: new Map<number, Bound>() };
      byChip.set(gk, group);
      const lines = group.lines;
      let b = lines.get(r.offset);
      if (!b) {
        b = { keys: [], activeLow: r.activeLow, deb: undefined };
        lines.set(r.offset, b);
      }
      b.keys.push(s.key);
      this.byKey.set(s.key, b);
      this.where.set(s.key, `${r.chip} [${r.label}] line ${r.offset}${r.activeLow ? ' active-low' : ''}`);
    }
    for (const { chip, bias, lines } of byChip.values()) {
      const m = new ChipMonitor(chip, bias, lines, (b, raw, at) => this.rawEdge(b, raw, at), (b, raw) => this.arm(b, raw), (e) => this.emit('error', e));
      this.monitors.push(m);
      await m.start();
    }
  }

  async stop(): Promise<void> {
    const ms = this.monitors;
    this.monitors = [];
    await Promise.all(ms.map((m) => m.stop()));
    this.disposeAll();
  }
}

/**
 * Supervises one `gpiomon` child. The line levels are read with `gpioget` before the monitor
 * holds the lines (a held line cannot be read by another request), and start() returns only when
 * `gpioinfo` shows the lines held: an edge before that would be lost.
 */
class ChipMonitor {
  private child: ChildProcessWithoutNullStreams | undefined;
  private stopping = false;
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly chip: string,
    private readonly bias: CdevLine['bias'],
    private readonly lines: Map<number, Bound>,
    private readonly onEdge: (b: Bound, raw: boolean, atMono: number) => void,
    private readonly onArm: (b: Bound, raw: boolean) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  async start(): Promise<void> {
    this.stopping = false;
    const offsets = [...this.lines.keys()];
    const levels = (await runToolOk('gpioget', [`--bias=${this.bias}`, this.chip, ...offsets.map(String)], { device: this.chip })).trim().split(/\s+/);
    offsets.forEach((o, i) => this.onArm(this.lines.get(o)!, levels[i] === '1'));
    const child = spawn('gpiomon', ['-b', `--bias=${this.bias}`, '-F', '%o %e', this.chip, ...offsets.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    createInterface({ input: child.stdout }).on('line', (l) => {
      const at = performance.now();
      const m = /^(\d+) ([01])$/.exec(l.trim());
      const b = m ? this.lines.get(Number(m[1])) : undefined;
      if (b) this.onEdge(b, m![2] === '1', at);
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    child.on('exit', (code, sig) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      const e = new DeviceError(this.chip, `gpiomon exited (${code ?? sig}): ${stderr.trim().split('\n').pop() ?? ''}`);
      log.warn('input monitor died; restarting', { chip: this.chip, error: e });
      this.onError(e);
      const d = this.backoff.next();
      this.restartTimer = setTimeout(() => {
        this.start().then(() => this.backoff.reset(), (err: unknown) => this.onError(err as Error));
      }, d);
    });
    child.on('error', (e) => this.onError(new DeviceError(this.chip, `cannot run gpiomon: ${e.message}`)));
    // Armed once gpiomon holds an event request per line: an edge before that would be lost.
    let gone = false;
    void exited.then(() => (gone = true));
    const held = child.pid !== undefined && (await waitHeld(child.pid, offsets.length, 10_000, () => gone));
    if (!held) {
      const code = await Promise.race([exited, sleep(200).then(() => 'still running')]);
      if (code === 'still running') child.kill('SIGKILL');
      throw new DeviceError(this.chip, `gpiomon did not take lines ${offsets.join(',')} (${String(code)}): ${stderr.trim()}`);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const c = this.child;
    if (!c) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 2000).unref();
    });
  }
}

/** Legacy sysfs through onoff: epoll on each exported line's value file (edge 'both'). */
class SysfsInputs extends InputsBase {
  private gpios: OnoffGpio[] = [];

  async start(): Promise<void> {
    const { Gpio } = (await import('onoff')).default;
    const byNum = new Map<number, Bound>();
    for (const s of this.specs) {
      const r = await resolveSysfsLine(s.line, s.key);
      let b = byNum.get(r.gpio);
      if (!b) {
        b = { keys: [], activeLow: r.activeLow, deb: undefined };
        byNum.set(r.gpio, b);
      }
      b.keys.push(s.key);
      this.byKey.set(s.key, b);
      this.where.set(s.key, `sysfs gpio${r.gpio} ([${r.label}] line ${r.offset})${r.activeLow ? ' active-low' : ''}`);
    }
    for (const [num, b] of byNum) {
      let g: OnoffGpio;
      try {
        // activeLow handled in InputsBase so both backends invert identically.
        g = new Gpio(num, 'in', 'both', { debounceTimeout: 0 });
      } catch (e) {
        throw new DeviceError(b.keys.join('/'), `cannot export gpio${num}: ${(e as Error).message}`, { cause: e });
      }
      this.gpios.push(g);
      this.arm(b, g.readSync() === 1);
      g.watch((err, value) => {
        const at = performance.now();
        if (err) this.emit('error', new DeviceError(b.keys.join('/'), `gpio${num}: ${err.message}`));
        else this.rawEdge(b, value === 1, at);
      });
    }
  }

  async stop(): Promise<void> {
    for (const g of this.gpios) {
      g.unwatchAll();
      try {
        g.unexport();
      } catch (e) {
        log.warn('unexport failed', { error: e });
      }
    }
    this.gpios = [];
    this.disposeAll();
  }
}
