/* global document, location, fetch, EventSource, Node */
/* exported bc */
'use strict';
/* Shared by the console's pages: the session, the CSRF token, DOM helpers (textContent only). */
const bc = {
  me: undefined,
  csrf: undefined,
  async init() {
    const r = await fetch('/api/me', { credentials: 'same-origin' });
    if (r.status === 401) { location.href = '/login'; throw new Error('not logged in'); }
    bc.me = await r.json();
    bc.csrf = (await (await fetch('/api/csrf', { credentials: 'same-origin' })).json()).token;
    const who = document.getElementById('who');
    if (who) who.textContent = `${bc.me.user} (${bc.me.role}) · session until ${new Date(bc.me.expires).toLocaleTimeString()}`;
    const audit = document.getElementById('audit-link');
    if (audit && bc.me.role !== 'admin') audit.remove();
    document.getElementById('logout')?.addEventListener('click', async () => {
      await bc.post('/api/logout', {});
      location.href = '/login';
    });
    return bc.me;
  },
  can(role) {
    const order = ['viewer', 'supervisor', 'admin'];
    return order.indexOf(bc.me.role) >= order.indexOf(role);
  },
  async get(url) {
    const r = await fetch(url, { credentials: 'same-origin' });
    if (r.status === 401) { location.href = '/login'; throw new Error('session expired'); }
    return r.json();
  },
  async post(url, body) {
    const r = await fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', 'csrf-token': bc.csrf }, body: JSON.stringify(body) });
    if (r.status === 401) { location.href = '/login'; throw new Error('session expired'); }
    return { status: r.status, body: await r.json() };
  },
  stream(query, handlers) {
    const es = new EventSource(`/api/stream${query}`);
    for (const [k, fn] of Object.entries(handlers)) es.addEventListener(k, (m) => fn(JSON.parse(m.data)));
    es.addEventListener('expired', () => { es.close(); location.href = '/login'; });
    es.onerror = async () => {
      // A stream refused (401 after expiry) or dropped: check the session before EventSource retries.
      const r = await fetch('/api/me', { credentials: 'same-origin' });
      if (r.status === 401) { es.close(); location.href = '/login'; }
    };
    return es;
  },
  el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    return e;
  },
  dur(s) {
    if (s === undefined || s === null) return '';
    s = Math.max(0, Math.round(s));
    return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
  },
  bytes(b) {
    if (b === undefined) return '';
    const u = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (b >= 1000 && i < u.length - 1) { b /= 1000; i++; }
    return `${b.toFixed(i ? 1 : 0)} ${u[i]}`;
  },
  ago(iso) {
    if (!iso) return 'never';
    const s = (Date.now() - Date.parse(iso)) / 1000;
    return s < 1 ? 'now' : `${bc.dur(s)} ago`;
  },
  /** The cells every camera view shows, as [label, class, text or node, warn?]. */
  cells(c) {
    const pause = c.state === 'PAUSED' ? `${c.pauseReason} · ${bc.dur(c.pauseLeftS)} left` : '';
    const budget = c.maxPausedS ? `${bc.dur(c.pausedS)} of ${bc.dur(c.maxPausedS)} used${c.pausesRefused ? `, ${c.pausesRefused} refused` : ''}` : '';
    const bat = c.battery ? `${c.battery.percent.toFixed(0)} %${c.battery.charging ? ' ⚡' : ''}${c.battery.runtimeMin !== undefined && c.battery.runtimeMin !== null ? ` · ~${Math.round(c.battery.runtimeMin)} min` : ''}${c.battery.short ? ' · SHORT' : ''}` : '—';
    const sto = c.storage ? `${bc.bytes(c.storage.freeBytes)} free${c.storage.awaitingShifts ? ` · ${c.storage.awaitingShifts} shift(s) ${bc.bytes(c.storage.awaitingBytes)} to offload` : ''}${c.storage.awaitingConfirmation ? ` · ${c.storage.awaitingConfirmation} unconfirmed` : ''}` : '—';
    const clock = c.clock ? `${c.clock.source}${c.clock.synced ? ' synced' : ' NOT synced'}${c.clockSkewS !== undefined && c.clockSkewS !== null ? ` · ${c.clockSkewS >= 0 ? '+' : ''}${c.clockSkewS.toFixed(1)} s` : ''}` : '—';
    const presence = c.dark ? 'ONLINE (dark)' : c.presence;
    return [
      ['Presence', `presence presence-${c.presence}`, presence, c.presence === 'LOST' || c.dark],
      ['Duty', `state state-${c.state}`, c.state + (c.startTrigger ? ` (${c.startTrigger})` : '') + (c.presence !== 'ONLINE' && c.state !== 'UNKNOWN' ? ' · last known' : '')],
      ['Pause', 'pause', pause, c.state === 'PAUSED'],
      ['Pause budget', 'budget', budget],
      ['Wearer', 'wearer', c.wearer ? `${c.wearer.name || ''} ${c.wearer.id}`.trim() : (c.state === 'RECORDING' || c.state === 'PAUSED' ? 'unassigned' : '')],
      ['Obstruction', 'obstruction', c.obstructions.map((o) => `${o.kind} since ${new Date(o.since).toLocaleTimeString()}`).join(', '), c.obstructions.length > 0],
      ['Battery', 'battery', bat, !!c.battery && c.battery.short],
      ['Storage', 'storage', sto],
      ['Clock', 'clock', clock, !!c.clock && !c.clock.synced],
      ['Last seen', 'seen', bc.ago(c.lastSeen)],
    ];
  },
};
