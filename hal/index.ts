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

export * from './types.js';

export interface Hal {
  readonly buttons: Buttons;
  readonly outputs: Outputs;
  readonly gauge: Gauge | undefined;
  readonly dock: Dock | undefined;
  readonly thermal: Thermal | undefined;
  readonly camera: Camera;
  /** The sim world when any device is simulated (tests/demo drive it), else undefined. */
  readonly sim: SimWorld | undefined;
}

function unsupported(what: string, backend: string): never {
  throw new ConfigError('board', [{ where: what, message: `backend '${backend}' is not available in this build` }]);
}

export async function createHal(board: BoardConfig): Promise<Hal> {
  const needsSim = [board.buttons.backend, board.outputs.backend, board.gauge.backend, board.dock.backend, board.thermal.backend].includes('sim');
  const sim = needsSim ? new SimWorld() : undefined;

  const buttons: Buttons = board.buttons.backend === 'sim' ? new SimButtons() : unsupported('/buttons/backend', board.buttons.backend);
  const outputs: Outputs = board.outputs.backend === 'sim' ? new SimOutputs() : unsupported('/outputs/backend', board.outputs.backend);
  const gauge = board.gauge.backend === 'none' ? undefined : board.gauge.backend === 'sim' ? sim!.gauge : unsupported('/gauge/backend', board.gauge.backend);
  const dock = board.dock.backend === 'none' ? undefined : board.dock.backend === 'sim' ? sim!.dock : unsupported('/dock/backend', board.dock.backend);
  const thermal = board.thermal.backend === 'none' ? undefined : board.thermal.backend === 'sim' ? sim!.thermal : unsupported('/thermal/backend', board.thermal.backend);
  const camera: Camera = board.camera.source === 'lavfi' ? new LavfiCamera() : unsupported('/camera/source', board.camera.source);
  return { buttons, outputs, gauge, dock, thermal, camera, sim };
}
