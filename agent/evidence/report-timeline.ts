/**
 * The drawings of the verify report page (agent/evidence/html-report.ts): the shift timeline as an
 * inline SVG with one lane each for recording, pauses by reason, gaps by cause, uncovered time,
 * events and obstruction; the GNSS track; and the legend naming every kind of mark drawn.
 */
import type { TimelineItem, VerifyReport } from './verify/report.js';
import { plain } from './verify/words.js';
import { esc, hms, hmsU } from './html-text.js';

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

export const pauseColour = (reason: string): string => PALETTE.pause[reason] ?? PALETTE.pause.other!;
export const gapColour = (cause: string): string => PALETTE.gap[cause] ?? PALETTE.gap.other!;

const W = 1100;
const LEFT = 120;
const RIGHT = 20;
const LANE_H = 34;
const LANES = ['Recording', 'Pauses', 'Gaps', 'Not covered', 'Events', 'Obstructed'] as const;
export const obstructedColour = (kind: string): string => PALETTE.obstructed[kind] ?? PALETTE.obstructed.other!;
/** Obstruction kinds overlap (a frozen picture with a silent microphone): one row each. */
const OBSTRUCTED_ROWS = ['covered', 'frozen', 'silent'];
/** Closest two event marks of one kind may be drawn (see timelineSvg). */
const EVENT_PX = 6;

export function timelineSvg(r: VerifyReport): string {
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
export function markName(t: TimelineItem): string {
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
export function trackSvg(r: VerifyReport): string {
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
export function legend(r: VerifyReport): string {
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
