/**
 * Watchdogs: systemd's (`Type=notify` + `WatchdogSec=`, WATCHDOG=1 over NOTIFY_SOCKET) and the
 * kernel's /dev/watchdog (any write pets it; a 'V' before close disarms it where the driver
 * allows, so a clean stop does not reboot the device). Whether to pet is the caller's decision:
 * the power extension pets only while recording makes progress, as tacd's watchdog does.
 */
import { closeSync, openSync, writeSync, constants } from 'node:fs';
import { DeviceError } from '../../agent/lib/errors.js';
import { createLogger } from '../../agent/lib/log.js';

const log = createLogger('hal.watchdog');

export interface Watchdog {
  readonly kind: string;
  /** How often to pet, ms. */
  readonly intervalMs: number;
  start(): Promise<void>;
  pet(): void;
  stop(): Promise<void>;
}

type SdNotify = (typeof import('sd-notify'))['default'];

/** systemd watchdog; inactive (undefined from create) when the service has no WatchdogSec. */
export class SystemdWatchdog implements Watchdog {
  readonly kind = 'systemd';
  private sd: SdNotify | undefined;
  constructor(readonly intervalMs: number) {}

  /** The watchdog systemd asks for, or undefined when not running under a notify watchdog. */
  static fromEnv(env = process.env): SystemdWatchdog | undefined {
    const usec = Number(env.WATCHDOG_USEC);
    if (!env.NOTIFY_SOCKET || !Number.isFinite(usec) || usec <= 0) return undefined;
    const pid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
    if (pid !== process.pid) return undefined;
    // Pet at a third of the timeout: two missed pets are still inside the limit.
    return new SystemdWatchdog(Math.max(500, Math.floor(usec / 1000 / 3)));
  }

  async start(): Promise<void> {
    this.sd = (await import('sd-notify')).default;
  }
  pet(): void {
    this.sd?.watchdog();
  }
  async stop(): Promise<void> {
    this.sd = undefined;
  }
}

/**
 * A sender of sd_notify states (READY=1, STOPPING=1, STATUS=…) when started by systemd with
 * Type=notify; undefined otherwise. Loaded only then: sd-notify is a native addon.
 */
export async function systemdNotifier(env = process.env): Promise<((state: string) => void) | undefined> {
  if (!env.NOTIFY_SOCKET) return undefined;
  const sd = (await import('sd-notify')).default;
  return (state) => sd.sendState(state.endsWith('\n') ? state : state + '\n');
}

export class DeviceWatchdog implements Watchdog {
  readonly kind = 'device';
  private fd: number | undefined;
  constructor(
    private readonly device: string,
    readonly intervalMs: number,
  ) {}

  async start(): Promise<void> {
    try {
      this.fd = openSync(this.device, constants.O_WRONLY);
    } catch (e) {
      throw new DeviceError(this.device, `cannot open watchdog: ${(e as Error).message}`, { cause: e });
    }
  }
  pet(): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, '\0');
    } catch (e) {
      log.error('watchdog write failed', { device: this.device, error: e });
    }
  }
  async stop(): Promise<void> {
    if (this.fd === undefined) return;
    try {
      // Magic close: disarms drivers built without nowayout; others keep counting (intended).
      writeSync(this.fd, 'V');
    } catch {
      /* closing anyway */
    }
    closeSync(this.fd);
    this.fd = undefined;
  }
}
