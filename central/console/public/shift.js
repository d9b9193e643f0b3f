/* global document, location */
/* global bc, bcTrack */
'use strict';
/* One shift: ingest's verdict, the verifier's summary and reasons, its track, a link to the timeline. */
const [dev, shift] = location.pathname.split('/').slice(2).map(decodeURIComponent);

(async () => {
  await bc.init();
  document.getElementById('title').textContent = `Shift ${shift}`;
  const cam = document.getElementById('camera-link');
  cam.textContent = `camera ${dev}`;
  cam.href = `/camera/${encodeURIComponent(dev)}`;
  const data = await bc.get(`/api/shifts/${encodeURIComponent(dev)}/${encodeURIComponent(shift)}`);
  if (data.error) { document.querySelector('main').replaceChildren(bc.el('p', { class: 'error' }, data.error)); document.body.dataset.ready = '1'; return; }
  const { summary: s, report } = data;
  const rep = report.report || {};
  const kv = [['Camera', dev], ['Verdict', s.open ? `${s.verdict} (open)` : s.verdict], ['Summary', s.summary], ['Verified through', report.verifiedThrough || '—'],
    ['Decided', s.verifiedAt || '—'], ['Start', rep.start || '—'], ['End', rep.end || '—'], ['Signing key', rep.keyId || '—']];
  document.getElementById('verdict').replaceChildren(...kv.flatMap(([k, v]) => [bc.el('dt', {}, k), bc.el('dd', { class: k === 'Verdict' ? `verdict verdict-${s.verdict}` : '' }, v)]));
  const reasons = report.reasons || [];
  document.getElementById('reasons').replaceChildren(...(reasons.length ? reasons.map((r) => bc.el('li', {}, `${r.kind}${r.where ? ` at ${r.where}` : ''}: ${r.message}`)) : [bc.el('li', { class: 'muted' }, 'none')]));
  const link = document.getElementById('timeline-link');
  if (s.open) link.replaceWith(bc.el('span', { class: 'muted' }, 'no timeline while the shift is open'));
  else link.href = `/shift/${encodeURIComponent(dev)}/${encodeURIComponent(shift)}/timeline`;
  document.getElementById('track').replaceChildren(bcTrack.svg(rep.track || []));
  document.body.dataset.ready = '1';
})();
