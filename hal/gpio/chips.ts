/**
 * Finds GPIO lines the way a board config names them: a chip by device name (`gpiochip2`) or by
 * label (`gpio-sim.0-node0`, `pinctrl-bcm2711`), a line by offset or by line name. Chip numbers
 * and legacy sysfs bases move between kernels and boots (Raspberry Pi kernels moved the base by
 * 512), labels and line names do not, so configs should prefer them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpioLine } from '../../agent/generated/board-config.js';
import { DeviceError } from '../../agent/lib/errors.js';
import { runToolOk } from '../util/exec.js';

export interface ChipInfo {
  /** Character device name, e.g. gpiochip0. */
  readonly name: string;
  readonly label: string;
  readonly lines: number;
}

export interface LineInfo {
  readonly offset: number;
  readonly name: string | undefined;
  readonly consumer: string | undefined;
  readonly direction: 'input' | 'output';
  readonly activeLow: boolean;
  readonly used: boolean;
}

/** A line resolved on a character-device chip. */
export interface CdevLine {
  readonly chip: string;
  readonly label: string;
  readonly offset: number;
  readonly activeLow: boolean;
  readonly bias: 'as-is' | 'pull-up' | 'pull-down' | 'disable';
  /** How the config named it, for messages. */
  readonly what: string;
}

/** A line resolved to a legacy sysfs global number. */
export interface SysfsLine {
  readonly gpio: number;
  readonly label: string;
  readonly offset: number;
  readonly activeLow: boolean;
  readonly what: string;
}

/** `gpiodetect` (libgpiod 1.6): `gpiochip0 [gpio-sim.0-node0] (8 lines)`. */
export function parseGpiodetect(text: string): ChipInfo[] {
  const out: ChipInfo[] = [];
  for (const l of text.split('\n')) {
    const m = /^(gpiochip\d+) \[(.*)\] \((\d+) lines?\)\s*$/.exec(l);
    if (m) out.push({ name: m[1]!, label: m[2]!, lines: Number(m[3]) });
  }
  return out;
}

/** `gpioinfo CHIP` (libgpiod 1.6): `\tline   1:   "button"  "gpiomon"   input  active-high [used]`. */
export function parseGpioinfo(text: string): LineInfo[] {
  const out: LineInfo[] = [];
  const re = /^\s+line\s+(\d+):\s+(unnamed|"[^"]*")\s+(unused|"[^"]*")\s+(input|output)\s+(active-high|active-low)(.*)$/;
  for (const l of text.split('\n')) {
    const m = re.exec(l);
    if (!m) continue;
    const unq = (s: string, none: string): string | undefined => (s === none ? undefined : s.slice(1, -1));
    out.push({
      offset: Number(m[1]),
      name: unq(m[2]!, 'unnamed'),
      consumer: unq(m[3]!, 'unused'),
      direction: m[4] as 'input' | 'output',
      activeLow: m[5] === 'active-low',
      used: /\[used/.test(m[6] ?? ''),
    });
  }
  return out;
}

export async function listCdevChips(): Promise<ChipInfo[]> {
  return parseGpiodetect(await runToolOk('gpiodetect', [], { device: 'gpio' }));
}

export async function chipLines(chip: string): Promise<LineInfo[]> {
  return parseGpioinfo(await runToolOk('gpioinfo', [chip], { device: chip }));
}

function describeSpec(s: GpioLine): string {
  return `${s.chip ?? '(any chip)'}:${String(s.line)}`;
}

/** Resolves a configured line on the character device (chip by name or label, line by offset or name). */
export async function resolveCdevLine(spec: GpioLine, what: string, chips?: ChipInfo[]): Promise<CdevLine> {
  const all = chips ?? (await listCdevChips());
  const candidates = spec.chip === undefined ? all : all.filter((c) => c.name === spec.chip || c.label === spec.chip);
  if (!candidates.length) {
    throw new DeviceError(what, `no GPIO chip named or labelled '${spec.chip ?? ''}' (present: ${all.map((c) => `${c.name} [${c.label}]`).join(', ') || 'none'})`);
  }
  const activeLow = spec.activeLow ?? false;
  const bias = spec.bias ?? 'as-is';
  if (typeof spec.line === 'number') {
    const c = candidates[0]!;
    if (spec.line >= c.lines) throw new DeviceError(what, `line ${spec.line} out of range: ${c.name} [${c.label}] has ${c.lines} lines`);
    return { chip: c.name, label: c.label, offset: spec.line, activeLow, bias, what };
  }
  if (spec.line === undefined) throw new DeviceError(what, 'no line configured');
  for (const c of candidates) {
    const hit = (await chipLines(c.name)).find((l) => l.name === spec.line);
    if (hit) return { chip: c.name, label: c.label, offset: hit.offset, activeLow, bias, what };
  }
  throw new DeviceError(what, `no GPIO line named '${spec.line}' on ${candidates.map((c) => c.name).join(', ')} (${describeSpec(spec)})`);
}

export interface SysfsChip {
  readonly dir: string;
  readonly label: string;
  readonly base: number;
  readonly ngpio: number;
}

export const SYSFS_GPIO = '/sys/class/gpio';

export function listSysfsChips(root = SYSFS_GPIO): SysfsChip[] {
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => /^gpiochip\d+$/.test(n));
  } catch (e) {
    throw new DeviceError('gpio-sysfs', `${root} is not readable (kernel without CONFIG_GPIO_SYSFS?): ${(e as Error).message}`);
  }
  const rd = (d: string, f: string): string => readFileSync(join(root, d, f), 'utf8').trim();
  return names.map((d) => ({ dir: join(root, d), label: rd(d, 'label'), base: Number(rd(d, 'base')), ngpio: Number(rd(d, 'ngpio')) }));
}

/**
 * Resolves a line to its legacy global number: the chip's sysfs base is looked up by label at
 * every start, never configured. A `gpiochipN` name or a line name is translated through the
 * character device's labels (sysfs knows neither).
 */
export async function resolveSysfsLine(spec: GpioLine, what: string, root = SYSFS_GPIO): Promise<SysfsLine> {
  const chips = listSysfsChips(root);
  let label = spec.chip;
  let offset = typeof spec.line === 'number' ? spec.line : undefined;
  const byLabel = label === undefined ? undefined : chips.find((c) => c.label === label);
  if (!byLabel || offset === undefined) {
    // Needs the character device for gpiochipN names and line names.
    const c = await resolveCdevLine(spec, what);
    label = c.label;
    offset = c.offset;
  }
  const chip = chips.find((c) => c.label === label);
  if (!chip) throw new DeviceError(what, `no legacy sysfs GPIO chip labelled '${label ?? ''}' (present: ${chips.map((c) => c.label).join(', ') || 'none'})`);
  if (offset >= chip.ngpio) throw new DeviceError(what, `line ${offset} out of range: [${chip.label}] has ${chip.ngpio} lines`);
  return { gpio: chip.base + offset, label: chip.label, offset, activeLow: spec.activeLow ?? false, what };
}
