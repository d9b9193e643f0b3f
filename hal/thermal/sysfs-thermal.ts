/**
 * A kernel thermal zone: `temp` in millidegrees Celsius. The zone is configured as a directory
 * (/sys/class/thermal/thermal_zone0) or by its `type` (e.g. 'cpu-thermal'), because zone numbers
 * depend on probe order while types are stable per SoC.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeviceError } from '../../agent/lib/errors.js';
import type { Thermal } from '../types.js';

export const THERMAL_ROOT = '/sys/class/thermal';

export function resolveZone(zone: string, root = THERMAL_ROOT): string {
  if (zone.startsWith('/')) return zone;
  const seen: string[] = [];
  for (const d of readdirSync(root).filter((n) => n.startsWith('thermal_zone'))) {
    if (d === zone) return join(root, d);
    let type = '';
    try {
      type = readFileSync(join(root, d, 'type'), 'utf8').trim();
    } catch {
      continue;
    }
    seen.push(`${d} (${type})`);
    if (type === zone) return join(root, d);
  }
  throw new DeviceError('thermal', `no thermal zone '${zone}' (present: ${seen.join(', ') || 'none'})`);
}

export class SysfsThermal implements Thermal {
  private dir: string | undefined;
  constructor(
    private readonly zone: string,
    private readonly root = THERMAL_ROOT,
  ) {}
  async start(): Promise<void> {
    this.dir = resolveZone(this.zone, this.root);
  }
  async stop(): Promise<void> {}
  async readC(): Promise<number | undefined> {
    if (!this.dir) return undefined;
    try {
      const milli = Number((await readFile(join(this.dir, 'temp'), 'utf8')).trim());
      return Number.isFinite(milli) ? Math.round(milli / 100) / 10 : undefined;
    } catch {
      // Some zones return EIO/EAGAIN while their sensor is suspended; that is "not readable now".
      return undefined;
    }
  }
  get path(): string | undefined {
    return this.dir;
  }
}
