/**
 * `<data-dir>/duty.json`: the duty window, the wearer assignment and the open shift's duty (its
 * trigger and wearer), written atomically (temp → fsync → rename → fsync dir) on every change so
 * an agent restart keeps a schedule and an assignment. A damaged file is reported and ignored: it
 * can cost a schedule, never a recording.
 */
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../lib/atomic.js';
import type { Assignment, CurrentDuty, DutyWindow, StartTrigger, Wearer } from './types.js';
import { START_TRIGGERS } from './types.js';

export interface DutyFile {
  readonly v: 1;
  readonly window: DutyWindow | null;
  readonly assignment: Assignment | null;
  readonly current: CurrentDuty | null;
}

export const EMPTY_DUTY: DutyFile = { v: 1, window: null, assignment: null, current: null };

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function wearerOf(v: unknown): Wearer | null {
  const o = v as Record<string, unknown> | null;
  return o && str(o.id) && str(o.name) ? { id: o.id, name: o.name } : null;
}

/** Parses the file's JSON field by field: whatever is damaged is dropped, the rest kept. */
export function parseDutyFile(v: unknown): DutyFile {
  if (typeof v !== 'object' || v === null) return EMPTY_DUTY;
  const o = v as Record<string, unknown>;
  const w = o.window as Record<string, unknown> | null;
  const window = w && num(w.startMs) && num(w.endMs) && w.endMs > w.startMs ? { startMs: w.startMs, endMs: w.endMs, commandId: str(w.commandId) ? w.commandId : '', started: w.started === true } : null;
  const a = o.assignment as Record<string, unknown> | null;
  const aw = wearerOf(a);
  const assignment = a && aw ? { ...aw, commandId: str(a.commandId) ? a.commandId : '', at: num(a.at) ? a.at : 0 } : null;
  const c = o.current as Record<string, unknown> | null;
  const current =
    c && str(c.shiftId) && START_TRIGGERS.includes(c.trigger as StartTrigger)
      ? { shiftId: c.shiftId, trigger: c.trigger as StartTrigger, wearer: wearerOf(c.wearer), batteryShort: c.batteryShort === true, ...(num(c.startedAtMs) ? { startedAtMs: c.startedAtMs } : {}) }
      : null;
  return { v: 1, window, assignment, current };
}

export class DutyStore {
  readonly path: string;
  constructor(dataDir: string) {
    this.path = join(dataDir, 'duty.json');
  }
  /** Throws only on I/O errors other than a missing file; bad JSON content is dropped field by field. */
  load(): DutyFile {
    return parseDutyFile(readJsonIfExists(this.path));
  }
  save(f: DutyFile): void {
    writeJsonAtomic(this.path, f);
  }
}
