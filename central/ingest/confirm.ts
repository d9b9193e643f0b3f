/**
 * What ingest says on MQTT: the signed `confirm_offload` for a verified shift (the same command
 * `bodycam central sign --type confirm_offload` builds, agent/commands/commands.ts), and the
 * alert for a refused one.
 *
 * Alert: `<topicRoot>central/alert`, QoS 1, not retained, JSON (UTF-8) — an operator's console or
 * alert manager reads it without our protobuf schema:
 *   { "format": "bodycam-ingest-alert/1", "kind": "shift_refused", "deviceId", "shiftId",
 *     "manifestSha256", "reasons": [{ "kind", "where", "message" }], "report": "<result key>",
 *     "worker", "at" }
 */
import type { KeyObject } from 'node:crypto';
import { buildCommand, signCommand } from '../../agent/commands/commands.js';
import type { ShiftVerification } from './verify-shift.js';

export const ALERT_FORMAT = 'bodycam-ingest-alert/1';

export const confirmTopic = (root: string, deviceId: string): string => `${root}${deviceId}/cmd`;
export const alertTopic = (root: string): string => `${root}central/alert`;

/** What a confirmation names: the shift and the exact manifest that was verified. */
export interface ConfirmSubject {
  readonly deviceId: string;
  readonly shiftId: string;
  readonly manifestSha256: string;
}

/** The signed command bytes; its nonce (hex) names it in logs and in the confirm record. */
export function signedConfirm(key: KeyObject, v: ConfirmSubject, ttlS: number, nowMs = Date.now()): { bytes: Uint8Array; id: string } {
  const cmd = buildCommand({ deviceId: v.deviceId, action: { type: 'confirm_offload', shiftId: v.shiftId, manifestSha256: v.manifestSha256 }, ttlS, issuedAtMs: nowMs });
  return { bytes: signCommand(cmd, key), id: Buffer.from(cmd.nonce as Uint8Array).toString('hex') };
}

export function alertPayload(v: ShiftVerification, reportKey: string, worker: string, nowMs = Date.now()): Buffer {
  return Buffer.from(JSON.stringify({
    format: ALERT_FORMAT, kind: 'shift_refused', deviceId: v.deviceId, shiftId: v.shiftId, manifestSha256: v.manifestSha256,
    reasons: v.reasons, report: reportKey, worker, at: new Date(nowMs).toISOString(),
  }));
}
