/**
 * Heartbeats: the agent's StatusSnapshot plus a few cheap system reads (/proc, /sys, statfs —
 * each < 0.1 ms, no process spawned; `systeminformation` would fork dozens per call).
 *
 * The heartbeat seq is monotonic across restarts without a disk write per heartbeat: the agent
 * reserves blocks of numbers (`heartbeat-seq.json` holds the end of the reserved block) and starts
 * after the last reservation on the next run. Gaps after a restart are allowed by the contract.
 */
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { clockReport } from '../../hal/clock/clock-report.js';
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../lib/atomic.js';
import type { StatusSnapshot } from '../status.js';
import type { PauseUseReport } from '../shift/pause-budget.js';
import { pb, type HeartbeatProps, type ShiftState, type PauseReason, type PauseUseProps } from './proto.js';
import type { bodycam } from '../generated/proto-types.js';

type ObstructionKind = bodycam.v1.ObstructionKind;

const BLOCK = 1000;

export class HeartbeatSeq {
  private next = 1;
  private reservedUntil = 0;
  private readonly path: string;
  constructor(dir: string) {
    this.path = join(dir, 'heartbeat-seq.json');
  }
  load(): void {
    let v: unknown;
    try {
      v = readJsonIfExists(this.path);
    } catch {
      v = undefined;
    }
    const r = (v as { reservedUntil?: unknown } | undefined)?.reservedUntil;
    // An unreadable file must not make seqs go backwards: jump far ahead instead (still monotonic
    // unless the file was lost more than a million heartbeats in, i.e. > 5 months at 15 s).
    this.next = typeof r === 'number' ? r + 1 : v === undefined && !existsSync(this.path) ? 1 : 1_000_000;
    this.reservedUntil = this.next - 1;
  }
  take(): number {
    if (this.next > this.reservedUntil) {
      this.reservedUntil = this.next + BLOCK - 1;
      writeJsonAtomic(this.path, { reservedUntil: this.reservedUntil });
    }
    return this.next++;
  }
}

const STATES: Readonly<Record<string, ShiftState>> = {
  OFF_DUTY: pb.ShiftState.SHIFT_STATE_OFF_DUTY,
  RECORDING: pb.ShiftState.SHIFT_STATE_RECORDING,
  PAUSED: pb.ShiftState.SHIFT_STATE_PAUSED,
  CLOSING: pb.ShiftState.SHIFT_STATE_CLOSING,
  OFFLOADING: pb.ShiftState.SHIFT_STATE_OFFLOADING,
  FAULT: pb.ShiftState.SHIFT_STATE_FAULT,
};
const PAUSES: Readonly<Record<string, PauseReason>> = {
  PERSONAL_NEEDS: pb.PauseReason.PAUSE_REASON_PERSONAL_NEEDS,
  SENSITIVE_SITE: pb.PauseReason.PAUSE_REASON_SENSITIVE_SITE,
};

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export interface SystemReads {
  uptimeS: number;
  load1: number;
  memAvailableBytes: number;
  clock: { source: string; synced: boolean };
  storage: { freeBytes: number; totalBytes: number } | undefined;
}

/** The cheap system reads a heartbeat adds to the status snapshot. */
export function readSystem(dataDir: string): SystemReads {
  const uptimeS = Number(readText('/proc/uptime')?.split(' ')[0] ?? 0) || 0;
  const load1 = Number(readText('/proc/loadavg')?.split(' ')[0] ?? 0) || 0;
  const m = /MemAvailable:\s+(\d+) kB/.exec(readText('/proc/meminfo') ?? '');
  // sysfs/run reads only (hal/clock); a time component may override it through status.ext.clock.
  const clock = clockReport();
  const synced = clock.ntpSynced === true;
  const source = clock.source;
  let storage: SystemReads['storage'];
  try {
    const s = statfsSync(dataDir);
    storage = { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    storage = undefined;
  }
  return { uptimeS, load1, memAvailableBytes: m ? Number(m[1]) * 1024 : 0, clock: { source, synced }, storage };
}

const OBSTRUCTION_KINDS: Readonly<Record<string, ObstructionKind>> = {
  covered: pb.ObstructionKind.OBSTRUCTION_KIND_COVERED,
  frozen: pb.ObstructionKind.OBSTRUCTION_KIND_FROZEN,
  silent: pb.ObstructionKind.OBSTRUCTION_KIND_SILENT,
};

/** Active obstructions from status (`ext.obstruction.active`, agent/obstruction/room.ts). */
function obstructionsOf(st: StatusSnapshot): Array<{ kind: ObstructionKind; since: string; measure: number }> {
  const active = (st.ext.obstruction as { active?: unknown } | undefined)?.active;
  if (!Array.isArray(active)) return [];
  return active.map((a: { kind?: unknown; since?: unknown; measure?: unknown }) => ({
    kind: OBSTRUCTION_KINDS[String(a.kind)] ?? pb.ObstructionKind.OBSTRUCTION_KIND_UNSPECIFIED,
    since: typeof a.since === 'string' ? a.since : '',
    measure: typeof a.measure === 'number' ? a.measure : 0,
  }));
}

const numOf = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export interface HeartbeatInput {
  readonly seq: number;
  readonly status: StatusSnapshot;
  readonly sys: SystemReads;
  readonly agentUptimeS: number;
  readonly outboxDepth: number;
  readonly lastEventSeq: number;
  readonly nowMs: number;
}

function pauseUseOf(u: PauseUseReport): PauseUseProps {
  return {
    reasons: Object.entries(u.reasons).map(([r, v]) => ({ reason: PAUSES[r] ?? pb.PauseReason.PAUSE_REASON_UNSPECIFIED, pauses: v.pauses, maxPauses: v.maxPauses, pausedS: v.pausedS, refused: v.refused })),
    pausedS: u.pausedS,
    maxPausedS: u.maxPausedS,
    minRecordingS: u.minRecordingS,
    minRecordingAfterAutoS: u.minRecordingAfterAutoS,
    refused: u.refused,
    warned: [...u.warned],
  };
}

/** How many awaiting-confirmation shift ids a heartbeat carries (the oldest: they matter most). */
export const MAX_AWAITING_IDS = 16;

/** Builds the Heartbeat message (pure: all inputs passed in). */
export function buildHeartbeat(i: HeartbeatInput): HeartbeatProps {
  const st = i.status;
  const offload = st.ext.offload ?? {};
  const clockExt = st.ext.clock ?? {};
  const storage = st.storage ?? i.sys.storage;
  return {
    seq: i.seq,
    deviceId: st.deviceId,
    at: new Date(i.nowMs).toISOString(),
    bootId: st.bootId,
    uptimeS: i.sys.uptimeS,
    agentUptimeS: i.agentUptimeS,
    firmware: st.firmware,
    board: st.board,
    state: STATES[st.state] ?? pb.ShiftState.SHIFT_STATE_UNSPECIFIED,
    shiftId: st.shiftId ?? '',
    pauseReason: st.pauseReason ? PAUSES[st.pauseReason] ?? pb.PauseReason.PAUSE_REASON_UNSPECIFIED : pb.PauseReason.PAUSE_REASON_UNSPECIFIED,
    pauseLeftS: st.pauseLeftS ?? null,
    recording: {
      segments: st.segments,
      bytes: st.bytes,
      mediaS: st.mediaS,
      fps: st.fps,
      droppedFrames: st.droppedFrames,
      encoderRestarts: st.encoderRestarts,
      encoderRunning: st.encoderRunning,
      degradeLevel: st.degradeLevel,
      lastSegmentAt: st.lastSegmentAt ?? '',
    },
    battery: st.battery
      ? { percent: st.battery.percent, voltageV: st.battery.voltageV, charging: st.battery.charging, runtimeMin: st.battery.runtimeMin ?? null }
      : null,
    storage: {
      freeBytes: storage?.freeBytes ?? 0,
      totalBytes: storage?.totalBytes ?? 0,
      // Everything not yet confirmed by central: queued, uploading, uploaded-unconfirmed, and the
      // shift being recorded now (it will need offloading too).
      awaitingOffloadBytes: (numOf(offload.awaitingBytes) ?? numOf(offload.pendingBytes) ?? 0) + (st.shiftId ? st.bytes : 0),
      awaitingOffloadShifts: (numOf(offload.awaitingShifts) ?? numOf(offload.pendingShifts) ?? 0) + (st.shiftId ? 1 : 0),
      awaitingConfirmation: Array.isArray(offload.awaitingConfirmation) ? offload.awaitingConfirmation.filter((x): x is string => typeof x === 'string').slice(0, MAX_AWAITING_IDS) : [],
    },
    temperatureC: st.temperatureC ?? null,
    clock: {
      source: typeof clockExt.source === 'string' ? clockExt.source : i.sys.clock.source,
      synced: typeof clockExt.synced === 'boolean' ? clockExt.synced : i.sys.clock.synced,
    },
    outboxDepth: i.outboxDepth,
    lastEventSeq: i.lastEventSeq,
    faults: Object.entries(st.faults).map(([name, detail]) => ({ name, detail })),
    journalHead: st.journalHead ?? '',
    docked: st.docked ?? null,
    load1: i.sys.load1,
    memAvailableBytes: i.sys.memAvailableBytes,
    location: locationOf(st.ext.location),
    pauseUse: st.pauseUse ? pauseUseOf(st.pauseUse) : null,
    obstructions: obstructionsOf(st),
    duty: dutyOf(st.ext.duty),
    liveOffload: liveOffloadOf(offload.live),
    firmwareUpdate: firmwareOf(st.ext.update),
    custody: custodyOf(st.ext.custody),
    liveView: liveViewOf(st.ext.liveView),
  };
}

/** `ext.custody` (agent/shift/custody-status.ts CustodyStatus) → Heartbeat.custody; absent when custody is off. */
function custodyOf(c: Record<string, unknown> | undefined): HeartbeatProps['custody'] {
  if (!c) return null;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const last = (c.lastConfirmed ?? {}) as Record<string, unknown>;
  return {
    period: numOf(c.period) ?? 0,
    periodStart: str(c.periodStart),
    nextRotationAt: str(c.nextRotationAt),
    lastConfirmedShiftId: str(last.shiftId),
    lastConfirmedPeriod: numOf(last.period) ?? 0,
    lastConfirmedAt: str(last.at),
  };
}

/** `ext.liveView` (agent/live-view/extension.ts) → Heartbeat.live_view; absent when no session is open. */
function liveViewOf(v: Record<string, unknown> | undefined): HeartbeatProps['liveView'] {
  if (!v || v.active !== true) return null;
  const str = (x: unknown): string => (typeof x === 'string' ? x : '');
  return { sessionId: str(v.sessionId), viewerId: str(v.viewerId), reason: str(v.reason), startedAt: str(v.startedAt), endsAt: str(v.endsAt), packets: numOf(v.packets) ?? 0 };
}

/** `ext.offload.live` (agent/offload/live.ts LiveOffloadStatus) → Heartbeat.liveOffload; absent when there is none. */
function liveOffloadOf(v: unknown): HeartbeatProps['liveOffload'] {
  if (typeof v !== 'object' || v === null) return null;
  const l = v as Record<string, unknown>;
  const str = (x: unknown): string => (typeof x === 'string' ? x : '');
  return {
    state: str(l.state),
    reason: str(l.reason),
    lagS: numOf(l.lagS) ?? 0,
    lagTargetS: numOf(l.lagTargetS) ?? 0,
    backlogSegments: numOf(l.backlogSegments) ?? 0,
    backlogBytes: numOf(l.backlogBytes) ?? 0,
    uploadedThrough: str(l.uploadedThrough),
    journalUploadedThroughLine: numOf(l.journalUploadedThroughLine) ?? 0,
    journalUploadedThrough: str(l.journalUploadedThrough),
  };
}

/** `ext.update` (agent/update/room.ts UpdateStatus) → Heartbeat.firmware_update; absent on images without RAUC. */
function firmwareOf(u: Record<string, unknown> | undefined): HeartbeatProps['firmwareUpdate'] {
  if (!u) return null;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const last = (u.last ?? {}) as Record<string, unknown>;
  return {
    bootedSlot: str(u.bootedSlot),
    version: str(u.version),
    phase: str(u.phase),
    waitingFor: str(u.waitingFor),
    pendingVersion: str(u.pendingVersion),
    lastVersion: str(last.version),
    lastResult: str(last.result),
    lastAt: str(last.at),
    lastReason: str(last.reason),
  };
}

/** `ext.duty` (agent/duty/controller.ts DutyStatus) → Heartbeat.duty; absent when the duty room is not running. */
function dutyOf(d: Record<string, unknown> | undefined): HeartbeatProps['duty'] {
  if (!d) return null;
  const w = d.wearer as { id?: unknown; name?: unknown } | null | undefined;
  const n = d.nextWearer as { id?: unknown } | null | undefined;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    startTrigger: str(d.startTrigger),
    wearerId: str(w?.id),
    wearerName: str(w?.name),
    nextWearerId: str(n?.id),
    scheduledStart: str(d.scheduledStart),
    scheduledEnd: str(d.scheduledEnd),
    batteryShort: d.batteryShort === true,
  };
}

/** The location room's status (`status.ext.location`) as the heartbeat's Location; null without a fix ever. */
function locationOf(l: Record<string, unknown> | undefined): HeartbeatProps['location'] {
  const lat = numOf(l?.lat);
  const lon = numOf(l?.lon);
  if (!l || lat === undefined || lon === undefined) return null;
  return { lat, lon, accuracyM: numOf(l.accuracyM) ?? null, ageS: numOf(l.ageS) ?? 0, fix: typeof l.fix === 'string' ? l.fix : 'none', satellites: numOf(l.satellites) ?? null };
}
