/** Plain-text rendering of a verify report (what `bodycam verify` prints without --json). */
import type { DeviceJournalReport, Finding, FindingCounts, JournalStats, PauseBudgetReport, VerifyReport } from './report.js';
import { countsText } from './chain.js';
import { dutyLine } from '../../duty/report-duty.js';

const fmtS = (s: number): string => {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${(s - m * 60).toFixed(0)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
};

export function renderText(r: VerifyReport): string {
  const out: string[] = [];
  out.push(`${r.verdict.toUpperCase()}  ${r.shiftDir}`);
  out.push(`  ${r.summary}`);
  out.push(`  shift ${r.shiftId ?? '?'}  device ${r.deviceId ?? '?'}  key ${r.keyId}${r.encrypted ? '  (media encrypted)' : ''}`);
  out.push(`  ${r.start ?? '?'} → ${r.end ?? '?'}  (${fmtS(r.totals.shiftS)}${r.journal.closed ? '' : r.open ? `, shift still open, verified through ${r.verifiedThrough ?? '(nothing yet)'}` : ', not closed'})`);
  if (r.awaited?.length) out.push(`  awaited (not arrived yet): ${r.awaited.join(', ')}`);
  out.push(
`  journal: ${journalLine(r.journal)}`);
  out.push(`  media: ${r.totals.segments} segments, ${fmtS(r.totals.mediaS)}, ${(r.totals.bytes / 1e6).toFixed(1)} MB${r.mediaChecked ? `, ${r.mediaChecked} decoded and counted` : ''}`);
  for (const [k, v] of Object.entries(r.totals.pauseS)) out.push(`  pause ${k}: ${fmtS(v)}`);
  for (const [k, v] of Object.entries(r.totals.gapS)) out.push(`  gap ${k}: ${fmtS(v)}`);
  if (r.totals.uncoveredS > 0) out.push(`  NOT COVERED: ${fmtS(r.totals.uncoveredS)}`);
  out.push(`  faults: ${r.totals.faults}  gestures: ${r.totals.gestures}`);
  if (r.duty) out.push(`  duty: ${dutyLine(r.duty)}`);
  for (const [k, t] of Object.entries(r.obstructions.totals)) out.push(`  obstructed ${k}: ${t.count} interval(s), ${fmtS(t.seconds)}`);
  for (const o of r.obstructions.intervals) out.push(`    ${o.kind} ${o.start} → ${o.end} (${fmtS(o.durationS)}${o.open ? ', open' : ''})`);
  if (r.pauseBudget) out.push(...pauseBudgetLines(r.pauseBudget));
  out.push(...trackLines(r));
  out.push(...findingLines(r.findings, r.findingCounts));
  return out.join('\n');
}

/**
 * The journal's chain and signatures in one sentence that cannot contradict itself: signatures
 * that verify but follow a chain break authenticate nothing, and it says so.
 */
export function journalLine(j: JournalStats): string {
  const broken = j.chainBrokenLine ?? null;
  let sig: string;
  if (j.signatures === 0) sig = 'no signature';
  else if (j.signedThroughLine > 0) sig = `${j.validSignatures}/${j.signatures} signatures valid, authenticated lines 1-${j.signedThroughLine}`;
  else if (j.validSignatures > 0 && broken !== null) sig = `${j.validSignatures}/${j.signatures} signatures verify, but the chain breaks at line ${broken} before any of them: no line is authenticated`;
  else sig = `${j.validSignatures}/${j.signatures} signatures valid: no line is authenticated`;
  const from = j.signedThroughLine + 1;
  const tail = j.signedThroughLine > 0 && j.unsignedTail > 0 ? `, ${from === j.lines ? `line ${from}` : `lines ${from}-${j.lines}`} not covered by a signature (${j.unsignedTail} unsigned record(s) trail)` : '';
  const chain = broken !== null && j.signedThroughLine > 0 ? `, chain breaks at line ${broken}` : '';
  return `${j.lines} records, ${sig}${tail}${chain}`;
}

/** Findings with their follow-ons indented beneath them; the header gives the one count. */
export function findingLines(findings: readonly Finding[], counts: FindingCounts | undefined): string[] {
  if (!findings.length) return [];
  const out = [`findings: ${counts ? countsText(counts) : `${findings.length}`}`];
  const fmt = (f: Finding, indent: string): string => `${indent}${f.severity.padEnd(7)} ${f.where}: [${f.kind}] ${f.message}`;
  for (const f of findings) {
    if (f.causedBy !== undefined && findings.some((c) => c.id === f.causedBy)) continue;
    out.push(fmt(f, '  '));
    for (const c of findings) if (c.causedBy === f.id) out.push(fmt(c, '      ↳ follows: '));
  }
  return out;
}

/** Pause budget use per reason, then every refused pause with its journal line. */
function pauseBudgetLines(b: PauseBudgetReport): string[] {
  const lim = (v: number | null): string => (v === null ? '?' : String(v));
  const out = Object.entries(b.reasons).map(([k, v]) => `  pause budget ${k}: ${v.pauses}/${lim(v.maxPauses)} pauses, ${fmtS(v.pausedS)}${v.refused ? `, ${v.refused} refused` : ''}`);
  out.push(`  paused in all: ${fmtS(b.pausedS)} of ${b.maxPausedS === null ? '?' : fmtS(b.maxPausedS)}`);
  for (const x of b.refused) out.push(`  REFUSED PAUSE journal.jsonl:${x.line} ${x.at} ${x.reason ?? '?'}: budget ${x.budget} (${lim(x.used)} of ${lim(x.limit)})`);
  for (const x of b.warnings) out.push(`  budget warning journal.jsonl:${x.line} ${x.at}: ${x.budget} at ${lim(x.used)} of ${lim(x.limit)}`);
  return out;
}

/** The track (one line per `location` record) and the clock steps. */
function trackLines(r: VerifyReport): string[] {
  const out: string[] = [];
  for (const s of r.clockSteps ?? []) out.push(`  clock stepped ${s.stepMs >= 0 ? '+' : ''}${(s.stepMs / 1000).toFixed(3)} s at line ${s.line} (${s.before ?? '?'} → ${s.after ?? '?'}): later times aligned`);
  const t = r.track ?? [];
  if (!t.length) return out;
  out.push(`  track: ${t.filter((p) => p.fix !== 'none').length} position(s), ${t.filter((p) => p.fix === 'none').length} without fix`);
  for (const p of t) {
    const at = p.at !== null ? new Date(p.at).toISOString() : '?';
    out.push(p.fix === 'none' ? `    ${at}  no fix (${p.cause ?? '?'})` : `    ${at}  ${p.lat!.toFixed(6)}, ${p.lon!.toFixed(6)}  ±${p.accuracyM ?? '?'} m  ${p.fix}  fix ${p.fixTime ?? '?'}`);
  }
  return out;
}

export function renderDeviceJournalText(r: DeviceJournalReport): string {
  const out: string[] = [];
  out.push(`${r.verdict.toUpperCase()}  ${r.path}`);
  out.push(`  ${r.summary}`);
  out.push(`  device journal of ${r.deviceId ?? '?'}  key ${r.keyId}`);
  out.push(`  ${r.first ?? '?'} → ${r.last ?? '?'}`);
  out.push(
`  journal: ${journalLine(r.journal)}`);
  out.push(`  records: ${Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(...findingLines(r.findings, r.findingCounts));
  return out.join('\n');
}
