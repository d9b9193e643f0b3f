/**
 * What the daemon's rooms share: the agent's bus, the core every room is handed, and the parts
 * built during start that other rooms reach lazily. A part is undefined until the room that builds
 * it has started (and, for the encoder and the storage guard, on a board that lacks them), so
 * every reader says what happens without it — as the daemon did when these were its own fields.
 */
import { TypedEmitter } from './lib/typed-emitter.js';
import type { Logger } from './lib/log.js';
import type { Fields, WrittenRecord } from './evidence/journal.js';
import type { ShiftEvidence } from './evidence/shift-evidence.js';
import type { FaultRegistry } from './faults/registry.js';
import type { Feedback } from './feedback.js';
import type { RecordingPipeline } from './recording/pipeline.js';
import type { StorageGuard } from './storage/guard.js';
import type { ObstructionRoom } from './obstruction/room.js';
import type { DutyController } from './duty/controller.js';
import type { ClockWatch } from './location/clock-watch.js';
import type { LocationRoom } from './location/room.js';
import type { GestureRecogniser } from './shift/gestures.js';
import type { UpdatePart } from './update/types.js';
import type { BoardConfig } from './config/board.js';
import type { AgentConfig } from './config/agent-config.js';
import type { Policy } from './config/policy.js';
import type { AgentBusEvents } from './extension.js';
import type { StatusSnapshot } from './status.js';
import type { Hal } from '../hal/index.js';

export class Bus extends TypedEmitter<AgentBusEvents> {
  fire<K extends keyof AgentBusEvents & string>(k: K, ...a: AgentBusEvents[K]): void {
    this.emit(k, ...a);
  }
}

/** A room of the agent: started in the daemon's declared order, drained and stopped in reverse. */
export interface Room {
  readonly name: string;
  start?(): Promise<void> | void;
  /** Stop phase 1, in reverse order: event sources go quiet, the encoder finalizes, records are written. */
  drain?(): Promise<void> | void;
  /** Stop phase 2, in reverse order: extensions, sockets, journals and devices close. */
  stop?(): Promise<void> | void;
}

export interface Parts {
  hal?: Hal;
  feedback?: Feedback;
  pipeline?: RecordingPipeline;
  guard?: StorageGuard;
  obstruction?: ObstructionRoom;
  duty?: DutyController;
  clockWatch?: ClockWatch;
  location?: LocationRoom;
  gestures?: GestureRecogniser;
  /** Absent on images without RAUC (no config section `update`). */
  update?: UpdatePart;
}

/** Power readings extensions report, so status, heartbeats and the duty forecast carry them. */
export interface PowerReading {
  battery: StatusSnapshot['battery'];
  temperatureC: number | null;
}

export interface Core {
  readonly dataDir: string;
  readonly board: BoardConfig;
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly bus: Bus;
  readonly faults: FaultRegistry;
  readonly evidence: ShiftEvidence;
  readonly bootId: string;
  readonly parts: Parts;
  readonly power: PowerReading;
  /** Set once from the identity (or the config, or the host name) when the evidence room starts. */
  deviceId: string;
  policy(): Policy;
  journal(type: string, fields: Fields, at?: number): WrittenRecord;
  statusChanged(): void;
}
