/**
 * RAUC through its command-line client. Why the CLI and not D-Bus: `rauc install` and
 * `rauc status` are RAUC's documented, stable interface and talk to the same `rauc service` over
 * D-Bus themselves; driving them needs no D-Bus library in the agent (a native addon or a
 * hand-written protocol client on a camera), `install` blocks until the slot is written and says
 * how it ended in its exit code and last lines, and an engineer at the bench can run the very same
 * commands. The price is one process per call — an update is a rare event.
 */
import { execFile } from 'node:child_process';
import { UpdateError } from '../lib/errors.js';

export interface RaucSlot {
  /** Slot name, e.g. rootfs.0. */
  readonly name: string;
  readonly bootname: string | undefined;
  /** RAUC's slot state: booted, active, inactive. */
  readonly state: string;
  /** good / bad, from the bootloader; undefined when RAUC could not tell. */
  readonly bootStatus: string | undefined;
  /** The version of the bundle last installed into it (slot status), when RAUC recorded one. */
  readonly bundleVersion: string | undefined;
}

export interface RaucStatus {
  readonly compatible: string;
  /** Bootname of the booted slot (e.g. A). */
  readonly booted: string;
  /** Slot name the bootloader boots next (e.g. rootfs.1). */
  readonly bootPrimary: string | undefined;
  readonly slots: readonly RaucSlot[];
}

export interface RaucOptions {
  /** argv[0..] of the rauc client, e.g. ["rauc"] or ["rauc", "--conf=/etc/rauc/system.conf"]. */
  readonly command: readonly string[];
  /** D-Bus system bus address for the client, when not the default socket (the HIL VM's private bus). */
  readonly env?: Readonly<Record<string, string>>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Parses `rauc status --detailed --output-format=json` (RAUC 1.8+). Throws UpdateError('status') on anything else. */
export function parseRaucStatus(text: string): RaucStatus {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new UpdateError('status', `rauc status did not print JSON: ${(e as Error).message}`);
  }
  if (typeof j !== 'object' || j === null || !Array.isArray((j as { slots?: unknown }).slots)) throw new UpdateError('status', 'rauc status JSON has no slots list');
  const o = j as { compatible?: unknown; booted?: unknown; boot_primary?: unknown; slots: unknown[] };
  const slots: RaucSlot[] = [];
  // RAUC prints slots as [{"rootfs.0": {...}}, {"rootfs.1": {...}}].
  for (const entry of o.slots) {
    if (typeof entry !== 'object' || entry === null) continue;
    for (const [name, v] of Object.entries(entry as Record<string, unknown>)) {
      const s = (v ?? {}) as Record<string, unknown>;
      const ss = (s.slot_status ?? {}) as Record<string, unknown>;
      const bundle = (ss.bundle ?? {}) as Record<string, unknown>;
      slots.push({ name, bootname: str(s.bootname), state: str(s.state) ?? '', bootStatus: str(s.boot_status), bundleVersion: str(bundle.version) });
    }
  }
  const booted = str(o.booted);
  if (!booted) throw new UpdateError('status', 'rauc status names no booted slot (kernel command line without rauc.slot= or root=)');
  return { compatible: str(o.compatible) ?? '', booted, bootPrimary: str(o.boot_primary), slots };
}

export class RaucClient {
  constructor(private readonly o: RaucOptions) {}

  async status(): Promise<RaucStatus> {
    return parseRaucStatus((await this.run(['status', '--detailed', '--output-format=json'], 60_000, 'status')).stdout);
  }

  /**
   * The bundle's manifest (`rauc info`): RAUC verifies its signature against the keyring first, so
   * a bundle signed outside the keyring is refused here already.
   */
  async info(bundlePath: string): Promise<{ compatible: string; version: string }> {
    const r = await this.run(['info', '--output-format=json', bundlePath], 10 * 60_000, 'install');
    let j: { compatible?: unknown; version?: unknown };
    try {
      j = JSON.parse(r.stdout) as typeof j;
    } catch (e) {
      throw new UpdateError('install', `rauc info did not print JSON: ${(e as Error).message}`);
    }
    return { compatible: str(j.compatible) ?? '', version: str(j.version) ?? '' };
  }

  /** Installs into the other slot and makes it the bootloader's primary; resolves when written. */
  async install(bundlePath: string): Promise<string> {
    const r = await this.run(['install', bundlePath], 30 * 60_000, 'install');
    return lastLine(r.stdout) ?? 'installed';
  }

  async mark(how: 'good' | 'bad', slot = 'booted'): Promise<string> {
    return lastLine((await this.run(['status', `mark-${how}`, slot], 60_000, 'mark')).stdout) ?? `marked ${how}`;
  }

  private run(args: readonly string[], timeoutMs: number, step: 'status' | 'install' | 'mark'): Promise<{ stdout: string; stderr: string }> {
    const [cmd, ...pre] = this.o.command;
    return new Promise((resolve, reject) => {
      execFile(cmd!, [...pre, ...args], { timeout: timeoutMs, maxBuffer: 4 << 20, env: { ...process.env, ...this.o.env } }, (err, stdout, stderr) => {
        if (err) {
          // RAUC prints the reason last on stderr (e.g. "signature verification failed: …").
          const why = lastLine(stderr) ?? lastLine(stdout) ?? err.message;
          reject(new UpdateError(step, `rauc ${args[0]}${args[1] ? ` ${args[1]}` : ''} failed: ${why}`, { cause: err }));
        } else resolve({ stdout, stderr });
      });
    });
  }
}

function lastLine(s: string): string | undefined {
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines[lines.length - 1] : undefined;
}
