/** What `bodycam verify` finds: the machine-readable report (`--json`) that text and HTML render. */

export type Severity = 'error' | 'warning' | 'info';
/**
 * tampered: the evidence differs from what the device wrote and signed (or cannot be shown not to).
 * incomplete: what is there is authentic, but part of the shift is missing or not yet signed.
 * policy: the device's own record shows it broke policy (never changes the exit code).
 */
export type Category = 'tampered' | 'incomplete' | 'policy' | 'note';

export interface Finding {
  /** Stable within one report: what `causedBy` refers to. */
  readonly id: number;
  readonly severity: Severity;
  readonly category: Category;
  /** Stable machine name, e.g. `chain_broken`, `segment_hash`, `unsigned_tail`. */
  readonly kind: string;
  /** The file (and 1-based line for the journal) it concerns: `journal.jsonl:12`, `seg-000003.ts`. */
  readonly where: string;
  /** 1-based journal line when `where` is a journal line (`journal.jsonl:12` → 12). */
  readonly line?: number;
  readonly message: string;
  /**
   * A follow-on: the `id` of the finding that explains this one (a damaged line breaks the chain
   * after it, hides a segment record, leaves a hole). Follow-ons are listed beneath their cause
   * and not counted on their own.
   */
  causedBy?: number;
}

/** The one count every rendering (text, JSON, HTML) gives: findings that are causes, and their follow-ons. */
export interface FindingCounts {
  /** Findings with no cause above them (errors and warnings). */
  readonly findings: number;
  readonly tampered: number;
  readonly incomplete: number;
  readonly warnings: number;
  /** Findings listed beneath a cause. */
  readonly followOns: number;
}

export type TimelineKind = 'media' | 'altered' | 'missing' | 'pause' | 'gap' | 'hole' | 'unsealed' | 'fault' | 'gesture' | 'signature' | 'recovery' | 'degrade' | 'note' | 'obstructed';

export interface TimelineItem {
  readonly kind: TimelineKind;
  /** Wall-clock ms (Unix epoch). Markers (fault, gesture…) have start === end. */
  readonly start: number;
  readonly end: number;
  /** Pause reason, gap cause, fault name, gesture, segment file… */
  readonly label: string;
  /** 1-based journal line it comes from (0 for computed items such as holes). */
  readonly line: number;
}

export interface Totals {
  readonly shiftS: number;
  readonly mediaS: number;
  readonly segments: number;
  readonly bytes: number;
  readonly pauseS: Record<string, number>;
  readonly gapS: Record<string, number>;
  readonly uncoveredS: number;
  readonly faults: number;
  readonly gestures: number;
}

export type Verdict = 'intact' | 'tampered' | 'incomplete';

export interface VerifyReport {
  readonly format: 'bodycam-verify-v1';
  readonly verdict: Verdict;
  readonly exitCode: 0 | 1;
  /** One sentence for a human. */
  readonly summary: string;
  readonly shiftDir: string;
  readonly shiftId: string | null;
  readonly deviceId: string | null;
  /** Id of the public key the signatures were checked against (the one given, never one from the shift). */
  readonly keyId: string;
  readonly start: string | null;
  readonly end: string | null;
  readonly journal: JournalStats & { readonly closed: boolean };
  /**
   * The journal is the signed prefix of a shift still recording: it ends on a valid signature and
   * has no shift_end (docs/live-offload.md). Absent in reports of older verifiers.
   */
  readonly open?: boolean;
  /**
   * Open only (else null): RFC 3339 end of the stretch from shift start that verified segments,
   * allowed pauses and caused gaps cover without a hole, capped at the last signature's `at`
   * (agent/evidence/verify/open-prefix.ts).
   */
  readonly verifiedThrough?: string | null;
  /** Open only: segments the prefix names whose file has not arrived yet (not missing). */
  readonly awaited?: readonly string[];
  readonly encrypted: boolean;
  /** With the central key: segments decrypted and checked (hash, decode, frames). */
  readonly mediaChecked: number;
  readonly totals: Totals;
  readonly timeline: readonly TimelineItem[];
  readonly findings: readonly Finding[];
  readonly findingCounts: FindingCounts;
  /** Covered lens, frozen picture, silent microphone intervals (verify/obstruction.ts). */
  readonly obstructions: ObstructionSummary;
  /** Who wore the camera and what started / ended the shift (agent/duty/report-duty.ts). */
  readonly duty?: DutySummary;
  /** Pause budget use and every refused pause (absent in reports of older verifiers). */
  readonly pauseBudget?: PauseBudgetReport;
  /** The shift's `location` records in order (fix "none" where there was no fix). */
  readonly track?: readonly TrackPoint[];
  /** Wall-clock steps the agent journaled (`time_sync` with step_ms); later times are aligned by them. */
  readonly clockSteps?: readonly ClockStepItem[];
}

/** One `pause_budget` record: a refused pause or a budget that crossed 80 %. */
export interface PauseBudgetItem {
  /** 1-based journal line. */
  readonly line: number;
  readonly at: string;
  /** `pauses_personal_needs`, `pauses_sensitive_site`, `paused_time` or `min_recording`. */
  readonly budget: string;
  readonly reason: string | null;
  readonly used: number | null;
  readonly limit: number | null;
}

/** Pauses used against the shift's pause budget (limits from the policy it ran under; null when it had none). */
export interface PauseBudgetReport {
  readonly reasons: Readonly<Record<string, { readonly pauses: number; readonly maxPauses: number | null; readonly pausedS: number; readonly refused: number }>>;
  readonly pausedS: number;
  readonly maxPausedS: number | null;
  readonly refused: readonly PauseBudgetItem[];
  readonly warnings: readonly PauseBudgetItem[];
}

/** The duty of a shift, from its journal: `shift_start.trigger`/`wearer`, `shift_end.reason`, `duty` records. */
export interface DutySummary {
  /** button | dock | central | schedule (a journal without the field: button); null without shift_start. */
  readonly startTrigger: string | null;
  /** wearer (confirmed gesture) | dock | central | battery_critical…; null when not ended. */
  readonly endReason: string | null;
  /** null: nobody was assigned (the `unassigned` fault). */
  readonly wearer: { readonly id: string; readonly name: string } | null;
  readonly dutyWindow: { readonly start: string; readonly end: string } | null;
  readonly batteryForecast: { readonly lasts: boolean | null; readonly runtimeS: number | null; readonly expectedS: number } | null;
  /** The duty window's end passed while the shift was still on. */
  readonly scheduleOverrun: boolean;
  /** Duty triggers that came while they could not act (e.g. undocked while on duty). */
  readonly ignoredTriggers: number;
}

/** The chain and signatures of a journal (shift or device), as every report gives them. */
export interface JournalStats {
  readonly lines: number;
  readonly head: string;
  readonly signatures: number;
  readonly validSignatures: number;
  /** 1-based line of the last signature that verifies with an intact chain before it (0: none). */
  readonly signedThroughLine: number;
  /** Records after that signature, not covered by any valid signature. */
  readonly unsignedTail: number;
  /** 1-based line where the hash chain first breaks (a line not JSON, or whose prev does not match); null: intact. */
  readonly chainBrokenLine?: number | null;
}

/** One line of a device journal as the report lists it. */
export interface JournalRow {
  /** 1-based line number. */
  readonly line: number;
  readonly seq: number | null;
  readonly type: string;
  readonly at: string | null;
  /** The record's own fields (after seq, type, at, prev) as compact JSON, shortened. */
  readonly detail: string;
  /** Covered by a valid signature over an intact chain. */
  readonly signed: boolean;
}

/**
 * `bodycam verify DATA_DIR/device-journal.jsonl`: the device journal (what happens off duty) has
 * the chain and signatures of a shift journal but no shift, media or timeline.
 */
export interface DeviceJournalReport {
  readonly format: 'bodycam-verify-v1';
  readonly subject: 'device-journal';
  readonly verdict: Verdict;
  readonly exitCode: 0 | 1;
  readonly summary: string;
  readonly path: string;
  /** The device the journal names (first `device_id` in it), or null. */
  readonly deviceId: string | null;
  readonly keyId: string;
  /** `at` of the first and the last record. */
  readonly first: string | null;
  readonly last: string | null;
  readonly journal: JournalStats;
  /** Records per type. */
  readonly counts: Record<string, number>;
  readonly records: readonly JournalRow[];
  readonly findings: readonly Finding[];
  readonly findingCounts: FindingCounts;
}

// ---- location, clock steps and obstruction (types here so report.ts imports nothing of the verifier)

export interface TrackPoint {
  /** 1-based journal line. */
  readonly line: number;
  /** The record's `at` (ms), on the shift's starting timebase. */
  readonly at: number | null;
  /** "3d", "2d" or "none" (no fix: no position, never an invented one). */
  readonly fix: string;
  readonly lat: number | null;
  readonly lon: number | null;
  readonly accuracyM: number | null;
  /** The receiver's time of the fix (RFC 3339) or null. */
  readonly fixTime: string | null;
  /** Without a fix: "no_fix" or "receiver_lost". */
  readonly cause: string | null;
}

export interface ClockStepItem {
  readonly line: number;
  readonly stepMs: number;
  readonly before: string | null;
  readonly after: string | null;
}

export interface ObstructionInterval {
  readonly kind: string;
  readonly start: string;
  readonly end: string;
  readonly durationS: number;
  /** No `phase: end` record: the interval was cut by the shift's (or the journal's) end. */
  readonly open: boolean;
  /** Why it ended: `cleared`, `stopped` (recording stopped), or `open`. */
  readonly reason: string;
  /** 1-based journal line of the start record (of the end record when the start is missing). */
  readonly line: number;
  readonly measures: Readonly<Record<string, number>>;
}

export interface ObstructionSummary {
  readonly intervals: readonly ObstructionInterval[];
  /** Per kind: number of intervals and their total seconds. */
  readonly totals: Readonly<Record<string, { readonly count: number; readonly seconds: number }>>;
}
