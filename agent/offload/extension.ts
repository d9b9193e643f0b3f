/**
 * The offload extension: uploads closed shifts to the central store, oldest first, and deletes a
 * shift locally only after central confirmed the exact manifest it received.
 *
 * Triggers: a shift closes (`shiftClosed`), the agent starts with closed shifts not yet uploaded,
 * the device is docked, an approved network appears, or someone asks (`requestOffload`, `bodycam
 * offload --now`). Uploads run when the device is docked or on an approved network; an explicit
 * request runs regardless (central or an engineer decided). Leaving the dock/network stops an
 * automatic upload, which resumes later from the server's ListParts.
 *
 * The upload runs in a child process (`worker.ts`) reniced to `offload.nice` (default 19) and in
 * the idle I/O class, with the policy's bandwidth limit: recording, buttons and the journal never
 * wait on it. One shift at a time, one part in memory.
 *
 * The device journal goes too (device-journal.ts): after a shift's upload completes, and when an
 * offload is requested with no shift waiting, a snapshot of its signed lines not yet uploaded is
 * uploaded by the same worker (`event: device_journal_uploaded`, no `shift` field).
 *
 * Live offload (live.ts, docs/live-offload.md): while a shift records, its sealed segments and
 * its journal up to the latest signature go up in batches; the end-of-shift offload then sends
 * only what is not there yet.
 *
 * Journal: `offload` records (field `event`: started, uploaded, failed, confirmed,
 * confirm_rejected, delete_blocked, deleted, and live.ts's live_started, live_paused,
 * live_resumed, live_failed; `shift` names the offloaded shift) go through
 * `ctx.journal`: to the device journal while off duty, to the recording shift's journal during a
 * shift (a closed shift's journal is sealed and is itself part of what is uploaded).
 *
 * This file only composes; each part lives in its own module:
 *   queue.ts                    closed shifts awaiting offload, and their order
 *   scheduler.ts                what uploads when; what a worker's report means
 *   run.ts                      one worker process: fork, priorities, job, stop
 *   retention.ts                confirmation, local deletion, legal holds
 *   device-journal-schedule.ts  when the device journal's snapshot goes
 *   live.ts                     live offload of the recording shift
 *   backlog.ts                  the alert when unconfirmed evidence piles up
 *   status.ts                   `status.offload`
 */
import type { AgentContext, Extension } from '../extension.js';
import type { AgentConfig } from '../config/agent-config.js';
import { sectionOf } from '../config/agent-config.js';
import type { Policy } from '../config/policy.js';
import { BodycamError } from '../lib/errors.js';
import { OFFLOAD_SECTION, type OffloadConfig } from './config.js';
import { DeviceJournalSchedule } from './device-journal-schedule.js';
import { OffloadQueue } from './queue.js';
import { Retention } from './retention.js';
import { DEFAULT_WORKER_PATH, OffloadScheduler } from './scheduler.js';
import { LiveOffload } from './live.js';
import { BACKLOG_FAULT, backlogDetail, journalClosedAt } from './backlog.js';
import type { ConfirmResult, OffloadJournal, OffloadService, OffloadStatus } from './types.js';

/** How often the unconfirmed backlog is looked at besides each closed shift (the storage guard polls every second). */
const BACKLOG_CHECK_MS = 5000;

export type { ConfirmResult, OffloadService, OffloadStatus, QueueEntry, ShiftOffloadState } from './types.js';

export class OffloadExtension implements Extension {
  readonly name = 'offload';
  private ctx!: AgentContext;
  private retention!: Retention;
  /** Undefined until started (the daemon may stop an extension it did not start). */
  private scheduler: OffloadScheduler | undefined;
  private live: LiveOffload | undefined;
  private backlogTimer: NodeJS.Timeout | undefined;

  constructor(private readonly cfg: OffloadConfig, private readonly workerPath = DEFAULT_WORKER_PATH) {}

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    const log = ctx.log.child('offload');
    const journal: OffloadJournal = (fields) => {
      try {
        ctx.journal('offload', fields);
      } catch (e) {
        log.error('cannot journal offload record', { err: e, fields });
      }
    };
    const queue = new OffloadQueue(ctx, log);
    const retention = (this.retention = new Retention(ctx, queue, journal, log));
    const deviceJournal = new DeviceJournalSchedule(ctx, log);
    // The scheduler is made below; the live part calls it only after start (a run's exit).
    const live = (this.live = new LiveOffload(this.cfg, ctx, journal, log.child('live'), this.workerPath, () => this.scheduler?.pump()));
    const scheduler = (this.scheduler = new OffloadScheduler(this.cfg, ctx, { queue, retention, deviceJournal, journal, live }, log, this.workerPath));

    const service: OffloadService = {
      requestOffload: (id) => scheduler.request(id),
      confirmReceipt: (id, sha) => this.confirmReceipt(id, sha, 'service'),
      status: () => this.status(),
    };
    ctx.services.provide('offload', service);
    ctx.registerControlOp('offload', async (req) => this.controlOp(req));
    ctx.bus.on('shiftClosed', (id) => {
      queue.add(id);
      scheduler.pump();
      this.checkBacklog(queue);
    });
    ctx.bus.on('policy', (p: Policy) => {
      scheduler.bandwidth(p.offloadBandwidthKbps);
      live.policyChanged();
    });
    ctx.hal.dock?.on('change', () => {
      scheduler.pump();
      live.pump();
    });
    queue.scan();
    deviceJournal.load();
    log.info('offload ready', {
      endpoint: this.cfg.endpoint, bucket: this.cfg.bucket, credentials: this.cfg.credentialsSource,
      pending: [...queue.values()].filter((e) => e.state === 'pending').length,
    });
    scheduler.start();
    live.start();
    this.checkBacklog(queue);
    this.backlogTimer = setInterval(() => this.checkBacklog(queue), BACKLOG_CHECK_MS);
    this.backlogTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.backlogTimer) clearInterval(this.backlogTimer);
    await Promise.all([this.live?.stop(), this.scheduler?.stop()]);
  }

  /** Raises or clears `unconfirmed_backlog` (backlog.ts); a failure is logged, never thrown into a timer. */
  private checkBacklog(queue: OffloadQueue): void {
    try {
      const ctx = this.ctx;
      const p = ctx.policy();
      const faults = ctx.status().faults;
      ctx.setFault(BACKLOG_FAULT, backlogDetail({
        entries: queue.values(),
        closedAtMs: (id) => journalClosedAt(ctx.shiftDir(id)),
        custody: p.custody === 1,
        periodS: p.periodS,
        storageLow: 'storage_low' in faults || 'storage_full' in faults,
        nowMs: Date.now(),
      }));
    } catch (e) {
      this.ctx.log.warn('cannot check the unconfirmed backlog', { err: e });
    }
  }

  confirmReceipt(shiftId: string, manifestSha256: string, via: string): ConfirmResult {
    return this.retention.confirmReceipt(shiftId, manifestSha256, via);
  }

  status(): OffloadStatus {
    return { ...this.scheduler!.status(), live: this.live?.following ? this.live.status() : null };
  }

  /**
   * `{"op":"offload"}` → status; `{"op":"offload","now":true,"shift"?:ID}` → requestOffload;
   * `{"op":"offload","confirm":{"shiftId","manifestSha256"}}` → confirmReceipt, on boards with
   * virtual buttons only (tests, demo): on a real camera only central's signed command confirms.
   */
  private async controlOp(req: Record<string, unknown>): Promise<unknown> {
    const shift = req.shift;
    if (shift !== undefined && typeof shift !== 'string') throw new BodycamError('USAGE', '"shift" must be a shift id');
    if (req.confirm !== undefined) {
      if (!this.ctx.hal.buttons.virtual) throw new BodycamError('USAGE', `board '${this.ctx.board.name}' confirms offloads only through central's signed command`);
      const c = req.confirm as { shiftId?: unknown; manifestSha256?: unknown };
      if (typeof c !== 'object' || c === null || typeof c.shiftId !== 'string' || typeof c.manifestSha256 !== 'string') {
        throw new BodycamError('USAGE', '"confirm" needs {"shiftId": ID, "manifestSha256": HEX}');
      }
      return { confirm: this.confirmReceipt(c.shiftId, c.manifestSha256, 'control-socket'), offload: this.status() };
    }
    if (req.now === true || shift !== undefined) this.scheduler!.request(shift as string | undefined);
    return { offload: this.status() };
  }
}

/** Extension factory (agent/extensions.ts): off when the config has no `offload` section. */
export function offloadExtension(config: AgentConfig): Extension | undefined {
  const cfg = sectionOf<OffloadConfig | undefined>(config, OFFLOAD_SECTION);
  return cfg ? new OffloadExtension(cfg) : undefined;
}
