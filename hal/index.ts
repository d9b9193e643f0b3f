/**
 * The HAL factory: one backend per device, chosen from the board config. Backends that touch
 * hardware are imported lazily so a sim run never loads native addons it does not need.
 */
import type { BoardConfig } from '../agent/config/board.js';
import { ConfigError } from '../agent/lib/errors.js';
import type { Buttons, Camera, Dock, Gauge, Outputs, Thermal } from './types.js';
import { SimButtons } from './sim/sim-buttons.js';
import { SimOutputs } from './sim/sim-outputs.js';
import { SimWorld } from './sim/sim-world.js';
import { LavfiCamera } from './sim/lavfi-camera.js';
// Real backends load their native addons (onoff/epoll, i2c-bus) only in start(), so importing
// them here costs a sim run nothing.
import { GpioButtons, GpioDock } from './gpio/devices.js';
import { createOutputs } from './gpio/outputs.js';
import { Max17048Gauge, MAX17048_ADDR } from './gauge/max17048.js';
import { Bq27441Gauge, BQ27441_ADDR } from './gauge/bq27441.js';
import { findBusByName, openI2cBus } from './gauge/smbus.js';
import { SysfsThermal } from './thermal/sysfs-thermal.js';
import { V4l2Camera } from './camera/v4l2.js';
import { RtspCamera, RTSP_TIMEOUT_S } from './camera/rtsp.js';

export * from './types.js';

import { createClock, type ClockSource } from './clock/index.js';
import { createGnss, type Gnss } from './gnss/index.js';

export interface Hal {
  readonly buttons: Buttons;
  readonly outputs: Outputs;
  readonly gauge: Gauge | undefined;
  readonly dock: Dock | undefined;
  readonly thermal: Thermal | undefined;
  readonly camera: Camera;
  /** Where wall-clock time comes from (chrony, timesyncd, RTC) and whether it is synchronized. */
  readonly clock: ClockSource;
  /** The GNSS receiver (position, time reference); undefined when the board has none. */
  readonly gnss: Gnss | undefined;
  /** The sim world when any device is simulated (tests/demo drive it), else undefined. */
  readonly sim: SimWorld | undefined;
}

/** The board validator rejects these first; this keeps createHal honest on unvalidated input. */
function required(what: string, backend: string): never {
  throw new ConfigError('board', [{ where: what, message: `required with backend '${backend}'` }]);
}

export async function createHal(board: BoardConfig): Promise<Hal> {
  const needsSim = [board.buttons.backend, board.outputs.backend, board.gauge.backend, board.dock.backend, board.thermal.backend, board.gnss?.backend].includes('sim');
  const sim = needsSim ? new SimWorld() : undefined;

  const debounceMs = board.buttons.debounceMs ?? 20;
  const bb = board.buttons.backend;
  const buttons: Buttons = bb === 'sim' ? new SimButtons() : new GpioButtons(bb, { shift: board.buttons.shift, privacy: board.buttons.privacy }, debounceMs);
  const o = board.outputs;
  const outputs: Outputs =
    o.backend === 'sim' ? new SimOutputs() : createOutputs(o.backend, { led_rec: o.led_rec, led_status: o.led_status, haptic: o.haptic, ...(o.buzzer ? { buzzer: o.buzzer } : {}) });
  const g = board.gauge;
  // Bus numbers are dynamic: a configured adapter name is looked up at every start.
  const busNumber = (): number => {
    if (g.busName !== undefined) return findBusByName(g.busName);
    return g.bus ?? required('/gauge/bus or /gauge/busName', g.backend);
  };
  const gauge: Gauge | undefined =
    g.backend === 'none' ? undefined
    : g.backend === 'sim' ? sim!.gauge
    : g.backend === 'max17048' ? new Max17048Gauge(openI2cBus, busNumber, g.address ?? MAX17048_ADDR, g.capacityMah)
    : new Bq27441Gauge(openI2cBus, busNumber, g.address ?? BQ27441_ADDR);
  const db = board.dock.backend;
  const dock: Dock | undefined =
    db === 'none' ? undefined : db === 'sim' ? sim!.dock : board.dock.line ? new GpioDock(db, board.dock.line, debounceMs) : required('/dock/line', db);
  const t = board.thermal;
  const thermal: Thermal | undefined = t.backend === 'none' ? undefined : t.backend === 'sim' ? sim!.thermal : new SysfsThermal(t.zone ?? required('/thermal/zone', t.backend));
  const c = board.camera;
  const camera: Camera =
    c.source === 'lavfi' ? new LavfiCamera()
    : c.source === 'rtsp' ? new RtspCamera({ url: c.url ?? required('/camera/url', 'rtsp'), credentialsFile: c.credentialsFile, timeoutS: c.timeoutS ?? RTSP_TIMEOUT_S })
    : new V4l2Camera({ device: c.device ?? 'auto', inputFormat: c.inputFormat, width: c.width, height: c.height, fps: c.fps });
  const clock = createClock(board, { simSynced: () => sim?.state.clockSynced ?? true });
  const gnss = createGnss(board, sim);
  return { buttons, outputs, gauge, dock, thermal, camera, clock, gnss, sim };
}
