/* global document, location */
/* global bc */
'use strict';
/* One camera: its state (live), faults, alerts, recent events and command results. */
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

(async () => {
  await bc.init();
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
  document.body.dataset.ready = '1';
})();
