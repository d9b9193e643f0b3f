/* global document, window, location, history, URLSearchParams, setInterval */
/* global bc */
'use strict';
/* The fleet page: one row per camera, alerts on top, live from /api/stream. */
const cameras = new Map();
const alertsById = new Map();
// Heartbeat sequence numbers as they were drawn, with the time (tests measure the latency from it).
window.bodycamUpdates = [];
const group = () => document.getElementById('group').value;

function cameraRow(c) {
  const tr = bc.el('tr', { 'data-id': c.id, class: c.presence === 'LOST' ? 'lost' : c.presence === 'OFFLINE' ? 'offline' : '' },
    bc.el('td', {}, bc.el('a', { href: `/camera/${encodeURIComponent(c.id)}` }, c.id)),
    bc.el('td', { class: 'group' }, c.group || ''));
  for (const [, cls, text, warn] of bc.cells(c)) tr.append(bc.el('td', { class: `${cls}${warn ? ' warn' : ''}` }, text));
  return tr;
}

function drawCameras() {
  const body = document.querySelector('#fleet tbody');
  const g = group();
  const rows = [...cameras.values()].filter((c) => !g || c.group === g).sort((a, b) => a.id.localeCompare(b.id)).map(cameraRow);
  body.replaceChildren(...rows);
}

function alertRow(a) {
  const ack = a.ack
    ? bc.el('td', { class: 'ack' }, `${a.ack.by} at ${new Date(a.ack.at).toLocaleString()}: ${a.ack.note}`)
    : bc.el('td', { class: 'ack' }, bc.can('supervisor')
      ? bc.el('form', { class: 'ack-form', onsubmit: async (ev) => {
        ev.preventDefault();
        const note = ev.target.querySelector('input').value;
        const r = await bc.post(`/api/alerts/${a.id}/ack`, { note });
        if (r.status !== 200) document.getElementById('action-result').textContent = r.body.error;
      } }, bc.el('input', { name: 'note', placeholder: 'note (required)', required: true }), bc.el('button', { type: 'submit' }, 'Acknowledge'))
      : 'not yet');
  return bc.el('tr', { class: a.ack ? 'acked' : 'unacked', 'data-alert': a.id, 'data-kind': a.kind, 'data-device': a.deviceId },
    bc.el('td', {}, new Date(a.at).toLocaleString()), bc.el('td', {}, a.deviceId), bc.el('td', { class: 'title' }, a.title), bc.el('td', {}, a.detail), ack);
}

function drawAlerts() {
  const all = [...alertsById.values()];
  const by = (x, y) => y.at.localeCompare(x.at);
  const sorted = [...all.filter((a) => !a.ack).sort(by), ...all.filter((a) => a.ack).sort(by)].slice(0, 100);
  document.querySelector('#alerts tbody').replaceChildren(...sorted.map(alertRow));
}

async function team(action) {
  const g = group();
  const out = document.getElementById('action-result');
  if (!g) { out.textContent = 'choose a team first'; return; }
  const r = await bc.post(`/api/teams/${encodeURIComponent(g)}/duty`, { action });
  out.textContent = r.status === 200 ? `${r.body.command} sent to ${r.body.sent.join(', ')} (command ${r.body.id.slice(0, 12)})` : `refused: ${r.body.error}`;
}

/** schedule_duty for the chosen team; the page's local times are sent as UTC instants. */
async function schedule() {
  const g = group();
  const out = document.getElementById('action-result');
  if (!g) { out.textContent = 'choose a team first'; return; }
  const at = (elId) => { const v = document.getElementById(elId).value; const ms = Date.parse(v); return v && Number.isFinite(ms) ? new Date(ms).toISOString() : v; };
  const r = await bc.post(`/api/teams/${encodeURIComponent(g)}/schedule`, { start: at('schedule-start'), end: at('schedule-end') });
  out.textContent = r.status === 200 ? `schedule_duty ${r.body.start} → ${r.body.end} sent to ${r.body.sent.join(', ')} (command ${r.body.id.slice(0, 12)})` : `refused: ${r.body.error}`;
}

(async () => {
  await bc.init();
  const data = await bc.get('/api/fleet');
  const sel = document.getElementById('group');
  for (const g of data.groups) sel.append(bc.el('option', { value: g }, g));
  const want = new URLSearchParams(location.search).get('group');
  if (want) sel.value = want;
  sel.addEventListener('change', () => {
    history.replaceState(null, '', sel.value ? `/?group=${encodeURIComponent(sel.value)}` : '/');
    drawCameras();
  });
  if (bc.can('supervisor')) document.getElementById('team-actions').hidden = false;
  document.getElementById('start-duty').addEventListener('click', () => team('start'));
  document.getElementById('end-duty').addEventListener('click', () => team('end'));
  document.getElementById('schedule-duty').addEventListener('click', () => schedule());
  for (const c of data.cameras) cameras.set(c.id, c);
  for (const a of data.alerts) alertsById.set(a.id, a);
  drawCameras();
  drawAlerts();
  bc.stream('', {
    camera(c) {
      cameras.set(c.id, c);
      drawCameras();
      window.bodycamUpdates.push({ id: c.id, seq: c.heartbeatSeq, state: c.state, presence: c.presence, t: Date.now() });
    },
    alert(a) {
      alertsById.set(a.id, a);
      drawAlerts();
    },
  });
  // "Last seen" ages while nothing arrives.
  setInterval(drawCameras, 5000);
  document.body.dataset.ready = '1';
})();
