/**
 * What status and heartbeats say about custody periods (`ext.custody`, Heartbeat.custody): the
 * open period's number and start, when it rotates, and the last period central confirmed — read
 * from the `offload` records as they are journaled (`event: confirmed`; in custody mode they go
 * into the open period's journal). The confirmed period's number comes from its own
 * `shift_start`, read once, before retention deletes it (confirmation is journaled first).
 */
import { join } from 'node:path';
import type { JournalRecord } from '../evidence/journal.js';
import type { OpenShift } from '../evidence/shift-evidence.js';
import { isoMs } from '../evidence/journal.js';
import { readFirstLine } from '../lib/lines.js';

export interface CustodyStatus {
  readonly period: number | null;
  readonly periodStart: string | null;
  readonly periodS: number;
  readonly nextRotationAt: string | null;
  /** Rotations done by this agent run. */
  readonly rotations: number;
  readonly lastConfirmed: { readonly shiftId: string; readonly period: number | null; readonly at: string } | null;
}

export class CustodyTracker {
  rotations = 0;
  private lastConfirmed: CustodyStatus['lastConfirmed'] = null;

  constructor(private readonly shiftsDir: string) {}

  /** Every journaled record (any journal): a confirmation names the period confirmed. */
  noteRecord(r: JournalRecord): void {
    if (r.type !== 'offload' || r.event !== 'confirmed' || typeof r.shift !== 'string') return;
    this.lastConfirmed = { shiftId: r.shift, period: this.periodOf(r.shift), at: r.at };
  }

  /** `periodS`: the policy's; the open period's own length (journaled at its start) wins. */
  status(cur: OpenShift | undefined, policyPeriodS: number): CustodyStatus {
    const start = cur ? (cur.rotatedAt ?? Date.parse(cur.startedAt)) : undefined;
    const periodS = cur?.periodS ?? policyPeriodS;
    return {
      period: cur?.period ?? null,
      periodStart: cur?.startedAt ?? null,
      periodS,
      nextRotationAt: start !== undefined && Number.isFinite(start) ? isoMs(start + periodS * 1000) : null,
      rotations: this.rotations,
      lastConfirmed: this.lastConfirmed,
    };
  }

  private periodOf(shiftId: string): number | null {
    try {
      const first = readFirstLine(join(this.shiftsDir, shiftId, 'journal.jsonl'));
      const n = Number((JSON.parse(first ?? '{}') as { period?: unknown }).period);
      return Number.isInteger(n) && n > 0 ? n : null;
    } catch {
      return null;
    }
  }
}
