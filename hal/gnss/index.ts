/**
 * The GNSS HAL: one interface (Gnss), backends `gpsd` and `sim`, chosen from the board config's
 * `gnss` section (absent or 'none': no receiver).
 */
import type { BoardConfig } from '../../agent/config/board.js';
import type { SimWorld } from '../sim/sim-world.js';
import { GpsdGnss, type GpsdOptions } from './gpsd.js';
import { SimGnss } from './sim.js';
import type { Gnss } from './types.js';

export * from './types.js';
export { GpsdGnss, type GpsdOptions } from './gpsd.js';
export { SimGnss } from './sim.js';
export { parseGpsdLine, LineSplitter, type GpsdReport, type TpvReport, type SkyReport } from './gpsd-parse.js';
export { trackPosition, distanceM, type SimTrack, type TrackWaypoint } from './track.js';

/** `sim` is required when the board's gnss backend is 'sim' (createHal makes the world then). */
export function createGnss(board: BoardConfig, sim: SimWorld | undefined, gpsd: Omit<GpsdOptions, 'host' | 'port'> = {}): Gnss | undefined {
  const g = board.gnss;
  if (!g || g.backend === 'none') return undefined;
  if (g.backend === 'sim') return sim ? new SimGnss(sim) : undefined;
  const maxMs = g.reconnectMaxMs ?? 10_000;
  return new GpsdGnss({ backoff: { initialMs: Math.min(500, maxMs), maxMs }, ...gpsd, host: g.host ?? '127.0.0.1', port: g.port ?? 2947 });
}
