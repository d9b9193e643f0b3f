/* global document, fetch, location */
'use strict';
document.getElementById('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = document.getElementById('error');
  err.textContent = '';
  try {
    const { token } = await (await fetch('/api/csrf', { credentials: 'same-origin' })).json();
    const r = await fetch('/api/login', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'csrf-token': token },
      body: JSON.stringify({ name: document.getElementById('name').value, password: document.getElementById('password').value }),
    });
    if (r.ok) { location.href = '/'; return; }
    const body = await r.json();
    err.textContent = r.status === 429 ? 'too many attempts: wait a minute' : body.error || `refused (${r.status})`;
  } catch (e) {
    err.textContent = String(e);
  }
});
