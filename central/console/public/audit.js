/* global document */
/* global bc */
'use strict';
/* The audit log (admins): newest first, with a check of its hash chain and signatures. */
(async () => {
  await bc.init();
  const { records, check } = await bc.get('/api/audit?n=1000');
  document.getElementById('check').textContent = `${check.records} records · hash chain ${check.chainOk ? 'intact' : `BROKEN at line ${check.brokenAt}`} · signatures ${check.signaturesOk ? 'valid' : 'INVALID'} · signed through #${check.lastSignedSeq} · head ${check.head.slice(0, 16)}…`;
  const skip = new Set(['seq', 'type', 'at', 'prev', 'user', 'console']);
  document.querySelector('#audit tbody').replaceChildren(...records.map((r) => bc.el('tr', { 'data-type': r.type },
    bc.el('td', {}, r.seq), bc.el('td', {}, r.at), bc.el('td', {}, r.type), bc.el('td', {}, r.user || ''),
    bc.el('td', {}, bc.el('code', {}, Object.entries(r).filter(([k]) => !skip.has(k)).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' '))))));
  document.body.dataset.ready = '1';
})();
