/* global document, location */
/* global bc, bcShifts, bcTrack */
'use strict';
/* One camera: its state (live), actions (supervisors), shifts and the newest shift's track, faults, alerts, recent events and command results. */
const id = decodeURIComponent(location.pathname.split('/').pop());
let cam;
let events = [];
let results = [];
let alerts = [];

const detail = (f) => Object.entries(f).filter(([k]) => !['journal_hash'].includes(k)).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');

function draw() {
  document.getElementById('title').textContent = `Camera ${id}`;
  const kv = [['Team', 'group', cam.group || '—'], ...bc.cells(cam), ['Shift', 'shift', cam.shiftId || '—'], ['Firmware', 'fw', `${cam.firmware} on ${cam.board}`],
    ['Last heartbeat', 'hb', cam.heartbeatAt ? `#${cam.heartbeatSeq} at ${cam.heartbeatAt}` : '—'],
    ['Position', 'pos', cam.location ? `${cam.location.lat.toFixed(5)}, ${cam.location.lon.toFixed(5)} (${Math.round(cam.location.ageS)} s old)` : '—']];
  document.getElementById('state').replaceChildren(...kv.flatMap(([k, cls, v, warn]) => [bc.el('dt', {}, k), bc.el('dd', { class: `${cls}${warn ? ' warn' : ''}` }, v)]));
  document.getElementById('faults').replaceChildren(...(cam.faults.length ? cam.faults.map((f) => bc.el('li', {}, `${f.name}: ${f.detail}`)) : [bc.el('li', { class: 'muted' }, 'none')]));
  document.querySelector('#alerts tbody').replaceChildren(...alerts.map((a) => bc.el('tr', { class: a.ack ? 'acked' : 'unacked' },
    bc.el('td', {}, new Date(a.at).toLocaleString()), bc.el('td', {}, a.title), bc.el('td', {}, a.detail), bc.el('td', {}, a.ack ? `${a.ack.by}: ${a.ack.note}` : 'not yet'))));
  document.querySelector('#events tbody').replaceChildren(...events.slice(0, 50).map((e) => bc.el('tr', { 'data-kind': e.kind },
    bc.el('td', {}, e.seq), bc.el('td', {}, e.at), bc.el('td', {}, e.type || e.kind), bc.el('td', {}, e.shiftId), bc.el('td', {}, bc.el('code', {}, detail(e.fields))))));
  document.querySelector('#results tbody').replaceChildren(...results.map((r) => bc.el('tr', {},
    bc.el('td', {}, new Date(r.at).toLocaleString()), bc.el('td', {}, r.accepted ? 'yes' : 'no'), bc.el('td', {}, r.reason), bc.el('td', {}, bc.el('code', {}, r.payloadSha256.slice(0, 16))))));
}

async function shifts() {
  const data = await bc.get(`/api/shifts?device=${encodeURIComponent(id)}`);
  const body = document.querySelector('#shifts tbody');
  if (data.error) { body.replaceChildren(bc.el('tr', {}, bc.el('td', { colspan: 5, class: 'muted' }, data.error))); return; }
  body.replaceChildren(...(data.shifts.length ? data.shifts.map((s) => bcShifts.row(s, false)) : [bc.el('tr', {}, bc.el('td', { colspan: 5, class: 'muted' }, 'no shift of this camera in the evidence store yet'))]));
  // The newest ended shift's track (an open shift's report has none yet).
  const ended = data.shifts.find((s) => !s.open);
  if (!ended) { document.getElementById('track').replaceChildren(bc.el('p', { class: 'muted' }, 'no ended shift yet')); return; }
  const t = await bc.get(`/api/shifts/${encodeURIComponent(id)}/${encodeURIComponent(ended.shiftId)}/track`);
  document.getElementById('track-title').textContent = `Track of shift ${ended.shiftId}`;
  document.getElementById('track').replaceChildren(t.error ? bc.el('p', { class: 'error' }, t.error) : bcTrack.svg(t.track));
}

/** The camera's actions: the server checks the role and the values; this only sends them. */
function actions() {
  if (!bc.can('supervisor')) return;
  document.getElementById('camera-actions').hidden = false;
  const out = document.getElementById('camera-action-result');
  const say = (r) => { out.textContent = r.status === 200 ? `${r.body.command} sent (command ${r.body.id.slice(0, 12)})` : `refused: ${r.body.error}`; out.className = r.status === 200 ? '' : 'error'; };
  document.getElementById('wearer-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say(await bc.post(`/api/camera/${encodeURIComponent(id)}/wearer`, { wearerId: document.getElementById('wearer-id').value, name: document.getElementById('wearer-name').value }));
  });
  document.getElementById('policy-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say(await bc.post(`/api/camera/${encodeURIComponent(id)}/policy`, { values: { [document.getElementById('policy-name').value.trim()]: document.getElementById('policy-value').value } }));
  });
}

(async () => {
  await bc.init();
  actions();
  const data = await bc.get(`/api/camera/${encodeURIComponent(id)}`);
  if (data.error) { document.querySelector('main').replaceChildren(bc.el('p', { class: 'error' }, data.error)); return; }
  ({ camera: cam, events, results, alerts } = data);
  draw();
  bc.stream('', {
    camera(c) { if (c.id === id) { cam = c; draw(); } },
    event(m) { if (m.id === id) { events.unshift(m.event); draw(); } },
    result(m) { if (m.id === id) { results.unshift(m.result); draw(); } },
    alert(a) { if (a.deviceId === id) { alerts = [a, ...alerts.filter((x) => x.id !== a.id)]; draw(); } },
  });
  await shifts();
  document.body.dataset.ready = '1';
})();
