/**
 * The telemetry `Event.kind` of a journal record type (proto EventKind): what central filters and
 * counts on without parsing the journal line. A type without its own kind is UNSPECIFIED (the
 * journal line still says what it is).
 */
import { pb, type EventKind } from './proto.js';

const KINDS: Readonly<Record<string, EventKind>> = {
  shift_start: pb.EventKind.EVENT_KIND_SHIFT_START,
  shift_end: pb.EventKind.EVENT_KIND_SHIFT_END,
  pause: pb.EventKind.EVENT_KIND_PAUSE,
  resume: pb.EventKind.EVENT_KIND_RESUME,
  gap: pb.EventKind.EVENT_KIND_GAP,
  fault: pb.EventKind.EVENT_KIND_FAULT,
  recovery: pb.EventKind.EVENT_KIND_RECOVERY,
  gesture: pb.EventKind.EVENT_KIND_GESTURE,
  signature: pb.EventKind.EVENT_KIND_SIGNATURE,
  time_sync: pb.EventKind.EVENT_KIND_TIME_SYNC,
  policy: pb.EventKind.EVENT_KIND_POLICY,
  command: pb.EventKind.EVENT_KIND_COMMAND,
  degrade: pb.EventKind.EVENT_KIND_DEGRADE,
  power: pb.EventKind.EVENT_KIND_POWER,
  offload: pb.EventKind.EVENT_KIND_OFFLOAD,
  segment: pb.EventKind.EVENT_KIND_SEGMENT,
  duty: pb.EventKind.EVENT_KIND_DUTY,
  obstruction: pb.EventKind.EVENT_KIND_OBSTRUCTION,
  pause_budget: pb.EventKind.EVENT_KIND_PAUSE_BUDGET,
};
export const eventKindOf = (type: string): EventKind => KINDS[type] ?? pb.EventKind.EVENT_KIND_UNSPECIFIED;
