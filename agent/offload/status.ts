/**
 * `status.offload` (bodycam status, heartbeats, the offloading LED) from the queue, the running
 * worker and the scheduler's last word: a pure function, so what heartbeats count is testable
 * without a store.
 */
import type { UploadProgress } from './uploader.js';
import type { WorkerRun } from './run.js';
import type { OffloadStatus, QueueEntry } from './types.js';

/** What status reads of a worker run. */
export type RunView = Pick<WorkerRun, 'kind' | 'entry' | 'progress' | 'manifestSha256' | 'done' | 'retrying'> & { readonly child: { readonly pid?: number } };

export interface StatusInput {
  readonly run: RunView | undefined;
  readonly entries: Iterable<QueueEntry>;
  readonly waitReason: string | null;
  readonly docked: boolean | null;
  readonly approvedNetwork: boolean;
  readonly lastError: string | null;
  readonly deviceJournal: OffloadStatus['deviceJournal'];
}

export function offloadStatus(i: StatusInput): OffloadStatus {
  const r = i.run;
  const entries = [...i.entries].sort((a, b) => (a.shiftId < b.shiftId ? -1 : 1));
  const pending = entries.filter((e) => e.state === 'pending' || e.state === 'uploading');
  return {
    active: r !== undefined && !r.done,
    state: r && !r.done ? (r.retrying ? 'retrying' : 'uploading') : pending.length ? 'waiting' : 'idle',
    reason: r ? null : i.waitReason,
    docked: i.docked,
    approvedNetwork: i.approvedNetwork,
    current: r && !r.done ? { ...(r.progress ?? emptyProgress(r.entry)), manifestSha256: r.manifestSha256 } : null,
    queue: entries.map((e) => ({ shiftId: e.shiftId, state: e.state, bytes: e.bytes, manifestSha256: e.manifestSha256 ?? null, error: e.error ?? null })),
    pendingBytes: pending.reduce((a, e) => a + e.bytes, 0) - (r && r.kind === 'shift' && !r.done && r.progress ? r.progress.bytesDone : 0),
    pendingShifts: pending.length,
    awaitingBytes: entries.filter((e) => e.state !== 'confirmed').reduce((a, e) => a + e.bytes, 0),
    awaitingShifts: entries.filter((e) => e.state !== 'confirmed').length,
    awaitingConfirmation: entries.filter((e) => e.state === 'uploaded').map((e) => e.shiftId),
    lastError: i.lastError,
    workerPid: r?.child.pid ?? null,
    deviceJournal: i.deviceJournal,
  };
}

function emptyProgress(e: QueueEntry): UploadProgress {
  return { shiftId: e.shiftId, bytesDone: 0, bytesTotal: e.bytes, filesDone: 0, filesTotal: 0, bytesSent: 0, rateBps: 0, etaS: null, file: null };
}
