/**
 * Starting and stopping a board's devices, in one order. A device that fails to start is reported
 * (the agent raises a fault) and the others start anyway: a missing device is a fault, never a
 * reason not to record. A device that fails to stop is logged and the rest still stop.
 */
import type { Hal } from './index.js';

interface Device {
  start(): Promise<void>;
  stop(): Promise<void>;
}

function devices(hal: Hal): Array<[string, Device | undefined]> {
  return [
    ['buttons', hal.buttons],
    ['outputs', hal.outputs],
    ['gauge', hal.gauge],
    ['dock', hal.dock],
    ['thermal', hal.thermal],
    ['camera', hal.camera],
    ['clock', hal.clock],
    ['gnss', hal.gnss],
  ];
}

export async function startDevices(hal: Hal, failed: (device: string, err: unknown) => void): Promise<void> {
  for (const [name, d] of devices(hal)) {
    try {
      await d?.start();
    } catch (e) {
      failed(name, e);
    }
  }
}

export async function stopDevices(hal: Hal | undefined, failed: (device: string, err: unknown) => void): Promise<void> {
  if (!hal) return;
  for (const [name, d] of devices(hal)) {
    try {
      await d?.stop();
    } catch (e) {
      failed(name, e);
    }
  }
}
