/**
 * Signed commands, pure: bytes in, a typed command or a typed refusal out. No I/O, no clock of its
 * own, no state: the caller passes the time, the keys and the replay check, so every refusal path
 * is testable with plain values (and the fuzz test can throw anything at it).
 *
 * Wire format: SignedCommand{command: bytes(Command), signature: Ed25519(SIGN_PREFIX ‖ command)}.
 * Checks run cheapest-first and the size limit comes before any decoding, so a hostile payload
 * costs at most one bounded protobuf decode and one signature check.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, KeyObject } from 'node:crypto';
import { pb, type Command, type CommandProps, type Refusal } from '../telemetry/proto.js';
import { SHIFT_ID } from '../evidence/shift-id.js';
import { parseVersion } from '../update/decide.js';

/** Domain separation: a signature over these bytes is valid for a bodycam v1 Command only. */
export const SIGN_PREFIX = Buffer.from('bodycam.v1.Command\n', 'utf8');
export const NONCE_BYTES = 16;

export type ActionName = 'set_policy' | 'legal_hold' | 'request_offload' | 'identify' | 'confirm_offload' | 'start_duty' | 'end_duty' | 'schedule_duty' | 'assign_wearer' | 'update_firmware' | 'live_view_start' | 'live_view_stop';
export const ACTIONS: readonly ActionName[] = ['set_policy', 'legal_hold', 'request_offload', 'identify', 'confirm_offload', 'start_duty', 'end_duty', 'schedule_duty', 'assign_wearer', 'update_firmware', 'live_view_start', 'live_view_stop'];
/** Actions a command may address to a team (group id) instead of one device. */
export const GROUP_ACTIONS: ReadonlySet<ActionName> = new Set(['start_duty', 'end_duty', 'schedule_duty']);

/** Refusal names as journaled and printed (the enum without its prefix, lower case). */
export type RefusalName =
  | 'too_large' | 'malformed' | 'unsigned' | 'bad_signature' | 'wrong_device' | 'expired' | 'not_yet_valid'
  | 'replayed' | 'invalid_argument' | 'unavailable' | 'rejected' | 'unknown_command' | 'no_key';

export const REFUSAL_CODE: Readonly<Record<RefusalName, Refusal>> = {
  too_large: pb.Refusal.REFUSAL_TOO_LARGE,
  malformed: pb.Refusal.REFUSAL_MALFORMED,
  unsigned: pb.Refusal.REFUSAL_UNSIGNED,
  bad_signature: pb.Refusal.REFUSAL_BAD_SIGNATURE,
  wrong_device: pb.Refusal.REFUSAL_WRONG_DEVICE,
  expired: pb.Refusal.REFUSAL_EXPIRED,
  not_yet_valid: pb.Refusal.REFUSAL_NOT_YET_VALID,
  replayed: pb.Refusal.REFUSAL_REPLAYED,
  invalid_argument: pb.Refusal.REFUSAL_INVALID_ARGUMENT,
  unavailable: pb.Refusal.REFUSAL_UNAVAILABLE,
  rejected: pb.Refusal.REFUSAL_REJECTED,
  unknown_command: pb.Refusal.REFUSAL_UNKNOWN_COMMAND,
  no_key: pb.Refusal.REFUSAL_NO_KEY,
};

/** A verified command, its action decoded into plain typed values. */
export type Action =
  | { type: 'set_policy'; values: Record<string, number> }
  | { type: 'legal_hold'; shiftId: string; on: boolean; reference: string }
  | { type: 'request_offload'; shiftId: string | undefined }
  | { type: 'identify'; seconds: number }
  | { type: 'confirm_offload'; shiftId: string; manifestSha256: string }
  | { type: 'start_duty' }
  | { type: 'end_duty' }
  | { type: 'schedule_duty'; startMs: number; endMs: number }
  | { type: 'assign_wearer'; wearerId: string; name: string }
  | { type: 'update_firmware'; bundleUrl: string; bundleSha256: string; version: string; allowDowngrade: boolean }
  | ({ type: 'live_view_start' } & LiveViewRequest)
  | { type: 'live_view_stop'; sessionId: string };

/** What a live_view_start asks for (agent/live-view). */
export interface LiveViewRequest {
  readonly viewerId: string;
  readonly reason: string;
  readonly maxS: number;
  readonly gatewayHost: string;
  readonly gatewayPort: number;
  readonly sessionId: string;
}

/** Absolute bound of a live view's length; each camera's policy liveViewMaxS may be lower. */
export const LIVE_VIEW_MAX_S = 3600;
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A DNS name, an IPv4 address or a bare IPv6 address. */
const GATEWAY_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*|[0-9A-Fa-f:.]{2,45})$/;

/**
 * What is wrong with a live_view_start's fields, or undefined: checked by the camera and by
 * `bodycam central sign` alike. The camera also holds max_s to its own policy liveViewMaxS.
 */
export function liveViewProblem(l: LiveViewRequest): string | undefined {
  if (!WEARER_ID.test(l.viewerId)) return `invalid viewer id ${JSON.stringify(l.viewerId.slice(0, 64))}`;
  if (!printable(l.reason, 256)) return 'reason must be 1-256 printable characters';
  if (!Number.isInteger(l.maxS) || l.maxS < 1 || l.maxS > LIVE_VIEW_MAX_S) return `max_s ${l.maxS} out of range [1, ${LIVE_VIEW_MAX_S}]`;
  if (l.gatewayHost.length > 253 || !GATEWAY_HOST.test(l.gatewayHost)) return `invalid gateway host ${JSON.stringify(l.gatewayHost.slice(0, 64))}`;
  if (!Number.isInteger(l.gatewayPort) || l.gatewayPort < 1 || l.gatewayPort > 65535) return `gateway port ${l.gatewayPort} out of range [1, 65535]`;
  if (!SESSION_ID.test(l.sessionId)) return `invalid session id ${JSON.stringify(l.sessionId.slice(0, 64))}`;
  return undefined;
}

const printable = (t: string, max: number): boolean => t.trim().length > 0 && t.length <= max && ![...t].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);

/**
 * What is wrong with an update_firmware's fields, or undefined: checked by the camera and by
 * `bodycam central sign` alike (a command every camera would refuse is never signed).
 */
export function updateFirmwareProblem(u: { bundleUrl: string; bundleSha256: string; version: string }): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(u.bundleUrl);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:', 'file:'].includes(url.protocol)) return `bundle_url ${JSON.stringify(u.bundleUrl.slice(0, 200))} is not an http(s):// or file:// URL`;
  if (u.bundleUrl.length > 2048) return 'bundle_url longer than 2048 characters';
  if (!HEX64.test(u.bundleSha256)) return 'bundle_sha256 must be 64 lowercase hex characters';
  if (!parseVersion(u.version)) return `version ${JSON.stringify(u.version.slice(0, 64))} is not MAJOR.MINOR.PATCH`;
  return undefined;
}

export interface VerifiedCommand {
  readonly ok: true;
  /** Hex nonce: the command's id and replay-cache key. */
  readonly id: string;
  readonly deviceId: string;
  /** Set when the command was addressed to this device's group rather than to the device. */
  readonly groupId?: string;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
  readonly action: Action;
  readonly payloadSha256: string;
}

export interface RefusedCommand {
  readonly ok: false;
  readonly refusal: RefusalName;
  readonly reason: string;
  /** Known when the payload was decoded far enough (may be attacker-chosen unless signed). */
  readonly id: string;
  readonly action: ActionName | '';
  readonly payloadSha256: string;
  /** Valid only once the expiry has passed: how long to keep the nonce in the replay cache. */
  readonly expiresAtMs?: number;
}

export type VerifyResult = VerifiedCommand | RefusedCommand;

export interface VerifyOptions {
  readonly deviceId: string;
  /** The team this device belongs to (`central.groupId`); duty commands may name it instead of the device. */
  readonly groupId?: string;
  /** Central's Ed25519 public keys (several during a key rotation). */
  readonly keys: readonly KeyObject[];
  readonly nowMs: number;
  readonly maxBytes: number;
  readonly maxTtlMs: number;
  readonly clockSkewMs: number;
  /** True when this nonce (hex) was already accepted. */
  /** Received already — or possibly, and forgotten (the replay cache's floor: expiry given). */
  readonly seen: (id: string, expiresAtMs: number) => boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;
const POLICY_KEY = /^[A-Za-z0-9]{1,64}$/;
const WEARER_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** A duty window longer than a day is a mistake (SPEC's shifts are ≤ 24 h, like expectedShiftH). */
const MAX_DUTY_WINDOW_MS = 24 * 3600_000;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function refuse(refusal: RefusalName, reason: string, payloadSha256: string, id = '', action: ActionName | '' = '', expiresAtMs?: number): RefusedCommand {
  return { ok: false, refusal, reason, id, action, payloadSha256, ...(expiresAtMs !== undefined ? { expiresAtMs } : {}) };
}

function actionOf(c: Command): { name: ActionName | ''; action?: Action; problem?: string } {
  switch (c.action) {
    case 'setPolicy': {
      const values: Record<string, number> = {};
      const entries = Object.entries(c.setPolicy?.values ?? {});
      if (entries.length === 0) return { name: 'set_policy', problem: 'set_policy names no value' };
      for (const [k, v] of entries) {
        if (!POLICY_KEY.test(k)) return { name: 'set_policy', problem: `invalid policy field name ${JSON.stringify(k.slice(0, 64))}` };
        values[k] = v;
      }
      return { name: 'set_policy', action: { type: 'set_policy', values } };
    }
    case 'legalHold': {
      const h = { shiftId: c.legalHold?.shiftId ?? '', on: c.legalHold?.on === true, reference: c.legalHold?.reference ?? '' };
      if (!SHIFT_ID.test(h.shiftId)) return { name: 'legal_hold', problem: `invalid shift id ${JSON.stringify(h.shiftId.slice(0, 140))}` };
      if (h.reference.length > 256) return { name: 'legal_hold', problem: 'reference longer than 256 characters' };
      return { name: 'legal_hold', action: { type: 'legal_hold', shiftId: h.shiftId, on: h.on, reference: h.reference } };
    }
    case 'requestOffload': {
      const id = c.requestOffload?.shiftId ?? '';
      if (id !== '' && !SHIFT_ID.test(id)) return { name: 'request_offload', problem: `invalid shift id ${JSON.stringify(id.slice(0, 140))}` };
      return { name: 'request_offload', action: { type: 'request_offload', shiftId: id || undefined } };
    }
    case 'identify': {
      const s = c.identify?.seconds ?? 0;
      if (s < 1 || s > 300) return { name: 'identify', problem: `identify seconds ${s} out of range [1, 300]` };
      return { name: 'identify', action: { type: 'identify', seconds: s } };
    }
    case 'confirmOffload': {
      const co = { shiftId: c.confirmOffload?.shiftId ?? '', manifestSha256: c.confirmOffload?.manifestSha256 ?? '' };
      if (!SHIFT_ID.test(co.shiftId)) return { name: 'confirm_offload', problem: `invalid shift id ${JSON.stringify(co.shiftId.slice(0, 140))}` };
      if (!HEX64.test(co.manifestSha256)) return { name: 'confirm_offload', problem: 'manifest_sha256 must be 64 lowercase hex characters' };
      return { name: 'confirm_offload', action: { type: 'confirm_offload', shiftId: co.shiftId, manifestSha256: co.manifestSha256 } };
    }
    case 'startDuty':
      return { name: 'start_duty', action: { type: 'start_duty' } };
    case 'endDuty':
      return { name: 'end_duty', action: { type: 'end_duty' } };
    case 'scheduleDuty': {
      const startMs = Number(c.scheduleDuty?.startMs ?? 0);
      const endMs = Number(c.scheduleDuty?.endMs ?? 0);
      if (!startMs || !endMs) return { name: 'schedule_duty', problem: 'start_ms and end_ms are required' };
      if (endMs <= startMs) return { name: 'schedule_duty', problem: 'end_ms is not after start_ms' };
      if (endMs - startMs > MAX_DUTY_WINDOW_MS) return { name: 'schedule_duty', problem: `duty window of ${Math.round((endMs - startMs) / 3600_000)} h exceeds 24 h` };
      return { name: 'schedule_duty', action: { type: 'schedule_duty', startMs, endMs } };
    }
    case 'assignWearer': {
      const wearerId = c.assignWearer?.wearerId ?? '';
      const name = (c.assignWearer?.name ?? '').trim();
      if (!WEARER_ID.test(wearerId)) return { name: 'assign_wearer', problem: `invalid wearer id ${JSON.stringify(wearerId.slice(0, 64))}` };
      if (name.length === 0 || name.length > 128 || [...name].some((ch) => ch.charCodeAt(0) < 0x20)) return { name: 'assign_wearer', problem: 'wearer name must be 1-128 printable characters' };
      return { name: 'assign_wearer', action: { type: 'assign_wearer', wearerId, name } };
    }
    case 'updateFirmware': {
      const u = { bundleUrl: c.updateFirmware?.bundleUrl ?? '', bundleSha256: c.updateFirmware?.bundleSha256 ?? '', version: c.updateFirmware?.version ?? '' };
      const problem = updateFirmwareProblem(u);
      if (problem) return { name: 'update_firmware', problem };
      return { name: 'update_firmware', action: { type: 'update_firmware', ...u, allowDowngrade: c.updateFirmware?.allowDowngrade === true } };
    }
    case 'liveViewStart': {
      const l = c.liveViewStart;
      const req: LiveViewRequest = { viewerId: l?.viewerId ?? '', reason: l?.reason ?? '', maxS: l?.maxS ?? 0, gatewayHost: l?.gatewayHost ?? '', gatewayPort: l?.gatewayPort ?? 0, sessionId: l?.sessionId ?? '' };
      const problem = liveViewProblem(req);
      if (problem) return { name: 'live_view_start', problem };
      return { name: 'live_view_start', action: { type: 'live_view_start', ...req } };
    }
    case 'liveViewStop': {
      const sessionId = c.liveViewStop?.sessionId ?? '';
      if (!SESSION_ID.test(sessionId)) return { name: 'live_view_stop', problem: `invalid session id ${JSON.stringify(sessionId.slice(0, 64))}` };
      return { name: 'live_view_stop', action: { type: 'live_view_stop', sessionId } };
    }
    default:
      return { name: '', problem: 'no action set (or an action this agent does not know)' };
  }
}

/** Verifies one `cmd` payload. Never throws. */
export function verifyCommand(payload: Uint8Array, o: VerifyOptions): VerifyResult {
  const digest = sha256(payload);
  if (payload.length > o.maxBytes) return refuse('too_large', `payload of ${payload.length} bytes exceeds the limit of ${o.maxBytes}`, digest);
  let signed;
  try {
    signed = pb.SignedCommand.decode(payload);
  } catch (e) {
    return refuse('malformed', `not a SignedCommand: ${(e as Error).message}`, digest);
  }
  if (signed.command.length === 0) return refuse('malformed', 'SignedCommand carries no command', digest);
  let cmd: Command;
  try {
    cmd = pb.Command.decode(signed.command);
  } catch (e) {
    return refuse('malformed', `not a Command: ${(e as Error).message}`, digest);
  }
  const id = cmd.nonce.length === NONCE_BYTES ? Buffer.from(cmd.nonce).toString('hex') : '';
  const { name, action, problem } = actionOf(cmd);
  // Authenticity first: nothing below may be reported as "wrong device" or "expired" for a
  // payload whose fields an attacker chose.
  if (o.keys.length === 0) return refuse('no_key', 'no central command key is configured (central.commandPublicKey)', digest, id, name);
  if (signed.signature.length === 0) return refuse('unsigned', 'the command is not signed', digest, id, name);
  if (signed.signature.length !== 64) return refuse('bad_signature', `an Ed25519 signature has 64 bytes, got ${signed.signature.length}`, digest, id, name);
  const msg = Buffer.concat([SIGN_PREFIX, signed.command]);
  const good = o.keys.some((k) => {
    try {
      return verify(null, msg, k, signed.signature);
    } catch {
      return false;
    }
  });
  if (!good) return refuse('bad_signature', "the signature does not verify with central's key", digest, id, name);
  if (id === '') return refuse('malformed', `nonce must be ${NONCE_BYTES} bytes, got ${cmd.nonce.length}`, digest, '', name);
  // A team command names the group and no device; only duty actions may be sent to a team.
  const toGroup = cmd.deviceId === '' && cmd.groupId !== '';
  if (toGroup) {
    if (!o.groupId || cmd.groupId !== o.groupId) return refuse('wrong_device', `command is for group '${cmd.groupId.slice(0, 64)}', this device is ${o.groupId ? `in group '${o.groupId}'` : 'in no group'}`, digest, id, name);
    if (name === '' || !GROUP_ACTIONS.has(name)) return refuse('wrong_device', `${name || 'this action'} cannot be addressed to a group, only to one device`, digest, id, name);
  } else if (cmd.deviceId !== o.deviceId) return refuse('wrong_device', `command is for device '${cmd.deviceId.slice(0, 64)}', this is '${o.deviceId}'`, digest, id, name);
  const issued = cmd.issuedAtMs;
  const expires = cmd.expiresAtMs;
  if (!issued || !expires) return refuse('malformed', 'issued_at_ms and expires_at_ms are required', digest, id, name);
  if (expires <= issued) return refuse('malformed', 'expires_at_ms is not after issued_at_ms', digest, id, name);
  if (expires - issued > o.maxTtlMs) return refuse('malformed', `validity of ${Math.round((expires - issued) / 1000)} s exceeds the maximum of ${Math.round(o.maxTtlMs / 1000)} s`, digest, id, name);
  if (o.nowMs >= expires) return refuse('expired', `expired at ${new Date(expires).toISOString()} (device time ${new Date(o.nowMs).toISOString()})`, digest, id, name);
  if (issued > o.nowMs + o.clockSkewMs) return refuse('not_yet_valid', `issued at ${new Date(issued).toISOString()}, in the future of device time ${new Date(o.nowMs).toISOString()}`, digest, id, name);
  if (o.seen(id, expires)) return refuse('replayed', `command ${id} was already received (or expired before a time this device's clock has already passed, so its nonce may be forgotten)`, digest, id, name);
  if (!action) return refuse(name === '' ? 'unknown_command' : 'invalid_argument', problem ?? 'invalid', digest, id, name, expires);
  return { ok: true, id, deviceId: cmd.deviceId, ...(toGroup ? { groupId: cmd.groupId } : {}), issuedAtMs: issued, expiresAtMs: expires, action, payloadSha256: digest };
}

/** Refusal → wire code. */
export const refusalCode = (r: RefusalName | undefined): Refusal => (r ? REFUSAL_CODE[r] : pb.Refusal.REFUSAL_UNSPECIFIED);

// ---- central side: building and signing ---------------------------------------------------

export interface BuildOptions {
  /** Empty together with `groupId` set: a team command. */
  readonly deviceId: string;
  readonly groupId?: string;
  readonly action: Action;
  readonly issuedAtMs?: number;
  readonly ttlS?: number;
  readonly nonce?: Uint8Array;
}

export function buildCommand(o: BuildOptions): CommandProps {
  const issuedAtMs = o.issuedAtMs ?? Date.now();
  const base: CommandProps = {
    deviceId: o.deviceId,
    ...(o.groupId ? { groupId: o.groupId } : {}),
    issuedAtMs,
    expiresAtMs: issuedAtMs + Math.round((o.ttlS ?? 300) * 1000),
    nonce: o.nonce ?? randomBytes(NONCE_BYTES),
  };
  const a = o.action;
  switch (a.type) {
    case 'set_policy': return { ...base, setPolicy: { values: a.values } };
    case 'legal_hold': return { ...base, legalHold: { shiftId: a.shiftId, on: a.on, reference: a.reference } };
    case 'request_offload': return { ...base, requestOffload: { shiftId: a.shiftId ?? '' } };
    case 'identify': return { ...base, identify: { seconds: a.seconds } };
    case 'confirm_offload': return { ...base, confirmOffload: { shiftId: a.shiftId, manifestSha256: a.manifestSha256 } };
    case 'start_duty': return { ...base, startDuty: {} };
    case 'end_duty': return { ...base, endDuty: {} };
    case 'schedule_duty': return { ...base, scheduleDuty: { startMs: a.startMs, endMs: a.endMs } };
    case 'assign_wearer': return { ...base, assignWearer: { wearerId: a.wearerId, name: a.name } };
    case 'update_firmware': return { ...base, updateFirmware: { bundleUrl: a.bundleUrl, bundleSha256: a.bundleSha256, version: a.version, allowDowngrade: a.allowDowngrade } };
    case 'live_view_start': return { ...base, liveViewStart: { viewerId: a.viewerId, reason: a.reason, maxS: a.maxS, gatewayHost: a.gatewayHost, gatewayPort: a.gatewayPort, sessionId: a.sessionId } };
    case 'live_view_stop': return { ...base, liveViewStop: { sessionId: a.sessionId } };
  }
}

/**
 * What a camera would refuse in this command's action (the camera's own check, run on the built
 * command before it is signed), or undefined: central never signs a command every camera refuses.
 */
export function commandProblem(cmd: CommandProps): string | undefined {
  return actionOf(pb.Command.create(cmd)).problem;
}

/** Fingerprint of a public key as carried in SignedCommand.key_id. */
export function keyId(pub: KeyObject): string {
  return sha256(pub.export({ type: 'spki', format: 'der' })).slice(0, 16);
}

/** Serializes and signs: the bytes to publish on `cmd`. */
export function signCommand(cmd: CommandProps, privateKey: KeyObject | string | Buffer): Uint8Array {
  const key = privateKey instanceof KeyObject ? privateKey : createPrivateKey(privateKey);
  const body = pb.Command.encode(pb.Command.create(cmd)).finish();
  const signature = sign(null, Buffer.concat([SIGN_PREFIX, body]), key);
  return pb.SignedCommand.encode({ command: body, signature, keyId: keyId(createPublicKey(key)) }).finish();
}
