/**
 * Extensions: components the daemon starts after the recording core and stops before it
 * (telemetry, signatures, offload, power/thermal, watchdog…), as zigbee2mqtt does. They see the
 * agent only through this context: they observe journal records and status, call the services
 * other extensions provide, and journal what they do. The recording core never depends on them,
 * so a failing extension cannot stop recording.
 */
import type { BoardConfig } from './config/board.js';
import type { AgentConfig } from './config/agent-config.js';
import type { Policy } from './config/policy.js';
import type { Logger } from './lib/log.js';
import type { WrittenRecord, Fields } from './evidence/journal.js';
import type { TypedEmitter } from './lib/typed-emitter.js';
import type { StatusSnapshot } from './status.js';
import type { Hal } from '../hal/index.js';

export interface AgentBusEvents extends Record<string, unknown[]> {
  /** A record was appended to a shift journal (shiftId) or the device journal (null). */
  record: [shiftId: string | null, rec: WrittenRecord];
  /** The status changed (state, pause, segment sealed, fault…); throttled by nothing: keep listeners cheap. */
  status: [StatusSnapshot];
  /** A shift was closed (its journal ended with shift_end): ready for offload. */
  shiftClosed: [shiftId: string];
  /** Policy changed (config reload or signed command). */
  policy: [Policy];
}

/** Services extensions offer each other, looked up by name (absent when that extension is off). */
export interface Services {
  provide<T>(name: string, impl: T): void;
  get<T>(name: string): T | undefined;
}

export interface AgentContext {
  readonly dataDir: string;
  readonly deviceId: string;
  readonly board: BoardConfig;
  readonly config: AgentConfig;
  readonly hal: Hal;
  readonly log: Logger;
  readonly bus: TypedEmitter<AgentBusEvents>;
  readonly services: Services;
  policy(): Policy;
  /** Applies a validated policy (journaled by the core with `source`). */
  setPolicy(p: Policy, source: string): void;
  status(): StatusSnapshot;
  /** Journals to the open shift's journal, or to the device journal when off duty. */
  journal(type: string, fields: Fields): WrittenRecord;
  /** Signs the device journal's head now (before it is offloaded); nothing when unsigned or unprovisioned. */
  signDeviceJournal(why: string): void;
  /** Raises/clears a named fault shown in status and heartbeats (journaled by the core). */
  setFault(name: string, detail: string | null): void;
  /** Shift directory of a shift id (exists or not). */
  shiftDir(shiftId: string): string;
  /** Requests a clean end of the current shift for a reason other than the wearer (battery…). */
  forceEndShift(reason: string): void;
  /** Asks the core to degrade encoding quality (thermal, storage); level 0 = full quality. */
  setDegrade(source: string, level: number): void;
  /**
   * Adds a request type to the local control socket (`{"op": op, ...}` → handler's result).
   * Requests are JSON lines; the handler validates its own fields and throws a typed error on bad
   * input (the client gets `{ok:false,error}`).
   */
  registerControlOp(op: string, handler: (req: Record<string, unknown>) => Promise<unknown>): void;
}

export interface Extension {
  readonly name: string;
  start(ctx: AgentContext): Promise<void>;
  stop(): Promise<void>;
  /** Extra status fields under `status[name]` (bodycam status, heartbeats). Must be cheap. */
  status?(): Record<string, unknown>;
}
