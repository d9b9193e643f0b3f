/**
 * Carries out verified commands through the agent context, and journals every command payload —
 * accepted or refused — before answering. The verification itself is pure (commands.ts); this
 * is the thin shell with effects: replay cache, journal, policy, legal hold, services.
 */
import { existsSync } from 'node:fs';
import type { AgentContext } from '../extension.js';
import { parsePolicy } from '../config/policy.js';
import { setLegalHold } from '../evidence/legal-hold.js';
import { createLogger } from '../lib/log.js';
import { describe } from '../lib/errors.js';
import type { CentralConfig } from './config.js';
import { refusalCode, verifyCommand, type Action, type LiveViewRequest, type RefusalName, type VerifyResult } from './commands.js';
import type { ReplayCache } from './replay-cache.js';
import type { CommandResultProps } from '../telemetry/proto.js';
import type { DutyService } from '../duty/controller.js';
import type { UpdateService } from '../update/types.js';

const log = createLogger('commands');

export interface OffloadService {
  requestOffload(shiftId?: string): void;
  confirmReceipt(shiftId: string, manifestSha256: string): { accepted: boolean; reason: string } | Promise<{ accepted: boolean; reason: string }>;
}
export interface FeedbackService {
  identify(seconds: number): void;
}

/** agent/live-view: opens and closes the live view; a refusal says why (paused, off duty…). */
export interface LiveViewService {
  start(req: LiveViewRequest, commandId: string): Promise<Outcome>;
  stop(sessionId: string): Promise<Outcome>;
}

export type Via = 'mqtt' | 'dock';

export interface Outcome {
  accepted: boolean;
  refusal?: RefusalName;
  reason: string;
}

export class CommandProcessor {
  /** Counters for status (accepted / refused by reason). */
  accepted = 0;
  refused = 0;

  constructor(
    private readonly ctx: AgentContext,
    private readonly central: CentralConfig,
    private readonly replay: ReplayCache,
    private readonly now: () => number = Date.now,
  ) {}

  /** Verifies, applies and journals one payload; never throws. */
  async handle(payload: Uint8Array, via: Via): Promise<CommandResultProps> {
    const nowMs = this.now();
    const v: VerifyResult = verifyCommand(payload, {
      deviceId: this.ctx.deviceId,
      ...(this.central.groupId ? { groupId: this.central.groupId } : {}),
      keys: this.central.commandKeys,
      nowMs,
      maxBytes: this.central.maxCommandBytes,
      maxTtlMs: this.central.maxTtlS * 1000,
      clockSkewMs: this.central.clockSkewS * 1000,
      seen: (id, expiresAtMs) => this.replay.has(id, expiresAtMs),
    });
    let outcome: Outcome;
    let args: Record<string, unknown> = {};
    if (!v.ok) {
      // A signed, fresh command with bad arguments still burns its nonce: central must re-issue.
      if (v.expiresAtMs !== undefined) this.remember(v.id, v.expiresAtMs, nowMs);
      outcome = { accepted: false, refusal: v.refusal, reason: v.reason };
    } else {
      args = { ...argsOf(v.action), ...(v.groupId ? { group_id: v.groupId } : {}) };
      // Persisted before acting: a crash after acting cannot open a replay window.
      if (!this.remember(v.id, v.expiresAtMs, nowMs)) {
        outcome = { accepted: false, refusal: 'unavailable', reason: 'cannot persist the replay cache; command not applied' };
      } else {
        const newer = ORDERED_KINDS.has(v.action.type) ? this.replay.lastIssued(v.action.type) : undefined;
        if (newer !== undefined && v.issuedAtMs < newer) {
          outcome = { accepted: false, refusal: 'rejected', reason: `superseded: a ${v.action.type} issued later (${new Date(newer).toISOString()}) is already applied` };
        } else {
          try {
            outcome = await this.apply(v.action, v.id, v.issuedAtMs);
          } catch (e) {
            outcome = { accepted: false, refusal: 'rejected', reason: `failed: ${describe(e)}` };
          }
          if (outcome.accepted && ORDERED_KINDS.has(v.action.type)) this.noteIssued(v.action.type, v.issuedAtMs);
        }
      }
    }
    const action = v.ok ? v.action.type : v.action;
    if (outcome.accepted) this.accepted++;
    else this.refused++;
    try {
      this.ctx.journal('command', {
        command: action || 'unknown',
        accepted: outcome.accepted,
        reason: outcome.reason,
        ...(outcome.refusal ? { refusal: outcome.refusal } : {}),
        command_id: v.id || undefined,
        via,
        payload_sha256: v.payloadSha256,
        payload_bytes: payload.length,
        ...args,
      });
    } catch (e) {
      log.error('cannot journal a command', { error: describe(e) });
    }
    (outcome.accepted ? log.info : log.warn)('command', { action, accepted: outcome.accepted, refusal: outcome.refusal, reason: outcome.reason, via });
    return {
      deviceId: this.ctx.deviceId,
      commandId: v.id,
      action,
      accepted: outcome.accepted,
      refusal: refusalCode(outcome.refusal),
      reason: outcome.reason,
      at: new Date(nowMs).toISOString(),
      payloadSha256: v.payloadSha256,
    };
  }

  private noteIssued(kind: string, issuedAtMs: number): void {
    try {
      this.replay.noteIssued(kind, issuedAtMs);
    } catch (e) {
      // Applied already: only a later, older delivery could now slip through until the next write.
      log.error('cannot persist the command order', { error: describe(e), kind });
    }
  }

  private remember(id: string, expiresAtMs: number, nowMs: number): boolean {
    try {
      this.replay.add(id, expiresAtMs, nowMs);
      return true;
    } catch (e) {
      log.error('cannot persist replay cache', { error: describe(e) });
      return false;
    }
  }

  private async apply(a: Action, id: string, issuedAtMs: number): Promise<Outcome> {
    switch (a.type) {
      case 'set_policy': {
        const { policy, issues } = parsePolicy(a.values, '/set_policy', this.ctx.policy());
        if (issues.length) return { accepted: false, refusal: 'invalid_argument', reason: issues.map((i) => `${i.where}: ${i.message}`).join('; ') };
        this.ctx.setPolicy(policy, `command:${id}`);
        return { accepted: true, reason: `policy updated (${Object.keys(a.values).join(', ')})` };
      }
      case 'legal_hold': {
        if (a.on && !existsSync(this.ctx.shiftDir(a.shiftId))) return { accepted: false, refusal: 'rejected', reason: `no shift '${a.shiftId}' on this device` };
        setLegalHold(this.ctx.dataDir, a.shiftId, a.on, `central:${id}`, a.reference);
        return { accepted: true, reason: a.on ? `legal hold set on ${a.shiftId}` : `legal hold lifted from ${a.shiftId}` };
      }
      case 'request_offload': {
        const off = this.ctx.services.get<OffloadService>('offload');
        if (!off) return { accepted: false, refusal: 'unavailable', reason: 'offload not available' };
        off.requestOffload(a.shiftId);
        return { accepted: true, reason: a.shiftId ? `offload of ${a.shiftId} requested` : 'offload of closed shifts requested' };
      }
      case 'confirm_offload': {
        const off = this.ctx.services.get<OffloadService>('offload');
        if (!off || typeof off.confirmReceipt !== 'function') return { accepted: false, refusal: 'unavailable', reason: 'offload not available' };
        const r = await off.confirmReceipt(a.shiftId, a.manifestSha256);
        return r.accepted ? { accepted: true, reason: r.reason || 'receipt confirmed' } : { accepted: false, refusal: 'rejected', reason: r.reason || 'receipt not accepted' };
      }
      case 'identify': {
        const fb = this.ctx.services.get<FeedbackService>('feedback');
        if (!fb) return { accepted: false, refusal: 'unavailable', reason: 'feedback (LED/buzzer) not available' };
        fb.identify(a.seconds);
        return { accepted: true, reason: `identifying for ${a.seconds} s` };
      }
      case 'update_firmware': {
        const up = this.ctx.services.get<UpdateService>('update');
        if (!up) return { accepted: false, refusal: 'unavailable', reason: 'this image has no RAUC: firmware updates unavailable' };
        // Accepted means: downloaded, hash and signature checked, version allowed, queued for an off-duty install.
        const r = await up.request({ kind: 'url', url: a.bundleUrl, sha256: a.bundleSha256, version: a.version, allowDowngrade: a.allowDowngrade, source: `command:${id}` });
        return r.accepted ? { accepted: true, reason: r.reason } : { accepted: false, refusal: 'rejected', reason: r.reason };
      }
      case 'live_view_start':
      case 'live_view_stop': {
        const lv = this.ctx.services.get<LiveViewService>('live_view');
        if (!lv) return { accepted: false, refusal: 'unavailable', reason: 'live view is not configured on this camera (config section liveView)' };
        return a.type === 'live_view_start' ? lv.start(a, id) : lv.stop(a.sessionId);
      }
      case 'start_duty':
      case 'end_duty':
      case 'schedule_duty':
      case 'assign_wearer': {
        const duty = this.ctx.services.get<DutyService>('duty');
        if (!duty) return { accepted: false, refusal: 'unavailable', reason: 'duty triggers not available' };
        if (a.type === 'start_duty') return duty.startDuty(id);
        if (a.type === 'end_duty') return duty.endDuty(id, issuedAtMs);
        if (a.type === 'schedule_duty') return duty.scheduleDuty(id, a.startMs, a.endMs);
        return duty.assignWearer(id, { id: a.wearerId, name: a.name });
      }
    }
  }
}

/**
 * Kinds whose last issued word wins, not the last delivered: a late `set_policy` or
 * `schedule_duty` issued before the one in force is refused as superseded.
 */
const ORDERED_KINDS: ReadonlySet<Action['type']> = new Set(['set_policy', 'schedule_duty']);

function argsOf(a: Action): Record<string, unknown> {
  switch (a.type) {
    case 'set_policy': return { values: a.values };
    case 'legal_hold': return { shift_id: a.shiftId, on: a.on, reference: a.reference };
    case 'request_offload': return a.shiftId ? { shift_id: a.shiftId } : {};
    case 'identify': return { seconds: a.seconds };
    case 'confirm_offload': return { shift_id: a.shiftId, manifest_sha256: a.manifestSha256 };
    case 'start_duty':
    case 'end_duty': return {};
    case 'schedule_duty': return { start: new Date(a.startMs).toISOString(), end: new Date(a.endMs).toISOString() };
    case 'assign_wearer': return { wearer: { id: a.wearerId, name: a.name } };
    case 'update_firmware': return { bundle_url: a.bundleUrl, bundle_sha256: a.bundleSha256, version: a.version, allow_downgrade: a.allowDowngrade };
    case 'live_view_start': return { session_id: a.sessionId, viewer: a.viewerId, reason: a.reason, max_s: a.maxS, gateway: `${a.gatewayHost}:${a.gatewayPort}` };
    case 'live_view_stop': return { session_id: a.sessionId };
  }
}
