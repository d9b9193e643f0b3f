/**
 * The generated protobuf code with its types: runtime from agent/generated/proto.js, types from
 * agent/generated/proto-types.d.ts (see codegen/gen-proto.mjs for why they are two files).
 * Import messages from here, never from agent/generated directly.
 */
import './proto-numbers.js';
import * as runtime from '../generated/proto.js';
import type { bodycam } from '../generated/proto-types.js';

/** Message classes and enums of package bodycam.v1 (encode/decode/create/toObject). */
export const pb: typeof bodycam.v1 = (runtime as unknown as { bodycam: typeof bodycam }).bodycam.v1;

export type Status = bodycam.v1.Status;
export type Heartbeat = bodycam.v1.Heartbeat;
export type HeartbeatProps = bodycam.v1.Heartbeat.$Properties;
export type Event = bodycam.v1.Event;
export type EventProps = bodycam.v1.Event.$Properties;
export type Command = bodycam.v1.Command;
export type CommandProps = bodycam.v1.Command.$Properties;
export type SignedCommand = bodycam.v1.SignedCommand;
export type CommandResult = bodycam.v1.CommandResult;
export type CommandResultProps = bodycam.v1.CommandResult.$Properties;
export type Refusal = bodycam.v1.Refusal;
export type EventKind = bodycam.v1.EventKind;
export type Presence = bodycam.v1.Presence;
export type ShiftState = bodycam.v1.ShiftState;
export type PauseReason = bodycam.v1.PauseReason;
export type PauseUseProps = bodycam.v1.PauseUse.$Properties;
