/**
 * Custody periods verified together (`bodycam verify DIR DIR…` or a directory of shift dirs):
 * each period is verified on its own (verify.ts), then the periods are put in their signed order
 * and every boundary is checked — the next period's `shift_start.continues` must name the period
 * before it, commit to its last line's hash and final signature, number its segments on from it,
 * and start exactly where it ended (`shift_end.end` = `shift_start.at`: no instant between two
 * periods is left uncovered). Together with each period's own coverage that proves one continuous
 * chain over the whole span. Findings (docs/custody-periods.md):
 * - `period_missing`: a period continues one that is not among those given (the one between is
 *   missing, or the first given is not a duty's first period — a note then);
 * - `period_swapped`: a directory holds another period's journal, or the chain's order is not the
 *   order of the periods' signed start times;
 * - `period_foreign`: another device's period, or one whose signatures do not verify with the key;
 * - `period_chain_broken`: `continues` does not match the closing period's last hash or signature;
 * - `period_boundary`: the closing period did not end by rotation, or the two do not meet.
 */
import type { KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Findings, UnusableInputError, countsText } from './chain.js';
import { COVERAGE_TOLERANCE_MS, verifyShift } from './verify.js';
import type { Finding, FindingCounts, Verdict, VerifyReport } from './report.js';
import type { PeriodContinues } from '../shift-evidence.js';

export interface PeriodSummary {
  readonly shiftDir: string;
  readonly shiftId: string | null;
  readonly period: number | null;
  readonly start: string | null;
  readonly end: string | null;
  readonly verdict: Verdict;
  readonly open: boolean;
  readonly summary: string;
  /** The shift this one continues (`shift_start.continues.shift_id`), if any. */
  readonly continues: string | null;
}

export interface PeriodBoundary {
  readonly from: string;
  readonly to: string;
  /** The closing period's `shift_end.end`. */
  readonly at: string | null;
  /** Time between the closing period's end and the next one's start (0 when they meet). */
  readonly gapMs: number | null;
  readonly ok: boolean;
}

export interface PeriodsReport {
  readonly format: 'bodycam-verify-periods-v1';
  readonly verdict: Verdict;
  readonly exitCode: 0 | 1;
  readonly summary: string;
  readonly deviceId: string | null;
  readonly keyId: string;
  readonly start: string | null;
  readonly end: string | null;
  /** In chain order. */
  readonly periods: readonly PeriodSummary[];
  readonly boundaries: readonly PeriodBoundary[];
  /** Findings about the periods together (each period's own are in `reports`). */
  readonly findings: readonly Finding[];
  readonly findingCounts: FindingCounts;
  readonly totals: { readonly spanS: number; readonly mediaS: number; readonly segments: number; readonly uncoveredS: number; readonly gapS: Record<string, number> };
  readonly reports: readonly VerifyReport[];
}

export interface VerifyPeriodsOptions {
  /** Shift dirs, or one directory holding shift dirs (a data dir's `shifts/`, a day's download). */
  readonly dirs: readonly string[];
  readonly publicKey: KeyObject;
  readonly central?: { privateKey: KeyObject; publicKey: KeyObject };
  readonly probe?: boolean;
}

type Rec = Record<string, unknown>;

interface Period {
  readonly dir: string;
  readonly report: VerifyReport;
  readonly first: Rec | undefined;
  readonly last: Rec | undefined;
  readonly end: Rec | undefined;
  readonly lastSegmentNo: number;
  readonly continues: Partial<PeriodContinues> | undefined;
}

/** `dirs` as given, or — one directory without a journal — the shift dirs inside it, by name. */
export function expandPeriodDirs(dirs: readonly string[]): string[] {
  if (dirs.length !== 1 || existsSync(join(dirs[0]!, 'journal.jsonl'))) return [...dirs];
  const parent = dirs[0]!;
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    throw new UnusableInputError(`${parent}: no such directory`);
  }
  const inside = names.filter((n) => existsSync(join(parent, n, 'journal.jsonl')) && statSync(join(parent, n)).isDirectory()).sort();
  if (inside.length === 0) throw new UnusableInputError(`${parent}: neither a shift directory nor a directory of shift directories`);
  return inside.map((n) => join(parent, n));
}

/** True when `dirs` is more than one shift dir, or a directory of them: the multi-period verifier's input. */
export function isPeriodsInput(dirs: readonly string[]): boolean {
  return dirs.length > 1 || (dirs.length === 1 && !existsSync(join(dirs[0]!, 'journal.jsonl')) && existsSync(dirs[0]!) && statSync(dirs[0]!).isDirectory());
}

function journalEnds(dir: string): { first: Rec | undefined; last: Rec | undefined; end: Rec | undefined; lastSegmentNo: number } {
  const lines = readFileSync(join(dir, 'journal.jsonl'), 'utf8').split('\n').filter((l) => l.length > 0);
  const parse = (l: string | undefined): Rec | undefined => {
    try {
      return l === undefined ? undefined : (JSON.parse(l) as Rec);
    } catch {
      return undefined;
    }
  };
  let end: Rec | undefined;
  let lastSegmentNo = 0;
  for (const l of lines) {
    const r = parse(l);
    if (r?.type === 'shift_end') end = r;
    const m = r?.type === 'segment' ? /^seg-(\d{6})\.ts/.exec(String(r.file)) : null;
    if (m) lastSegmentNo = Math.max(lastSegmentNo, Number(m[1]));
  }
  return { first: parse(lines[0]), last: parse(lines.at(-1)), end, lastSegmentNo };
}

const ms = (s: unknown): number | undefined => {
  const t = typeof s === 'string' ? Date.parse(s) : NaN;
  return Number.isFinite(t) ? t : undefined;
};

export async function verifyPeriods(o: VerifyPeriodsOptions): Promise<PeriodsReport> {
  const dirs = expandPeriodDirs(o.dirs);
  const F = new Findings();
  const periods: Period[] = [];
  for (const dir of dirs) {
    const report = await verifyShift({ shiftDir: dir, publicKey: o.publicKey, ...(o.central ? { central: o.central } : {}), ...(o.probe ? { probe: true } : {}) });
    const ends = journalEnds(dir);
    const c = ends.first?.continues as Partial<PeriodContinues> | undefined;
    periods.push({ dir, report, ...ends, continues: c?.cause === 'period_rotation' ? c : undefined });
  }

  // Foreign: not this device's (the first period's device, the one the key was given for).
  const deviceId = periods.find((p) => p.report.deviceId)?.report.deviceId ?? null;
  for (const p of periods) {
    const name = basename(p.dir);
    if (p.report.deviceId !== deviceId) F.tampered('period_foreign', name, `${name} was recorded by device ${p.report.deviceId ?? '?'}, not ${deviceId ?? '?'}: it is not a period of this camera`);
    else if (p.report.journal.signatures > 0 && p.report.journal.validSignatures === 0) F.tampered('period_foreign', name, `none of ${name}'s ${p.report.journal.signatures} signature(s) verifies with key ${p.report.keyId}: not signed by this camera`);
    if (p.report.shiftId !== null && p.report.shiftId !== name) F.tampered('period_swapped', name, `directory ${name} holds the journal of period ${p.report.shiftId}: period directories swapped or renamed`);
  }

  // Signed order: period number, then start time. The chain must follow it.
  const ordered = [...periods].sort((a, b) => (Number(a.first?.period) || 0) - (Number(b.first?.period) || 0) || (ms(a.first?.at) ?? 0) - (ms(b.first?.at) ?? 0));
  const byId = new Map(periods.map((p) => [p.report.shiftId, p]));
  const boundaries: PeriodBoundary[] = [];
  for (let i = 0; i < ordered.length; i++) {
    const next = ordered[i]!;
    const name = basename(next.dir);
    const prev = i > 0 ? ordered[i - 1] : undefined;
    const c = next.continues;
    if (!c) {
      if (prev) F.incomplete('period_missing', name, `${name} does not continue a period (no continues with cause period_rotation): it starts another duty, so what came between ${prev.report.shiftId} and it is not among the periods given`);
      continue;
    }
    const target = c.shift_id === undefined ? undefined : byId.get(c.shift_id);
    if (!prev) {
      if (!target) F.add('info', 'note', 'period_continues_earlier', name, `${name} (period ${String(next.first?.period ?? '?')}) continues ${c.shift_id}, which is not among the periods given: the span starts mid-duty`);
      else F.tampered('period_swapped', name, `${name} continues ${c.shift_id}, which is signed as starting later: periods out of order`);
      continue;
    }
    if (c.shift_id !== prev.report.shiftId) {
      if (!target) {
        F.incomplete('period_missing', name, `${name} continues ${c.shift_id}, which is not among the periods given: the period between ${prev.report.shiftId} and ${name} is missing`);
      } else {
        F.tampered('period_swapped', name, `${name} continues ${c.shift_id}, not ${prev.report.shiftId} before it in signed order: periods swapped`);
      }
      boundaries.push({ from: prev.report.shiftId ?? basename(prev.dir), to: name, at: prev.report.end, gapMs: null, ok: false });
      continue;
    }
    const problems: string[] = [];
    if (c.last_hash !== prev.report.journal.head) problems.push(`last_hash ${String(c.last_hash).slice(0, 16)}… is not the closing period's chain head ${prev.report.journal.head.slice(0, 16)}…`);
    const prevSig = prev.last?.type === 'signature' ? prev.last.sig : undefined;
    if ((c.signature ?? undefined) !== prevSig) problems.push(`signature does not match the closing period's final signature`);
    if (problems.length) F.tampered('period_chain_broken', `${name}/journal.jsonl:1`, `${name} does not continue ${prev.report.shiftId} as it was signed: ${problems.join('; ')}`);
    const n = Number(next.first?.period);
    const pn = Number(prev.first?.period);
    if (Number.isFinite(n) && Number.isFinite(pn) && n !== pn + 1) F.tampered('period_chain_broken', `${name}/journal.jsonl:1`, `${name} is period ${n}, the one it continues is period ${pn}`);
    if (c.first_segment !== prev.lastSegmentNo + 1) F.tampered('period_chain_broken', `${name}/journal.jsonl:1`, `${name} numbers its segments from ${String(c.first_segment)}; ${prev.report.shiftId}'s last segment is #${prev.lastSegmentNo}`);
    const endAt = ms(prev.end?.end);
    const startAt = ms(next.first?.at);
    const gapMs = endAt !== undefined && startAt !== undefined ? startAt - endAt : null;
    let ok = problems.length === 0;
    if (prev.end?.reason !== 'period_rotation') {
      ok = false;
      F.incomplete('period_boundary', basename(prev.dir), `${prev.report.shiftId} ${prev.end ? `ended with reason ${String(prev.end.reason)}` : 'is not closed'}, yet ${name} continues it by rotation`);
    } else if (gapMs === null || Math.abs(gapMs) > COVERAGE_TOLERANCE_MS) {
      ok = false;
      F.incomplete('period_boundary', `${name}/journal.jsonl:1`, `${prev.report.shiftId} ends at ${String(prev.end.end)} and ${name} starts at ${String(next.first?.at)}: the periods do not meet`);
    }
    boundaries.push({ from: prev.report.shiftId ?? basename(prev.dir), to: name, at: typeof prev.end?.end === 'string' ? prev.end.end : null, gapMs, ok });
  }
  for (const p of ordered.slice(0, -1)) {
    if (!p.report.journal.closed) F.incomplete('period_not_closed', basename(p.dir), `${basename(p.dir)} is not closed, yet later periods follow it`);
  }

  const reports = ordered.map((p) => p.report);
  const errors = F.list.filter((f) => f.severity === 'error');
  const verdict: Verdict =
    errors.some((f) => f.category === 'tampered') || reports.some((r) => r.verdict === 'tampered') ? 'tampered' : errors.length || reports.some((r) => r.verdict !== 'intact') ? 'incomplete' : 'intact';
  const gapS: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.totals.gapS)) gapS[k] = Math.round(((gapS[k] ?? 0) + v) * 1000) / 1000;
  const start = reports[0]?.start ?? null;
  const end = reports.at(-1)?.end ?? null;
  const fc = F.counts();
  const notIntact = reports.filter((r) => r.verdict !== 'intact').map((r) => `${r.shiftId ?? r.shiftDir} ${r.verdict}`);
  const summary =
    verdict === 'intact'
      ? `intact: ${reports.length} period(s) form one continuous chain from ${start ?? '?'} to ${end ?? '?'}: every boundary commits to the period before it and meets it, each period verifies${reports.at(-1)?.open ? ' (the last still open)' : ''}`
      : `${verdict === 'tampered' ? 'TAMPERED' : 'incomplete'}: ${fc.findings ? countsText(fc) : 'periods in order'}${notIntact.length ? `; period(s) not intact: ${notIntact.join(', ')}` : ''}`;
  return {
    format: 'bodycam-verify-periods-v1',
    verdict,
    exitCode: verdict === 'intact' ? 0 : 1,
    summary,
    deviceId,
    keyId: reports[0]?.keyId ?? '',
    start,
    end,
    periods: ordered.map((p) => ({
      shiftDir: p.dir,
      shiftId: p.report.shiftId,
      period: Number.isFinite(Number(p.first?.period)) ? Number(p.first?.period) : null,
      start: p.report.start,
      end: p.report.end,
      verdict: p.report.verdict,
      open: p.report.open === true,
      summary: p.report.summary,
      continues: p.continues?.shift_id ?? null,
    })),
    boundaries,
    findings: F.sorted(''),
    findingCounts: fc,
    totals: {
      spanS: start && end ? Math.round(Date.parse(end) - Date.parse(start)) / 1000 : 0,
      mediaS: Math.round(reports.reduce((a, r) => a + r.totals.mediaS, 0) * 1000) / 1000,
      segments: reports.reduce((a, r) => a + r.totals.segments, 0),
      uncoveredS: Math.round(reports.reduce((a, r) => a + r.totals.uncoveredS, 0) * 1000) / 1000,
      gapS,
    },
    reports,
  };
}

/** Plain text of a periods report: the span, each period in chain order, each boundary, the findings. */
export function renderPeriodsText(r: PeriodsReport): string {
  const out: string[] = [];
  out.push(`${r.verdict.toUpperCase()}  ${r.periods.length} custody period(s)`);
  out.push(`  ${r.summary}`);
  out.push(`  device ${r.deviceId ?? '?'}  key ${r.keyId}  ${r.start ?? '?'} → ${r.end ?? '?'} (${r.totals.spanS} s, ${r.totals.segments} segments, ${r.totals.mediaS} s of media${r.totals.uncoveredS ? `, NOT COVERED ${r.totals.uncoveredS} s` : ''})`);
  for (const [k, v] of Object.entries(r.totals.gapS)) out.push(`  gap ${k}: ${v} s`);
  for (const p of r.periods) out.push(`  period ${p.period ?? '?'}  ${p.shiftId ?? p.shiftDir}  ${p.start ?? '?'} → ${p.end ?? '?'}  ${p.verdict.toUpperCase()}${p.open ? ' (open)' : ''}`);
  for (const b of r.boundaries) out.push(`  boundary ${b.from} → ${b.to} at ${b.at ?? '?'}: ${b.ok ? 'chained, no gap' : `NOT CHAINED${b.gapMs !== null ? ` (${b.gapMs} ms apart)` : ''}`}`);
  for (const f of r.findings) out.push(`  ${f.severity.toUpperCase()} ${f.kind} ${f.where}: ${f.message}`);
  for (const rep of r.reports) for (const f of rep.findings) if (f.severity === 'error') out.push(`  ${f.severity.toUpperCase()} ${f.kind} ${rep.shiftId ?? rep.shiftDir}/${f.where}: ${f.message}`);
  return out.join('\n');
}
