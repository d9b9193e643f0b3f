/** Plain-text rendering of a verify report (what `bodycam verify` prints without --json). */
import type { DeviceJournalReport, VerifyReport } from './report.js';

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
  out.push(`  ${r.start ?? '?'} → ${r.end ?? '?'}  (${fmtS(r.totals.shiftS)}${r.journal.closed ? '' : ', not closed'})`);
  out.push(
    `  journal: ${r.journal.lines} records, ${r.journal.validSignatures}/${r.journal.signatures} signatures valid, signed through line ${r.journal.signedThroughLine}` +
      (r.journal.unsignedTail > 0 ? `, ${r.journal.unsignedTail} unsigned record(s) trail` : ''),
  );
  out.push(`  media: ${r.totals.segments} segments, ${fmtS(r.totals.mediaS)}, ${(r.totals.bytes / 1e6).toFixed(1)} MB${r.mediaChecked ? `, ${r.mediaChecked} decoded and counted` : ''}`);
  for (const [k, v] of Object.entries(r.totals.pauseS)) out.push(`  pause ${k}: ${fmtS(v)}`);
  for (const [k, v] of Object.entries(r.totals.gapS)) out.push(`  gap ${k}: ${fmtS(v)}`);
  if (r.totals.uncoveredS > 0) out.push(`  NOT COVERED: ${fmtS(r.totals.uncoveredS)}`);
  out.push(`  faults: ${r.totals.faults}  gestures: ${r.totals.gestures}`);
  out.push(...trackLines(r));
  if (r.findings.length) {
    out.push('findings:');
    for (const f of r.findings) out.push(`  ${f.severity.padEnd(7)} ${f.where}: [${f.kind}] ${f.message}`);
  }
  return out.join('\n');
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
    `  journal: ${r.journal.lines} records, ${r.journal.validSignatures}/${r.journal.signatures} signatures valid, signed through line ${r.journal.signedThroughLine}` +
      (r.journal.unsignedTail > 0 ? `, ${r.journal.unsignedTail} unsigned record(s) trail` : ''),
  );
  out.push(`  records: ${Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.findings.length) {
    out.push('findings:');
    for (const f of r.findings) out.push(`  ${f.severity.padEnd(7)} ${f.where}: [${f.kind}] ${f.message}`);
  }
  return out.join('\n');
}
