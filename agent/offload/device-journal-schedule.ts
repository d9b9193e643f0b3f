/**
 * When the device journal goes (device-journal.ts says what goes): a snapshot of its signed lines
 * not yet uploaded is wanted after a shift's upload completes (what central now holds of that
 * shift's time off duty is in the device journal), when an offload is requested, and at start when
 * a snapshot was interrupted. It runs only when no shift waits, under the same dock/network
 * condition as shifts unless it was asked for, and only when something new is signed.
 */
import type { Logger } from '../lib/log.js';
import { DEVICE_JOURNAL_ID, deviceJournalDue, loadDeviceJournalState, type DeviceJournalSnapshot } from './device-journal.js';
import type { OffloadStatus, QueueEntry, UploadCondition } from './types.js';

/** What the schedule needs of the agent: the data dir, and signing the device journal's head. */
export interface DeviceJournalHost {
  readonly dataDir: string;
  signDeviceJournal(why: string): void;
}

/** What to do about the device journal now: nothing, wait (why), or upload (the entry to run). */
export type DeviceJournalDecision = undefined | { wait: string | null } | { run: QueueEntry };

export class DeviceJournalSchedule {
  /** A device journal snapshot should be tried when no shift waits (forced: asked for, runs anywhere). */
  private wanted: { forced: boolean } | undefined;
  private lastSnapshot: DeviceJournalSnapshot | undefined;

  constructor(private readonly host: DeviceJournalHost, private readonly log: Logger) {}

  /** Reads what was uploaded before (start). */
  load(): void {
    try {
      const dj = loadDeviceJournalState(this.host.dataDir);
      this.lastSnapshot = dj.uploaded.at(-1);
      // A snapshot interrupted by a crash or a stop is finished when the condition allows.
      if (dj.pending) this.wanted = { forced: false };
    } catch (e) {
      this.log.error('cannot read the device journal offload state', { err: e });
    }
  }

  /** "Offload now": the device journal's signed lines go too, after any shift that waits. */
  request(): void {
    this.wanted = { forced: true };
  }

  /**
   * What central now holds of this shift's time off duty is in the device journal: send it next
   * (asked for if this shift was; otherwise under the same dock/network condition).
   */
  shiftUploaded(shiftForced: boolean): void {
    this.wanted = { forced: (this.wanted?.forced ?? false) || shiftForced };
  }

  /** A snapshot run ended: uploaded (null: nothing new was signed), or failed for good. */
  finished(snapshot: DeviceJournalSnapshot | null): void {
    this.wanted = undefined;
    if (snapshot) this.lastSnapshot = snapshot;
  }

  /** Whether a snapshot is to be uploaded when no shift waits; signs the head first when it may run. */
  decide(cond: UploadCondition): DeviceJournalDecision {
    const want = this.wanted;
    if (!want) return undefined;
    if (!cond.ok && !want.forced) return { wait: cond.reason };
    // Sign the head first, so the snapshot reaches the latest records (deletions, holds…).
    this.host.signDeviceJournal('offload');
    // Checked here, not in the worker: nothing new signed means no process is forked at all.
    let due: boolean;
    try {
      due = deviceJournalDue(this.host.dataDir);
    } catch (e) {
      this.log.error('cannot tell whether a device journal snapshot is due', { err: e });
      due = false;
    }
    if (!due) {
      this.wanted = undefined;
      return undefined;
    }
    return { run: { shiftId: DEVICE_JOURNAL_ID, state: 'pending', bytes: 0, forced: want.forced } };
  }

  /** `status.deviceJournal` (`running`: a snapshot is being uploaded now). */
  status(running: boolean): OffloadStatus['deviceJournal'] {
    return {
      uploadedThroughSeq: this.lastSnapshot?.lastSeq ?? null,
      lastKey: this.lastSnapshot?.key ?? null,
      lastSha256: this.lastSnapshot?.sha256 ?? null,
      due: this.wanted !== undefined || running,
    };
  }
}
