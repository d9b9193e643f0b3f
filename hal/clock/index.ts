/**
 * The clock HAL: one interface (ClockSource), a real backend (SystemClock) and a sim backend.
 * `clock-report.ts` beside it is the older synchronous snapshot used by selftest and power.
 */
import type { BoardConfig } from '../../agent/config/board.js';
import { SimClock } from './sim.js';
import { SystemClock, type SystemClockOptions } from './system.js';
import type { ClockSource } from './types.js';

export * from './types.js';
export { parseChronyTracking, CHRONY_LOCAL_REFID, type ChronyTracking } from './chrony-parse.js';
export { SystemClock, type SystemClockOptions } from './system.js';
export { SimClock } from './sim.js';

export interface CreateClockOptions {
  /** Sim board: the sim world's sync flag, read on every refresh. Default: always synced. */
  readonly simSynced?: () => boolean;
  /** Real boards: overrides for the system backend (tests). */
  readonly system?: Omit<SystemClockOptions, 'rtc'>;
}

/** The sim board is the one whose every device is simulated; its buttons say so. */
export function createClock(board: BoardConfig, o: CreateClockOptions = {}): ClockSource {
  if (board.buttons.backend === 'sim') return new SimClock(o.simSynced);
  return new SystemClock({ ...o.system, rtc: board.rtc ?? '/dev/rtc0' });
}
export { ClockStepDetector, DEFAULT_STEP_THRESHOLD_MS, type ClockStep } from './step-detector.js';
