/* global document */
/* global bc */
/* exported bcTrack, bcShifts */
'use strict';
/* What the camera, shift and shifts pages share about shifts: a list row and the track drawing. */

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a global for the pages that load this script
const bcShifts = {
  /** One row of a shifts table: ingest's verdict, linked to the shift's page. */
  row(s, withCamera) {
    return bc.el('tr', { 'data-shift': s.shiftId, 'data-device': s.deviceId, 'data-verdict': s.verdict, class: `verdict-${s.verdict}` },
      bc.el('td', {}, bc.el('a', { href: `/shift/${encodeURIComponent(s.deviceId)}/${encodeURIComponent(s.shiftId)}` }, s.shiftId)),
      withCamera ? bc.el('td', {}, bc.el('a', { href: `/camera/${encodeURIComponent(s.deviceId)}` }, s.deviceId)) : undefined,
      bc.el('td', { class: 'verdict' }, s.open ? `${s.verdict} (open)` : s.verdict),
      bc.el('td', {}, s.summary + (s.reasons ? ` · ${s.reasons} reason(s)` : '')),
      bc.el('td', {}, s.verifiedThrough || '—'),
      bc.el('td', {}, s.verifiedAt ? new Date(s.verifiedAt).toLocaleString() : '—'));
  },
};

/*
 * A shift's GNSS track as inline SVG, built with createElementNS (no markup strings, no map tiles,
 * nothing fetched): positions projected on a local plane (longitude scaled by cos(latitude)), one
 * scale for both axes, north up. A record without a fix breaks the line and is not drawn as a
 * position (never an invented one).
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a global for the pages that load this script
const bcTrack = {
  svg(points, size = 360) {
    const NS = 'http://www.w3.org/2000/svg';
    const mk = (tag, attrs, text) => {
      const e = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
      if (text !== undefined) e.textContent = text;
      return e;
    };
    const fixed = points.filter((p) => p.lat !== null && p.lon !== null);
    const svg = mk('svg', { width: size, height: size, viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-label': 'GNSS track', class: 'track' });
    svg.append(mk('rect', { width: size, height: size, fill: '#f3f4f6' }));
    if (!fixed.length) {
      svg.append(mk('text', { x: 10, y: size / 2, class: 'tick' }, 'no position in this shift'));
      return svg;
    }
    const lat0 = fixed.reduce((s, p) => s + p.lat, 0) / fixed.length;
    const k = Math.cos((lat0 * Math.PI) / 180);
    const xs = fixed.map((p) => p.lon * k);
    const ys = fixed.map((p) => p.lat);
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const span = Math.max(maxX - minX, maxY - minY, 1e-6);
    const pad = 24;
    const scale = (size - 2 * pad) / span;
    const px = (p) => (pad + (p.lon * k - minX) * scale + ((size - 2 * pad) - (maxX - minX) * scale) / 2).toFixed(1);
    const py = (p) => (size - pad - (p.lat - minY) * scale - ((size - 2 * pad) - (maxY - minY) * scale) / 2).toFixed(1);
    let run = [];
    const flush = () => {
      if (run.length > 1) svg.append(mk('polyline', { points: run.join(' '), fill: 'none', stroke: '#00897b', 'stroke-width': 4, 'stroke-linejoin': 'round', 'stroke-linecap': 'round', class: 'track-line' }));
      else if (run.length === 1) { const [x, y] = run[0].split(','); svg.append(mk('circle', { cx: x, cy: y, r: 3, fill: '#00897b', class: 'track-line' })); }
      run = [];
    };
    let last;
    for (const p of points) {
      if (p.lat === null || p.lon === null) {
        flush();
        if (last) svg.append(mk('circle', { cx: px(last), cy: py(last), r: 6, fill: 'none', stroke: '#d81b60', 'stroke-width': 2, class: 'track-lost' }, undefined));
        continue;
      }
      run.push(`${px(p)},${py(p)}`);
      last = p;
    }
    flush();
    const first = fixed[0];
    const end = fixed[fixed.length - 1];
    svg.append(mk('circle', { cx: px(first), cy: py(first), r: 5, fill: '#1f2a37', class: 'track-start' }));
    svg.append(mk('rect', { x: Number(px(end)) - 5, y: Number(py(end)) - 5, width: 10, height: 10, fill: '#b00020', class: 'track-end' }));
    // The track's larger extent in metres (1° of latitude ≈ 111.2 km), as the verifier's report states it.
    const metres = span * 111_195;
    svg.append(mk('text', { x: 8, y: size - 8, class: 'tick', 'font-size': 11 }, `${metres >= 1000 ? `${(metres / 1000).toFixed(1)} km` : `${Math.round(metres)} m`} across · N up · ● start ■ end · ${fixed.length} of ${points.length} records with a fix`));
    return svg;
  },
};
