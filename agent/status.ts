/** What `bodycam status` shows and heartbeats carry: one snapshot of the running agent. */
import type { PauseReason, PauseUseReport } from './shift/types.js';
/** FAULT: on duty, recording wanted, but no encoder runs (see faults); the agent retries by itself. */
export type ShiftStateName = 'OFF_DUTY' | 'RECORDING' | 'PAUSED' | 'CLOSING' | 'OFFLOADING' | 'FAULT';
export type { PauseReason };

export interface StatusSnapshot {
  deviceId: string;
  board: string;
  firmware: string;
  bootId: string;
  startedAt: string;
  uptimeS: number;
  state: ShiftStateName;
  shiftId: string | null;
  shiftStartedAt: string | null;
  pauseReason: PauseReason | null;
  /** Seconds until the pause ends by itself. */
  pauseLeftS: number | null;
  segments: number;
  bytes: number;
  mediaS: number;
  lastSegmentAt: string | null;
  fps: number;
  droppedFrames: number;
  encoderRestarts: number;
  encoderRunning: boolean;
  degradeLevel: number;
  faults: Record<string, string>;
  journalHead: string | null;
  outputs: Record<string, boolean>;
  battery: { percent: number; voltageV: number; charging: boolean; runtimeMin: number | null } | null;
  temperatureC: number | null;
  docked: boolean | null;
  storage: { freeBytes: number; totalBytes: number } | null;
  /** Sections contributed by extensions (telemetry, offload, …). */
  ext: Record<string, Record<string, unknown>>;
  /** Pauses used and paused time per reason against the shift's pause budget; null off duty. */
  pauseUse?: PauseUseReport | null;
}
