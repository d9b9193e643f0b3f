/**
 * Where and when, as rooms of the daemon: the clock watch (sync state, steps, time provenance of
 * every segment) and, on a board with a GNSS receiver, the location room. Both start once the HAL
 * is up and go quiet before the machine's queue is drained at stop.
 */
import { ClockWatch } from './clock-watch.js';
import { LocationRoom } from './room.js';
import type { Core, Room } from '../parts.js';

/**
 * `stepped`: a wall-clock step was journaled and evidence time moved by `stepMs` — the daemon moves
 * every wall time it holds with it (journals, sealer, the machine's instants, the duty window).
 */
export function clockRoom(c: Core, serialize: (fn: () => Promise<void>) => Promise<void>, stepped: (stepMs: number) => void): Room {
  return {
    name: 'clock',
    start: () => {
      c.parts.clockWatch = new ClockWatch({ clock: c.parts.hal!.clock, journal: (t, f) => void c.journal(t, f), serialize, changed: () => c.statusChanged(), stepped, log: c.log.child('clock') });
      c.parts.clockWatch.start();
    },
    drain: () => c.parts.clockWatch?.stop(),
  };
}

export function locationRoom(c: Core): Room {
  return {
    name: 'location',
    start: () => {
      const gnss = c.parts.hal!.gnss;
      if (!gnss) return;
      c.parts.location = new LocationRoom({ gnss, policy: () => c.policy(), journal: (t, f) => void c.journal(t, f), onDuty: () => c.evidence.current !== undefined, log: c.log.child('location') });
      c.parts.location.start();
    },
    drain: () => c.parts.location?.stop(),
  };
}
