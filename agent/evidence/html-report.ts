/**
 * `bodycam verify --html`: one self-contained page (inline CSS and SVG, no script, no external
 * asset) that a supervisor reads at a glance: verdict banner, the shift as a timeline with one
 * lane each for recording, pauses by reason, gaps by cause, uncovered time, and events (faults,
 * gestures, signatures), the totals, and every finding with its file and line.
 */
import { dutyLine } from '../duty/report-duty.js';
import type { DeviceJournalReport, Finding, FindingCounts, PauseBudgetReport, TimelineItem, Verdict, VerifyReport } from './verify/report.js';
import { countsText } from './verify/chain.js';
import { shiftParts } from './verify/parts.js';
import { journalLine } from './verify/text.js';
import type { PeriodsReport } from './verify/periods.js';
import { plain } from './verify/words.js';
import { esc, fmtS, hms, utc } from './html-text.js';
import { PALETTE, gapColour, legend, markName, obstructedColour, pauseColour, timelineSvg, trackSvg } from './report-timeline.js';

/** The page style every verify report shares (shift timeline and device journal). */
function pageStyle(verdict: Verdict): string {
  const colour = PALETTE.verdict[verdict];
  return `<style>
body{font:14px/1.4 "DejaVu Sans",Arial,sans-serif;margin:0;color:#1f2328;background:#fff}
#verdict{background:${colour};color:#fff;padding:18px 24px}
#verdict h1{margin:0;font-size:26px;letter-spacing:.5px}
#verdict p{margin:4px 0 0;font-size:15px}
main{padding:12px 24px}
h2{font-size:17px;margin:18px 0 6px}
.lane{font-size:13px;fill:#333}.tick{font-size:11px;fill:#555}
.sw{display:inline-block;margin:0 14px 4px 0;font-size:12px}.sw i,.dot{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px;border-radius:2px}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
table.totals td:first-child{color:#555}
tr.error td:first-child{color:#c62828;font-weight:bold}tr.warning td:first-child{color:#c77700}
code{font-size:12px}
#attention{border:3px solid #c62828;background:#fff5f5;padding:8px 16px;margin:12px 0}#attention h2{margin:0 0 4px;color:#c62828}
#attention.calm{border-color:#1e7b34;background:#f3fbf4}#attention.calm h2{color:#1e7b34}
tr.follow td{color:#555}tr.follow td:nth-child(3)::before{content:"↳ "}
table.parts td:nth-child(2){text-align:right}table.parts tr.total td{font-weight:bold;border-top:2px solid #333}
@media print{
  body{font-size:11px}main{padding:0}#verdict,#attention,.sw i,.dot,svg{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  svg{max-width:100%;height:auto}h2{break-after:avoid}tr{break-inside:avoid}table.details{font-size:10px}
}
</style>`;
}

/** Findings with their follow-ons beneath them (indented, greyed); the heading gives the one count. */
function findingsTable(findings: readonly Finding[]): string {
  if (!findings.length) return '<p>No findings.</p>';
  const row = (f: Finding, follow: boolean): string =>
    `<tr class="${f.severity}${follow ? ' follow' : ''}" data-id="${f.id}"${f.causedBy !== undefined ? ` data-caused-by="${f.causedBy}"` : ''}><td>${follow ? 'follows' : f.severity}</td><td><code>${esc(f.where)}</code></td><td>${esc(plain(f.kind))}${plain(f.kind) !== f.kind ? ` <code>${esc(f.kind)}</code>` : ''}</td><td>${esc(f.message)}</td></tr>`;
  const rows: string[] = [];
  for (const f of findings) {
    if (f.causedBy !== undefined && findings.some((c) => c.id === f.causedBy)) continue;
    rows.push(row(f, false));
    for (const c of findings) if (c.causedBy === f.id) rows.push(row(c, true));
  }
  return `<table class="findings"><tr><th>severity</th><th>where</th><th>what</th><th>finding</th></tr>${rows.join('')}</table>`;
}

const findingsHeading = (findings: readonly Finding[], c: FindingCounts | undefined): string =>
  `<h2 id="findings-heading" data-count="${c ? c.findings : findings.length}">Findings (${c ? c.findings : findings.length})</h2>${c && c.followOns ? `<p>${esc(countsText(c))}.</p>` : ''}`;

/** Pause budget: use per reason against its limits, then every refused pause and budget warning. */
function pauseBudgetHtml(b: PauseBudgetReport): string {
  const lim = (v: number | null): string => (v === null ? '?' : String(v));
  const rows = Object.entries(b.reasons)
    .map(([k, v]) => `<tr><td><i class="dot" style="background:${pauseColour(k)}"></i>${esc(plain(k))}</td><td>${v.pauses} of ${lim(v.maxPauses)}</td><td>${fmtS(v.pausedS)}</td><td>${v.refused ? `<b>${v.refused}</b>` : '0'}</td></tr>`)
    .join('');
  const items = (title: string, cls: string, list: PauseBudgetReport['refused']): string =>
    list.length
      ? `<p>${title}:</p><table class="${cls}"><tr><th>at</th><th>reason</th><th>budget</th><th>used / limit</th><th>journal line</th></tr>${list
          .map((x) => `<tr><td>${esc(x.at)}</td><td>${esc(x.reason ? plain(x.reason) : '–')}</td><td><code>${esc(x.budget)}</code></td><td>${lim(x.used)} / ${lim(x.limit)}</td><td>${x.line}</td></tr>`)
          .join('')}</table>`
      : '';
  return `<h2>Pause budget</h2>
<table class="pause-budget"><tr><th>reason</th><th>pauses</th><th>paused</th><th>refused</th></tr>${rows}<tr><td>all reasons</td><td></td><td>${fmtS(b.pausedS)} of ${b.maxPausedS === null ? '?' : fmtS(b.maxPausedS)}</td><td></td></tr></table>
${b.refused.length ? items(`<b>${b.refused.length} pause(s) refused</b> (recording went on)`, 'refused-pauses', b.refused) : '<p>No pause refused.</p>'}
${items('Budgets past 80 %', 'budget-warnings', b.warnings)}`;
}

/** What a supervisor must look at first: no wearer, a battery that will not last, findings, lost time. */
function attentionBox(r: VerifyReport): string {
  const items: string[] = [];
  if (r.duty && !r.duty.wearer) items.push('<li data-attention="unassigned"><b>No wearer assigned</b>: nobody is named as wearing the camera for this shift.</li>');
  const bf = r.duty?.batteryForecast;
  if (bf && bf.lasts === false) {
    items.push(`<li data-attention="battery"><b>Battery forecast short</b>: about ${bf.runtimeS === null ? '?' : fmtS(bf.runtimeS)} of battery for ${fmtS(bf.expectedS)} of duty.</li>`);
  }
  const c = r.findingCounts;
  if (c && c.findings > 0) {
    const causes = r.findings.filter((f) => f.causedBy === undefined && f.severity === 'error').slice(0, 5);
    items.push(
      `<li data-attention="findings"><b>${esc(countsText(c))}</b>${causes.length ? `: ${causes.map((f) => `${esc(plain(f.kind))} at <code>${esc(f.where)}</code>`).join('; ')}` : ''}.</li>`,
    );
  }
  if (r.totals.uncoveredS > 0) items.push(`<li data-attention="uncovered"><b>${fmtS(r.totals.uncoveredS)} not covered</b> by any recording, pause or gap record.</li>`);
  if (r.pauseBudget?.refused.length) items.push(`<li data-attention="refused"><b>${r.pauseBudget.refused.length} pause(s) refused</b> by the pause budget.</li>`);
  if (!items.length) return '<section id="attention" class="calm"><h2>Attention</h2><p>Nothing needs attention.</p></section>';
  return `<section id="attention"><h2>Attention</h2><ul>${items.join('')}</ul></section>`;
}

/** Recorded + paused + gaps + not covered (+ slivers below the tolerance) = the shift's length, shown as a sum. */
function partsTable(r: VerifyReport): string {
  const p = shiftParts(r);
  const v = (s: number): string => `${s.toFixed(3)} s${s >= 60 ? ` (${fmtS(s)})` : ''}`;
  const rows: [string, string, number][] = [
    ['recorded', 'Recorded', p.recordedS],
    ['paused', 'Paused (privacy)', p.pausedS],
    ['gaps', 'Gaps (camera not recording, cause journaled)', p.gapS],
    ['uncovered', 'Not covered by any record', p.uncoveredS],
  ];
  if (p.slackS > 0) rows.push(['slack', 'Between records (each under 0.25 s, clock granularity)', p.slackS]);
  return `<table class="parts">${rows.map(([k, n, s]) => `<tr data-part="${k}" data-s="${s}"><td>${n}</td><td>${v(s)}</td></tr>`).join('')}<tr class="total" data-part="total" data-s="${p.totalS}"><td>= Shift length</td><td>${v(p.totalS)}</td></tr></table>`;
}

/** Every mark on the timeline as a row: readable without hovering, and on paper. */
function detailsTable(r: VerifyReport): string {
  const rows: string[] = [];
  let run: { first: TimelineItem; end: number; n: number } | undefined;
  const dur = (a: number, b: number): string => `${((b - a) / 1000).toFixed(1)} s`;
  const push = (start: number, end: number, what: string, line: string, cls: string): void => {
    rows.push(`<tr class="${cls}"><td>${hms(start)}</td><td>${end !== start ? hms(end) : ''}</td><td>${end !== start ? dur(start, end) : ''}</td><td>${esc(what)}</td><td>${line}</td></tr>`);
  };
  const flush = (): void => {
    if (run) push(run.first.start, run.end, run.n > 1 ? `recording: ${run.n} segments from ${run.first.label}` : `recording ${run.first.label}`, String(run.first.line), 'media');
    run = undefined;
  };
  for (const t of r.timeline) {
    if (t.kind === 'media') {
      if (run && t.start - run.end <= 50) {
        run.end = Math.max(run.end, t.end);
        run.n++;
      } else {
        flush();
        run = { first: t, end: t.end, n: 1 };
      }
      continue;
    }
    flush();
    push(t.start, t.end, markName(t), t.line ? String(t.line) : '–', t.kind);
  }
  flush();
  return `<table class="details"><tr><th>from (UTC)</th><th>to (UTC)</th><th>length</th><th>what</th><th>journal line</th></tr>${rows.join('')}</table>`;
}

const verdictTitle = (v: Verdict): string => (v === 'intact' ? 'INTACT' : v === 'tampered' ? 'TAMPERED' : 'INCOMPLETE');

export function renderHtml(r: VerifyReport): string {
  const t = r.totals;
  const rows: [string, string][] = [
    ['Shift', esc(r.shiftId ?? '?')],
    ['Device', esc(r.deviceId ?? '?')],
    ['Verified with key', esc(r.keyId)],
    ['Start → end', `${esc(utc(r.start))} → ${esc(utc(r.end))}${r.journal.closed ? '' : r.open ? ' <b>(shift still open)</b>' : ' <b>(not closed)</b>'}`],
    ...(r.open ? [['Verified through', `<b id="verified-through">${esc(utc(r.verifiedThrough ?? null))}</b>${r.awaited?.length ? ` (${r.awaited.length} segment(s) awaited: ${esc(r.awaited.join(', '))})` : ''}`] as [string, string]] : []),
    ['Shift length', fmtS(t.shiftS)],
    ['Recorded media', `${fmtS(t.mediaS)} in ${t.segments} segments (${(t.bytes / 1e6).toFixed(1)} MB)${r.encrypted ? ', encrypted for central' : ''}`],
    ...Object.entries(t.pauseS).map(([k, v]): [string, string] => [`Pause: ${esc(plain(k))}`, `<i class="dot" style="background:${pauseColour(k)}"></i>${fmtS(v)}`]),
    ...Object.entries(t.gapS).map(([k, v]): [string, string] => [`Gap: ${esc(plain(k))}`, `<i class="dot" style="background:${gapColour(k)}"></i>${fmtS(v)}`]),
    ['Not covered', t.uncoveredS > 0 ? `<b>${fmtS(t.uncoveredS)}</b>` : 'none'],
    ['Faults / button presses', `${t.faults} / ${t.gestures}`],
    ...(r.duty ? [['Wearer', r.duty.wearer ? `${esc(r.duty.wearer.name)} (${esc(r.duty.wearer.id)})` : '<b>unassigned</b>'] as [string, string], ['Duty', esc(dutyLine(r.duty))] as [string, string]] : []),
    ...Object.entries(r.obstructions?.totals ?? {}).map(([k, v]): [string, string] => [`Obstructed ${esc(k)}`, `<i class="dot" style="background:${obstructedColour(k)}"></i>${v.count} interval(s), ${fmtS(v.seconds)}`]),
    ['Journal', esc(journalLine(r.journal))],
  ];
  const findings = findingsTable(r.findings);
  const budget = r.pauseBudget ? pauseBudgetHtml(r.pauseBudget) : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shift ${esc(r.shiftId ?? '')}: ${r.verdict}</title>
${pageStyle(r.verdict)}</head>
<body>
<header id="verdict" data-verdict="${r.verdict}"${r.open ? ` data-open="true" data-verified-through="${esc(r.verifiedThrough ?? '')}"` : ''}><h1>${verdictTitle(r.verdict)}</h1><p>${esc(r.summary)}</p></header>
<main>
${attentionBox(r)}
<h2>Timeline</h2>
${r.duty ? `<p id="duty">Started by <b>${esc(plain(r.duty.startTrigger ?? '?'))}</b> · ended by <b>${esc(r.duty.endReason ? plain(r.duty.endReason) : 'not ended')}</b> · wearer <b>${r.duty.wearer ? esc(`${r.duty.wearer.name} (${r.duty.wearer.id})`) : 'unassigned'}</b></p>` : ''}
<div id="timeline">${timelineSvg(r)}</div>
<div id="legend">${legend(r)}</div>
${(r.track ?? []).some((p) => p.lat !== null) ? `<h2>Track (${(r.track ?? []).length} location records)</h2>\n<div id="track">${trackSvg(r)}</div>\n<div id="track-legend"><span class="sw" data-mark="track"><i style="background:${PALETTE.track}"></i>path walked</span> <span class="sw" data-mark="track-lost"><i style="background:${PALETTE.trackLost}"></i>○ position fix lost here</span></div>` : ''}
<h2>Where the shift's time went</h2>
${partsTable(r)}
<h2>Totals</h2>
<table class="totals">${rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('')}</table>
${budget}
${findingsHeading(r.findings, r.findingCounts)}
${findings}
<h2>Timeline details (times UTC)</h2>
${detailsTable(r)}
<p style="color:#777;font-size:12px">bodycam verify · ${esc(r.shiftDir)} · journal head ${esc(r.journal.head)}</p>
</main></body></html>
`;
}

/**
 * A device journal has no timeline: the page is the verdict, the journal's totals, its records as
 * a table (unsigned ones marked, lines with findings highlighted) and the findings.
 */
export function renderDeviceJournalHtml(r: DeviceJournalReport): string {
  const flagged = new Set(r.findings.filter((f) => f.severity === 'error').map((f) => Number(/:(\d+)$/.exec(f.where)?.[1] ?? 0)));
  const rows: [string, string][] = [
    ['Device', esc(r.deviceId ?? '?')],
    ['Verified with key', esc(r.keyId)],
    ['First → last record', `${esc(r.first ?? '?')} → ${esc(r.last ?? '?')}`],
    [
      'Journal',
      esc(journalLine(r.journal)),
    ],
    ['Records', esc(Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(', '))],
  ];
  const records = r.records
    .map((x) => {
      const cls = flagged.has(x.line) ? 'error' : x.signed ? '' : 'unsigned';
      return `<tr${cls ? ` class="${cls}"` : ''}><td>${x.line}</td><td>${x.seq ?? '?'}</td><td>${esc(x.at ?? '?')}</td><td><code>${esc(x.type)}</code></td><td><code>${esc(x.detail)}</code></td><td>${x.signed ? 'signed' : '<b>unsigned</b>'}</td></tr>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Device journal ${esc(r.deviceId ?? '')}: ${r.verdict}</title>
${pageStyle(r.verdict)}
<style>table.records tr.unsigned td{background:#fff4e0}table.records tr.error td{background:#fde7e7}</style></head>
<body>
<header id="verdict" data-verdict="${r.verdict}"><h1>${verdictTitle(r.verdict)}</h1><p>${esc(r.summary)}</p></header>
<main>
<h2>Device journal</h2>
<table class="totals">${rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('')}</table>
${findingsHeading(r.findings, r.findingCounts)}
${findingsTable(r.findings)}
<h2>Records (${r.records.length})</h2>
<table class="records"><tr><th>line</th><th>seq</th><th>at</th><th>type</th><th>fields</th><th>signature</th></tr>${records}</table>
<p style="color:#777;font-size:12px">bodycam verify · ${esc(r.path)} · journal head ${esc(r.journal.head)}</p>
</main></body></html>
`;
}

/**
 * Custody periods verified together (`bodycam verify DIR DIR… --html`): the verdict over the span,
 * one timeline across every period (each period's own timeline items, on one axis), the periods
 * in chain order and every boundary (chained or not, how far apart), then the findings about the
 * periods together and each period's errors.
 */
export function renderPeriodsHtml(r: PeriodsReport): string {
  const last = r.reports.at(-1);
  const span: VerifyReport | undefined = last && {
    ...last,
    start: r.start,
    end: r.end,
    timeline: r.reports.flatMap((p) => p.timeline).sort((a, b) => a.start - b.start || a.end - b.end),
    // Per-period line numbers would collide on one axis: unsigned tails are in each period's findings.
    journal: { ...last.journal, unsignedTail: 0 },
    pauseBudget: undefined,
  };
  const periodRows = r.periods.map((p, i) => {
    const rep = r.reports[i]!;
    return `<tr class="${p.verdict === 'intact' ? '' : 'error'}" data-period="${p.period ?? ''}"><td>${p.period ?? '?'}</td><td><code>${esc(p.shiftId ?? p.shiftDir)}</code></td><td>${esc(utc(p.start))}</td><td>${esc(utc(p.end))}${p.open ? ' <b>(open)</b>' : ''}</td><td>${rep.totals.segments}</td><td>${fmtS(rep.totals.mediaS)}</td><td>${verdictTitle(p.verdict)}</td></tr>`;
  });
  const boundaryRows = r.boundaries.map((b) => `<tr class="${b.ok ? '' : 'error'}" data-ok="${b.ok}"><td><code>${esc(b.from)}</code> → <code>${esc(b.to)}</code></td><td>${esc(utc(b.at))}</td><td>${b.ok ? 'chained, no gap' : `<b>not chained</b>${b.gapMs !== null ? ` (${b.gapMs} ms apart)` : ''}`}</td></tr>`);
  const periodErrors: Finding[] = r.reports.flatMap((rep) => rep.findings.filter((f) => f.severity === 'error').map((f) => ({ ...f, where: `${rep.shiftId ?? rep.shiftDir}/${f.where}` })));
  const t = r.totals;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Custody periods ${esc(r.start ?? '')} → ${esc(r.end ?? '')}: ${r.verdict}</title>
${pageStyle(r.verdict)}</head>
<body>
<header id="verdict" data-verdict="${r.verdict}"><h1>${verdictTitle(r.verdict)}</h1><p>${esc(r.summary)}</p></header>
<main>
<h2>Timeline (${r.periods.length} periods)</h2>
${span ? `<div id="timeline">${timelineSvg(span)}</div>\n<div id="legend">${legend(span)}</div>` : ''}
<h2>Periods</h2>
<table class="periods"><tr><th>period</th><th>shift</th><th>start</th><th>end</th><th>segments</th><th>media</th><th>verdict</th></tr>${periodRows.join('')}</table>
<h2>Boundaries</h2>
${boundaryRows.length ? `<table class="boundaries"><tr><th>from → to</th><th>at</th><th></th></tr>${boundaryRows.join('')}</table>` : '<p>One period: no boundary.</p>'}
<h2>Totals</h2>
<table class="totals"><tr><td>Device</td><td>${esc(r.deviceId ?? '?')}</td></tr><tr><td>Verified with key</td><td>${esc(r.keyId)}</td></tr><tr><td>Span</td><td>${esc(utc(r.start))} → ${esc(utc(r.end))} (${fmtS(t.spanS)})</td></tr><tr><td>Recorded media</td><td>${fmtS(t.mediaS)} in ${t.segments} segments</td></tr>${Object.entries(t.gapS).map(([k, v]) => `<tr><td>Gap: ${esc(plain(k))}</td><td><i class="dot" style="background:${gapColour(k)}"></i>${fmtS(v)}</td></tr>`).join('')}<tr><td>Not covered</td><td>${t.uncoveredS > 0 ? `<b>${fmtS(t.uncoveredS)}</b>` : 'none'}</td></tr></table>
${findingsHeading(r.findings, r.findingCounts)}
${findingsTable(r.findings)}
<h2>Errors inside the periods (${periodErrors.length})</h2>
${findingsTable(periodErrors)}
</main></body></html>
`;
}
