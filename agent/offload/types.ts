/**
 * Types the offload modules share (queue, worker run, retention, device-journal schedule, status)
 * and the ones other parts of the agent use (CLI, MQTT commands). They live here so no module
 * imports another only for a type: the offload folder has no import circle, type-only ones
 * included.
 */
import type { UploadProgress } from './uploader.js';

export type ShiftOffloadState = 'pending' | 'uploading' | 'uploaded' | 'confirmed' | 'failed';

/**
 * One thing to upload. Today a closed shift (in the queue) or the device journal (an entry outside
 * the queue, `shiftId` = DEVICE_JOURNAL_ID); `shiftId` is also the order key (oldest first).
 */
export interface QueueEntry {
  readonly shiftId: string;
  state: ShiftOffloadState;
  bytes: number;
  manifestSha256?: string;
  error?: string;
  /** Asked for explicitly (runs without dock/approved network, goes first). */
  forced: boolean;
}

/** What a worker run uploads: a shift, the device journal (an entry outside the queue), or a live batch of the recording shift (live.ts). */
export type UploadKind = 'shift' | 'device-journal' | 'live';

/** Whether automatic uploads may run now (docked or on an approved network), and why not. */
export interface UploadCondition {
  ok: boolean;
  reason: string | null;
}

/** Journals an `offload` record (field `event`); never throws: a failed write is logged. */
export type OffloadJournal = (fields: Record<string, unknown>) => void;

export interface ConfirmResult {
  accepted: boolean;
  reason: string;
}

/** What other extensions (MQTT commands) and the control socket use. */
export interface OffloadService {
  requestOffload(shiftId?: string): void;
  confirmReceipt(shiftId: string, manifestSha256: string): ConfirmResult;
  status(): OffloadStatus;
}

/** `status.offload.live` (bodycam status, heartbeats). */
export interface LiveOffloadStatus extends Record<string, unknown> {
  /** Policy `liveOffload`. */
  enabled: boolean;
  state: 'off' | 'idle' | 'waiting' | 'uploading' | 'retrying';
  /** Why it waits, or what failed last. */
  reason: string | null;
  /** The recording shift it follows. */
  shiftId: string | null;
  /** Seconds the oldest sealed segment not yet stored has waited since its seal (0: none waits). */
  lagS: number;
  /** Policy `liveOffloadLagS`. */
  lagTargetS: number;
  /** Sealed segments not yet stored, and their bytes. */
  backlogSegments: number;
  backlogBytes: number;
  /** Every segment of the shift that ended by then is stored (RFC 3339; null: none yet). */
  uploadedThrough: string | null;
  /** The stored journal prefix: its last line and the journal time of its signature. */
  journalUploadedThroughLine: number | null;
  journalUploadedThrough: string | null;
  /** Seal-to-stored time of the segment stored last (s). */
  lastLagS: number | null;
  workerPid: number | null;
}

export interface OffloadStatus extends Record<string, unknown> {
  /** True while an upload is running (the LED pattern for offloading keys on this). */
  active: boolean;
  state: 'idle' | 'waiting' | 'uploading' | 'retrying';
  /** Why it waits (no dock, no approved network) or what failed last. */
  reason: string | null;
  docked: boolean | null;
  approvedNetwork: boolean;
  current: (UploadProgress & { manifestSha256: string | null }) | null;
  queue: Array<{ shiftId: string; state: ShiftOffloadState; bytes: number; manifestSha256: string | null; error: string | null }>;
  /** Bytes of closed shifts not yet uploaded (heartbeats: "bytes awaiting offload"). */
  pendingBytes: number;
  pendingShifts: number;
  /** Closed shifts not yet confirmed by central (queued, uploading, uploaded, failed), and their bytes. */
  awaitingBytes: number;
  awaitingShifts: number;
  /** Uploaded shifts whose receipt central has not confirmed yet. */
  awaitingConfirmation: string[];
  lastError: string | null;
  /** The upload worker's pid while one runs. */
  workerPid: number | null;
  /** Device journal snapshots: the last one uploaded, and whether one is due (waits for the same condition as shifts). */
  deviceJournal: { uploadedThroughSeq: number | null; lastKey: string | null; lastSha256: string | null; due: boolean };
  /** Live offload of the recording shift (live.ts); null when nothing follows a shift. */
  live?: LiveOffloadStatus | null;
}
