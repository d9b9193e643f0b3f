/**
 * Builds the StatusSnapshot (`bodycam status`, heartbeats) from the rooms of the agent. Kept
 * apart from the daemon so what is reported — and when it is the truth — is read in one place:
 * - `state` is FAULT, not RECORDING, while a shift should be recording but no encoder runs
 *   (a transition still owes effects, the encoder is restarting or held at the storage floor);
 * - fps and dropped frames are zero when nothing is recording;
 * - encoder restarts count the current shift's only;
 * - off duty, the journal head is the device journal's.
 */
import { isoMs } from './evidence/journal.js';
import { describe } from './lib/errors.js';
import { FIRMWARE_VERSION } from './version.js';
import type { ShiftState } from './shift/machine.js';
import type { StatusSnapshot, ShiftStateName } from './status.js';
import type { Extension } from './extension.js';
import type { Hal } from '../hal/index.js';
import type { ShiftEvidence } from './evidence/shift-evidence.js';
import type { RecordingPipeline } from './recording/pipeline.js';
import type { FaultRegistry } from './faults/registry.js';
import type { StorageGuard } from './storage/guard.js';
import { wireClockSource, type ClockReport } from '../hal/clock/index.js';
import { pauseUseReport } from './shift/pause-budget.js';
import type { ShiftRunner } from './shift/runner.js';
import type { Core } from './parts.js';
import { evidenceClock } from './lib/evidence-clock.js';

export interface StatusSources {
  readonly deviceId: string;
  readonly board: string;
  readonly bootId: string;
  readonly startedAt: number;
  readonly state: ShiftState;
  /** Effects of a transition not yet carried out (a failed effect being retried). */
  readonly owedEffects: number;
  /** Attempts made to carry out owed effects (first try and paced retries). */
  readonly owedAttempts: number;
  readonly evidence: ShiftEvidence;
  readonly pipeline: RecordingPipeline | undefined;
  readonly faults: FaultRegistry;
  readonly storage: StorageGuard | undefined;
  readonly hal: Hal | undefined;
  readonly extensions: readonly Extension[];
  readonly battery: StatusSnapshot['battery'];
  readonly temperatureC: number | null;
  readonly clock: Record<string, unknown> | undefined;
  /** The duty room's section (agent/duty/controller.ts DutyStatus), under `ext.duty`. */
  readonly duty?: object | undefined;
  /** Obstruction detection (agent/obstruction/room.ts): reported as `ext.obstruction`. */
  readonly obstruction?: { status(): Record<string, unknown> } | undefined;
  /** Firmware slots and updates (agent/update/room.ts): `ext.update`, and the running version. */
  readonly update?: { status(): { version: string } & object } | undefined;
  /** Pause-budget use of the open shift (null off duty). */
  readonly pauseUse?: StatusSnapshot['pauseUse'];
  /** The location room's report (board with a GNSS receiver only). */
  readonly location?: Record<string, unknown>;
  /** Custody mode only (agent/shift/custody-status.ts): `ext.custody`. */
  readonly custody?: object | undefined;
}

export function reportedState(st: ShiftState, owed: number, encoderRunning: boolean, offloading: boolean): ShiftStateName {
  if (st.name === 'RECORDING' && (owed > 0 || !encoderRunning)) return 'FAULT';
  if (st.name === 'OFF_DUTY' && offloading) return 'OFFLOADING';
  return st.name;
}

export function buildStatus(x: StatusSources): StatusSnapshot {
  const st = x.state;
  const sh = x.evidence.current;
  const ext: Record<string, Record<string, unknown>> = {};
  for (const e of x.extensions) {
    try {
      const v = e.status?.();
      if (v) ext[e.name] = v;
    } catch (err) {
      ext[e.name] = { error: describe(err) };
    }
  }
  const outputs: Record<string, boolean> = {};
  for (const n of ['led_rec', 'led_status', 'haptic', 'buzzer'] as const) if (x.hal?.outputs.has(n)) outputs[n] = x.hal.outputs.get(n);
  const p = x.pipeline;
  const running = p?.running ?? false;
  const upd = x.update?.status();
  let deviceHead: string | null = null;
  try {
    deviceHead = x.evidence.deviceJournal.head;
  } catch {
    /* not open yet */
  }
  return {
    deviceId: x.deviceId,
    board: x.board,
    firmware: upd?.version ?? FIRMWARE_VERSION,
    bootId: x.bootId,
    startedAt: isoMs(x.startedAt),
    uptimeS: Math.round((Date.now() - x.startedAt) / 1000),
    state: reportedState(st, x.owedEffects, running, (ext.offload as { active?: unknown } | undefined)?.active === true),
    shiftId: 'shiftId' in st ? st.shiftId : null,
    shiftStartedAt: sh?.startedAt ?? null,
    pauseReason: st.name === 'PAUSED' ? st.reason : null,
    pauseLeftS: st.name === 'PAUSED' ? Math.max(0, Math.round((st.until - evidenceClock.now()) / 1000)) : null,
    segments: sh?.sealer.segments ?? 0,
    bytes: sh?.sealer.bytes ?? 0,
    mediaS: Math.round((sh?.sealer.mediaS ?? 0) * 10) / 10,
    lastSegmentAt: sh?.sealer.lastSegmentAt ? isoMs(sh.sealer.lastSegmentAt) : null,
    fps: p?.fps ?? 0,
    droppedFrames: p?.droppedFrames ?? 0,
    encoderRestarts: sh ? (p?.restarts ?? 0) : 0,
    encoderRunning: running,
    degradeLevel: p?.degradeLevel ?? 0,
    faults: x.faults.snapshot(),
    journalHead: sh?.journal.head ?? deviceHead,
    outputs,
    battery: x.battery,
    temperatureC: x.temperatureC,
    docked: x.hal?.dock ? x.hal.dock.docked() : null,
    storage: x.storage?.info() ?? null,
    pauseUse: x.pauseUse ?? null,
    ext: {
      ...ext,
      ...(x.clock ? { clock: x.clock } : {}),
      ...(x.duty ? { duty: { ...x.duty } } : {}),
      ...(x.custody ? { custody: { ...x.custody } } : {}),
      ...(x.location ? { location: x.location } : {}),
      latency: { startMs: [...(p?.latencies.start ?? [])], resumeMs: [...(p?.latencies.resume ?? [])] },
      encoder: { pid: p?.pid ?? null, parkedPid: p?.parkedPid ?? null, run: p?.lastRun ?? 0, wanted: p?.wanted ?? false, heldFor: p?.haltedFor ?? null, failedStarts: p?.failedStarts ?? 0 },
      storageGuard: { episodes: x.storage?.episodes ?? 0 },
      transition: { owedEffects: x.owedEffects, attempts: x.owedAttempts },
      ...(x.obstruction ? { obstruction: x.obstruction.status() } : {}),
      ...(upd ? { update: upd as unknown as Record<string, unknown> } : {}),
    },
  };
}

/** The clock section of status: the wire source (gnss/ntp/rtc/none) beside the daemon behind it. */
export function clockStatus(c: ClockReport | undefined): Record<string, unknown> | undefined {
  return c ? { source: wireClockSource(c), synced: c.synced, daemon: c.source, rtc: c.rtc, offsetS: c.offsetS } : undefined;
}

/** The daemon's rooms as status reads them. */
export interface AgentRooms {
  readonly core: Core;
  readonly runner: ShiftRunner;
  readonly extensions: readonly Extension[];
  readonly startedAt: number;
}

export function agentStatus({ core, runner, extensions, startedAt }: AgentRooms): StatusSnapshot {
  const { parts } = core;
  const st = runner.state;
  return buildStatus({
    deviceId: core.deviceId,
    board: core.board.name,
    bootId: core.bootId,
    startedAt,
    state: st,
    owedEffects: runner.owed.length,
    owedAttempts: runner.owedAttempts,
    evidence: core.evidence,
    pipeline: parts.pipeline,
    faults: core.faults,
    storage: parts.guard,
    obstruction: parts.obstruction,
    update: parts.update,
    hal: parts.hal,
    extensions,
    battery: core.power.battery,
    temperatureC: core.power.temperatureC,
    duty: parts.duty?.status(),
    custody: core.policy().custody === 1 ? runner.custody.status(core.evidence.current, core.policy().periodS) : undefined,
    pauseUse: 'shiftId' in st ? pauseUseReport(runner.pauseUsage, core.policy(), st.name === 'PAUSED' ? st : null, evidenceClock.now()) : null,
    ...(parts.location ? { location: parts.location.status() } : {}),
    clock: clockStatus(parts.clockWatch?.report),
  });
}
