/* global document, location, history, URLSearchParams */
/* global bc, bcShifts */
'use strict';
/* Every camera's shifts (ingest's verdicts), newest first; filter by team. */
async function load() {
  const g = document.getElementById('group').value;
  const data = await bc.get(`/api/shifts${g ? `?group=${encodeURIComponent(g)}` : ''}`);
  document.getElementById('status').textContent = data.error || `${data.shifts.length} shift(s)`;
  document.querySelector('#shifts tbody').replaceChildren(...(data.shifts || []).map((s) => bcShifts.row(s, true)));
}

(async () => {
  await bc.init();
  const fleet = await bc.get('/api/fleet');
  const sel = document.getElementById('group');
  for (const g of fleet.groups) sel.append(bc.el('option', { value: g }, g));
  const want = new URLSearchParams(location.search).get('group');
  if (want) sel.value = want;
  sel.addEventListener('change', () => {
    history.replaceState(null, '', sel.value ? `/shifts?group=${encodeURIComponent(sel.value)}` : '/shifts');
    void load();
  });
  await load();
  document.body.dataset.ready = '1';
})();
