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

/** Colours are part of the page's contract: the screenshot test looks for them. */
export const PALETTE = {
  verdict: { intact: '#1e7b34', tampered: '#c62828', incomplete: '#c77700' },
  media: '#2f6fb5',
  pause: { PERSONAL_NEEDS: '#8e44ad', SENSITIVE_SITE: '#e67e22', other: '#d81b60' } as Record<string, string>,
  gap: {
    encoder_start: '#9aa7b0',
    encoder_stop: '#9aa7b0',
    encoder_crash: '#8d5524',
    encoder_stall: '#b58b62',
    agent_restart: '#e64a19',
    power_loss: '#5d4037',
    agent_stopped: '#78909c',
    camera_lost: '#6a1b9a',
    storage_full: '#37474f',
    other: '#607d8b',
  } as Record<string, string>,
  hole: '#111111',
  unsealed: '#f9c74f',
  unsigned: '#c77700',
  fault: '#d50000',
  gesture: '#263238',
  signature: '#1e7b34',
  recovery: '#ff6f00',
  degrade: '#795548',
  /** Obstructed lane (agent/obstruction): per kind. */
  obstructed: { covered: '#4a148c', frozen: '#00838f', silent: '#ad1457', other: '#5d4037' } as Record<string, string>,
  refusedPause: '#b71c1c',
  /** A segment whose file differs from its record (drawn over the recording). */
  altered: '#ff1744',
  /** A segment file gone, or a record lost on a damaged journal line. */
  missing: '#7f0000',
  track: '#00897b',
  trackLost: '#d81b60',
} as const;

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const fmtS = (s: number): string => {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - m * 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
};
const hms = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
/** Every time a person reads is labelled: the journal's clock is UTC. */
const hmsU = (ms: number): string => `${hms(ms)} UTC`;
const utc = (iso: string | null): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC` : '?');

const pauseColour = (reason: string): string => PALETTE.pause[reason] ?? PALETTE.pause.other!;
const gapColour = (cause: string): string => PALETTE.gap[cause] ?? PALETTE.gap.other!;

const W = 1100;
const LEFT = 120;
const RIGHT = 20;
const LANE_H = 34;
const LANES = ['Recording', 'Pauses', 'Gaps', 'Not covered', 'Events', 'Obstructed'] as const;
const obstructedColour = (kind: string): string => PALETTE.obstructed[kind] ?? PALETTE.obstructed.other!;
/** Obstruction kinds overlap (a frozen picture with a silent microphone): one row each. */
const OBSTRUCTED_ROWS = ['covered', 'frozen', 'silent'];
/** Closest two event marks of one kind may be drawn (see timelineSvg). */
const EVENT_PX = 6;

function timelineSvg(r: VerifyReport): string {
  const t0 = r.start ? Date.parse(r.start) : Math.min(...r.timeline.map((t) => t.start));
  let t1 = r.end ? Date.parse(r.end) : Math.max(...r.timeline.map((t) => t.end));
  for (const t of r.timeline) t1 = Math.max(t1, t.end);
  const span = Math.max(1, t1 - t0);
  const x = (ms: number): number => LEFT + ((ms - t0) / span) * (W - LEFT - RIGHT);
  const H = 30 + LANES.length * LANE_H + 30;
  const laneY = (i: number): number => 20 + i * LANE_H;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="shift timeline">`);
  LANES.forEach((name, i) => {
    parts.push(`<rect x="${LEFT}" y="${laneY(i) + 4}" width="${W - LEFT - RIGHT}" height="${LANE_H - 8}" fill="#f3f4f6"/>`);
    parts.push(`<text x="${LEFT - 8}" y="${laneY(i) + LANE_H / 2 + 4}" text-anchor="end" class="lane">${name}</text>`);
  });
  /** `row` of `rows`: kinds that may overlap (obstructions) share a lane in thin rows. */
  const bar = (t: TimelineItem, lane: number, colour: string, cls: string, row = 0, rows = 1): string => {
    const x0 = x(t.start);
    const w = Math.max(2, x(t.end) - x0);
    const h = (LANE_H - 8) / rows;
    const title = `${markName(t)}: ${hms(t.start)}–${hmsU(t.end)} (${((t.end - t.start) / 1000).toFixed(1)} s)${t.line ? ` · journal line ${t.line}` : ''}`;
    return `<rect class="${cls}" data-label="${esc(t.label)}" x="${x0.toFixed(1)}" y="${(laneY(lane) + 4 + row * h).toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${colour}"><title>${esc(title)}</title></rect>`;
  };
  // Contiguous segments are drawn as one bar (an 8-hour shift has ~14 000 of them).
  let run: TimelineItem | undefined;
  let runCount = 0;
  const flush = (): void => {
    if (run) parts.push(bar({ ...run, label: runCount > 1 ? `${runCount} segments from ${run.label}` : run.label }, 0, PALETTE.media, 'media'));
    run = undefined;
    runCount = 0;
  };
  for (const t of r.timeline) {
    if (t.kind !== 'media') continue;
    if (run && t.start - run.end <= 50) {
      run = { ...run, end: Math.max(run.end, t.end) };
      runCount++;
    } else {
      flush();
      run = t;
      runCount = 1;
    }
  }
  flush();
  for (const t of r.timeline) {
    if (t.kind === 'media') continue;
    if (t.kind === 'pause') parts.push(bar(t, 1, pauseColour(t.label), 'pause'));
    else if (t.kind === 'gap') parts.push(bar(t, 2, gapColour(t.label), 'gap'));
    else if (t.kind === 'hole') parts.push(bar(t, 3, PALETTE.hole, 'hole'));
    else if (t.kind === 'unsealed') parts.push(bar(t, 3, PALETTE.unsealed, 'unsealed'));
    else if (t.kind === 'altered') parts.push(bar(t, 0, PALETTE.altered, 'altered'));
    else if (t.kind === 'missing') parts.push(bar(t, 0, PALETTE.missing, 'missing'));
    else if (t.kind === 'obstructed') parts.push(bar(t, 5, obstructedColour(t.label), 'obstructed', Math.max(0, OBSTRUCTED_ROWS.indexOf(t.label)), OBSTRUCTED_ROWS.length));
  }
  // Everything after the last valid signature is unauthenticated: hatch it across all lanes.
  const signedAt = r.timeline.find((t) => t.kind === 'signature' && t.line === r.journal.signedThroughLine)?.start;
  if (r.journal.unsignedTail > 0) {
    const from = signedAt !== undefined ? x(signedAt) : LEFT;
    parts.push(
      `<defs><pattern id="unsigned" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="8" fill="${PALETTE.unsigned}" fill-opacity="0.55"/></pattern></defs>` +
        `<rect class="unsigned" x="${from.toFixed(1)}" y="${laneY(0)}" width="${Math.max(2, W - RIGHT - from).toFixed(1)}" height="${LANES.length * LANE_H}" fill="url(#unsigned)"><title>${r.journal.unsignedTail} record(s) after the last valid signature: not authenticated</title></rect>`,
    );
  }
  const y4 = laneY(4);
  // Events of one kind less than EVENT_PX apart are one mark whose title counts them: a 12-hour
  // shift signed every 30 s has ~1,400 signatures on ~1,000 px, an unreadable solid band.
  const groups: Array<{ t: TimelineItem; last: TimelineItem; n: number }> = [];
  const openGroup = new Map<string, { t: TimelineItem; last: TimelineItem; n: number }>();
  for (const t of r.timeline) {
    const g = openGroup.get(t.kind);
    if (g && x(t.start) - x(g.t.start) < EVENT_PX) {
      g.last = t;
      g.n++;
    } else {
      const ng = { t, last: t, n: 1 };
      openGroup.set(t.kind, ng);
      groups.push(ng);
    }
  }
  for (const { t, last, n } of groups) {
    const cx = x(t.start).toFixed(1);
    const what = n === 1
      ? `${markName(t)} at ${hmsU(t.start)}${t.line ? ` · journal line ${t.line}` : ''}`
      : `${n} × ${t.kind} ${hms(t.start)}–${hmsU(last.start)}${t.line ? ` · journal lines ${t.line}–${last.line}` : ''}`;
    const title = `<title>${esc(what)}</title>`;
    if (t.kind === 'fault') parts.push(`<path class="fault" d="M${cx} ${y4 + 6} l7 20 h-14 z" fill="${PALETTE.fault}">${title}</path>`);
    else if (t.kind === 'gesture') parts.push(`<circle class="gesture" cx="${cx}" cy="${y4 + LANE_H / 2}" r="5" fill="${PALETTE.gesture}">${title}</circle>`);
    else if (t.kind === 'signature') parts.push(`<rect class="signature" x="${Number(cx) - 1}" y="${y4 + 4}" width="2" height="${LANE_H - 8}" fill="${PALETTE.signature}">${title}</rect>`);
    else if (t.kind === 'recovery' || t.kind === 'degrade') parts.push(`<rect class="${t.kind}" x="${Number(cx) - 4}" y="${y4 + 12}" width="8" height="8" fill="${PALETTE[t.kind]}">${title}</rect>`);
  }
  // Pauses the budget refused: a cross in the events lane (recording went on).
  for (const rp of r.pauseBudget?.refused ?? []) {
    const at = Date.parse(rp.at);
    if (!Number.isFinite(at)) continue;
    const cx = x(at);
    const title = `<title>${esc(`pause ${rp.reason ?? ''} refused: budget ${rp.budget} at ${hmsU(at)} · journal line ${rp.line}`)}</title>`;
    parts.push(`<path class="refused-pause" d="M${(cx - 5).toFixed(1)} ${y4 + 7} l10 10 m0 -10 l-10 10" stroke="${PALETTE.refusedPause}" stroke-width="3">${title}</path>`);
  }
  // Time axis: about eight ticks at round intervals.
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * 1000);
  const step = steps.find((s) => span / s <= 8) ?? 3600_000 * 4;
  const axisY = laneY(LANES.length) + 4;
  parts.push(`<line x1="${LEFT}" y1="${axisY}" x2="${W - RIGHT}" y2="${axisY}" stroke="#555"/>`);
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="${axisY}" x2="${x(t).toFixed(1)}" y2="${axisY + 5}" stroke="#555"/><text x="${x(t).toFixed(1)}" y="${axisY + 18}" text-anchor="middle" class="tick">${hms(t)}</text>`);
  }
  parts.push(`<text x="${LEFT - 30}" y="${axisY + 18}" text-anchor="end" class="tick">time (UTC)</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** What a timeline item is, in words: `gap: camera starting up`. */
function markName(t: TimelineItem): string {
  switch (t.kind) {
    case 'media':
      return `recording ${t.label}`;
    case 'pause':
      return plain(t.label);
    case 'gap':
      return `gap: ${plain(t.label)}`;
    case 'hole':
      return 'not covered by any record';
    case 'fault':
      return `fault: ${plain(t.label)}`;
    case 'gesture':
      return `button: ${t.label}`;
    case 'signature':
      return `signature (${t.label})`;
    case 'obstructed':
      return `obstructed: ${t.label}`;
    case 'altered':
    case 'missing':
    case 'unsealed':
      return `${t.kind}: ${t.label}`;
    default:
      return `${plain(t.kind)}: ${plain(t.label)}`;
  }
}

/**
 * The shift's `location` records as a polyline on a plain local projection (no map tiles: the
 * page loads nothing). A stretch without a fix breaks the line; where the fix was lost and where
 * it came back are marked.
 */
function trackSvg(r: VerifyReport): string {
  const pts = r.track ?? [];
  const fixed = pts.filter((p) => p.lat !== null && p.lon !== null);
  if (fixed.length === 0) return '';
  const S = 360;
  const PAD = 24;
  const lat0 = fixed.reduce((a, p) => a + p.lat!, 0) / fixed.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = fixed.map((p) => p.lon! * k);
  const ys = fixed.map((p) => p.lat!);
  const minX = Math.min(...xs);
  const minY = Math.min(...ys);
  // One scale for both axes (shapes are not distorted); a track standing still is a dot.
  const spanX = Math.max(...xs) - minX;
  const spanY = Math.max(...ys) - minY;
  const span = Math.max(spanX, spanY, 1e-6);
  // The narrower axis is centred (a walk straight north is a vertical line in the middle).
  const px = (lon: number): number => PAD + ((lon * k - minX + (span - spanX) / 2) / span) * (S - 2 * PAD);
  const py = (lat: number): number => S - PAD - ((lat - minY + (span - spanY) / 2) / span) * (S - 2 * PAD);
  const metres = span * 111_195;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}" viewBox="0 0 ${S} ${S}" role="img" aria-label="track"><rect width="${S}" height="${S}" fill="#f3f4f6"/>`];
  let line: string[] = [];
  const flush = (): void => {
    if (line.length > 1) parts.push(`<polyline class="track" points="${line.join(' ')}" fill="none" stroke="${PALETTE.track}" stroke-width="5" stroke-linejoin="round" stroke-linecap="round"/>`);
    else if (line.length === 1) parts.push(`<circle class="track" cx="${line[0]!.split(',')[0]}" cy="${line[0]!.split(',')[1]}" r="4" fill="${PALETTE.track}"/>`);
    line = [];
  };
  let prev: (typeof pts)[number] | undefined;
  for (const p of pts) {
    if (p.lat === null || p.lon === null) {
      flush();
      if (prev && prev.lat !== null && prev.lon !== null) {
        parts.push(`<circle class="track-lost" cx="${px(prev.lon).toFixed(1)}" cy="${py(prev.lat).toFixed(1)}" r="7" fill="none" stroke="${PALETTE.trackLost}" stroke-width="3"><title>${esc(`no fix (${p.cause ?? '?'}) from journal line ${p.line}`)}</title></circle>`);
      }
    } else line.push(`${px(p.lon).toFixed(1)},${py(p.lat).toFixed(1)}`);
    prev = p;
  }
  flush();
  parts.push(`<text x="8" y="${S - 8}" class="tick">${metres >= 1000 ? `${(metres / 1000).toFixed(1)} km` : `${Math.round(metres)} m`} across · N up</text></svg>`);
  return parts.join('');
}

/** One entry per kind of mark the timeline can hold; `data-mark` is the mark's class in the SVG. */
function legend(r: VerifyReport): string {
  const items: [string, string, string][] = [['media', 'recording', PALETTE.media]];
  const has = (k: string): boolean => r.timeline.some((t) => t.kind === k);
  const reasons = new Set(r.timeline.filter((t) => t.kind === 'pause').map((t) => t.label));
  const causes = new Set(r.timeline.filter((t) => t.kind === 'gap').map((t) => t.label));
  for (const p of new Set(['PERSONAL_NEEDS', 'SENSITIVE_SITE', ...reasons])) items.push([`pause:${p}`, plain(p), pauseColour(p)]);
  for (const c of causes) items.push([`gap:${c}`, `gap: ${plain(c)}`, gapColour(c)]);
  items.push(['hole', 'not covered by any record', PALETTE.hole]);
  if (has('altered')) items.push(['altered', 'segment altered', PALETTE.altered]);
  if (has('missing')) items.push(['missing', 'segment missing or its record damaged', PALETTE.missing]);
  if (has('unsealed')) items.push(['unsealed', 'unsealed (never journaled)', PALETTE.unsealed]);
  if (r.journal.unsignedTail > 0) items.push(['unsigned', 'not authenticated (hatched)', PALETTE.unsigned]);
  items.push(['fault', 'fault ▲', PALETTE.fault], ['gesture', 'button press ●', PALETTE.gesture], ['signature', 'signature |', PALETTE.signature]);
  if (has('recovery')) items.push(['recovery', 'recovery after a crash ■', PALETTE.recovery]);
  if (has('degrade')) items.push(['degrade', 'recording degraded ■', PALETTE.degrade]);
  for (const k of new Set(r.timeline.filter((t) => t.kind === 'obstructed').map((t) => t.label))) items.push([`obstructed:${k}`, `obstructed: ${k}`, obstructedColour(k)]);
  if (r.pauseBudget?.refused.length) items.push(['refused-pause', 'refused pause ✕', PALETTE.refusedPause]);
  return items.map(([m, n, c]) => `<span class="sw" data-mark="${esc(m)}"><i style="background:${c}"></i>${esc(n)}</span>`).join(' ');
}

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
