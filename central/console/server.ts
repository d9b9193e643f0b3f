/**
 * The console's HTTPS front: Fastify with @fastify/cookie + @fastify/session (signed session
 * cookie, in-memory store, absolute expiry `sessionTtlS` after login), @fastify/csrf-protection
 * (every POST carries the session's token), @fastify/static (the pages and their scripts, all from
 * central/console/public: no external script, style, font or tile), @fastify/rate-limit (login
 * attempts per client address). Pages are static; they fetch
 * JSON and listen to `/api/stream` (server-sent events). Every route but the login page and its
 * script needs a session, and every route names the least role it needs (`config.role`), checked
 * here on the server: a hidden button is a convenience, not the control.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyStatic from '@fastify/static';
import fastifyRateLimit from '@fastify/rate-limit';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { createLogger } from '../../agent/lib/log.js';
import { describe } from '../../agent/lib/errors.js';
import { roleAtLeast, type Role, type UserStore } from './users.js';
import type { ConsoleConfig } from './config.js';
import type { Fleet } from './fleet.js';
import type { AlertStore } from './alerts.js';
import type { AuditLog } from './audit.js';
import { registerShiftRoutes, type ShiftStore } from './shifts.js';
import { registerActionRoutes } from './actions.js';
import { registerLiveView } from './live-view.js';

declare module 'fastify' {
  interface Session {
    user?: string;
    role?: Role;
    loginAt?: number;
  }
  interface FastifyContextConfig {
    /** Least role; absent = public (login page, its script, the CSRF token for the login form). */
    role?: Role;
  }
}

const log = createLogger('console.http');
/** central/console/public of this checkout (dist/central/console/ → ../../../central/console/public). */
const PUBLIC = fileURLToPath(new URL('../../../central/console/public/', import.meta.url));
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

interface Deps {
  readonly cfg: ConsoleConfig;
  readonly users: UserStore;
  readonly fleet: Fleet;
  readonly alerts: AlertStore;
  readonly audit: AuditLog;
  /** Payload hashes of the commands sent: the service audits their results. */
  readonly sent: Set<string>;
  /** The evidence store (config `s3`), when configured. */
  readonly shifts: ShiftStore | undefined;
}

interface StreamClient {
  readonly res: ServerResponse;
  readonly expiresAt: number;
  readonly group: string | undefined;
  readonly user: string;
}

export async function buildServer(d: Deps): Promise<FastifyInstance> {
  const { cfg, users, fleet, alerts, audit } = d;
  const app = Fastify({ https: { cert: cfg.tlsCert, key: cfg.tlsKey }, logger: false, bodyLimit: 16 * 1024 });
  const ttlMs = cfg.sessionTtlS * 1000;

  // A fresh secret per start: a restart ends every session (log in again); see docs for several instances.
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: randomBytes(32).toString('base64'),
    cookieName: 'bodycam_console',
    saveUninitialized: false,
    rolling: false,
    cookie: { secure: true, httpOnly: true, sameSite: 'strict', path: '/', maxAge: ttlMs },
  });
  await app.register(fastifyCsrf, { sessionPlugin: '@fastify/session' });
  await app.register(fastifyStatic, { root: PUBLIC, serve: false });
  await app.register(fastifyRateLimit, { global: false });

  const expiresAt = (req: FastifyRequest): number => (req.session.loginAt ?? 0) + ttlMs;

  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
    return payload;
  });

  // Authentication and role, before anything else runs (CSRF included).
  app.addHook('preHandler', async (req, reply) => {
    const need = req.routeOptions.config.role;
    if (need === undefined) return;
    const s = req.session;
    const isPage = req.method === 'GET' && !req.url.startsWith('/api/') && !req.url.startsWith('/static/');
    if (!s.user || !s.role || !s.loginAt || Date.now() >= expiresAt(req)) {
      if (s.user) {
        audit.append('session_expired', { user: s.user, login_at: new Date(s.loginAt ?? 0).toISOString() });
        await s.destroy();
      }
      if (isPage) return reply.redirect('/login');
      return reply.code(401).send({ error: 'not logged in (or the session expired)' });
    }
    if (!roleAtLeast(s.role, need)) {
      audit.append('forbidden', { user: s.user, role: s.role, need, method: req.method, url: req.url });
      return reply.code(403).send({ error: `needs role ${need}; ${s.user} is ${s.role}` });
    }
  });

  const csrf = { onRequest: app.csrfProtection };
  const page = (file: string, role: Role | undefined) => ({ config: role ? { role } : {}, handler: (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/html; charset=utf-8').sendFile(file) });
  const VIEWER = { config: { role: 'viewer' as Role } };
  const SUPERVISOR = { config: { role: 'supervisor' as Role } };

  // --- pages and their assets ---
  app.get('/login', page('login.html', undefined));
  app.get('/', page('fleet.html', 'viewer'));
  app.get('/camera/:id', page('camera.html', 'viewer'));
  app.get('/audit', page('audit.html', 'admin'));
  const PUBLIC_ASSETS = new Set(['login.js', 'style.css']);
  const ASSETS = new Set([...PUBLIC_ASSETS, 'common.js', 'fleet.js', 'camera.js', 'audit.js', 'live-view.js']);
  for (const f of ASSETS) {
    app.get(`/static/${f}`, { config: PUBLIC_ASSETS.has(f) ? {} : { role: 'viewer' } }, (_req, reply) => reply.type(f.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8').sendFile(f));
  }

  // --- session ---
  app.get('/api/csrf', async (_req, reply) => ({ token: await reply.generateCsrf() }));
  // Guessing passwords costs a minute per `loginPerMinute` tries from one address.
  const loginLimit = {
    max: cfg.loginPerMinute,
    timeWindow: 60_000,
    onExceeded: (req: FastifyRequest) => audit.append('login_throttled', { ip: req.ip }),
  };
  app.post<{ Body: { name?: unknown; password?: unknown } }>('/api/login', { ...csrf, config: { rateLimit: loginLimit } }, async (req, reply) => {
    const name = typeof req.body?.name === 'string' ? req.body.name : '';
    const password = typeof req.body?.password === 'string' ? req.body.password : '';
    const u = name && password ? await users.authenticate(name, password) : undefined;
    if (!u) {
      audit.append('login_failed', { user: name.slice(0, 64), ip: req.ip });
      log.warn('login refused', { user: name.slice(0, 64), ip: req.ip });
      return reply.code(401).send({ error: 'wrong name or password' });
    }
    // A new session id at login: a session planted before it is worth nothing after.
    await req.session.regenerate();
    req.session.user = u.name;
    req.session.role = u.role;
    req.session.loginAt = Date.now();
    audit.append('login', { user: u.name, role: u.role, ip: req.ip, expires: new Date(expiresAt(req)).toISOString() });
    return { user: u.name, role: u.role, expires: new Date(expiresAt(req)).toISOString() };
  });
  app.post('/api/logout', { ...VIEWER, ...csrf }, async (req) => {
    audit.append('logout', { user: req.session.user });
    await req.session.destroy();
    return { ok: true };
  });
  app.get('/api/me', VIEWER, async (req) => ({ user: req.session.user, role: req.session.role, expires: new Date(expiresAt(req)).toISOString(), instance: cfg.instance, broker: fleet.isConnected }));

  // --- fleet ---
  app.get<{ Querystring: { group?: string } }>('/api/fleet', VIEWER, async (req) => ({
    cameras: fleet.list(req.query.group || undefined),
    groups: fleet.groups(),
    alerts: alerts.list().slice(0, 200),
  }));
  app.get<{ Params: { id: string } }>('/api/camera/:id', VIEWER, async (req, reply) => {
    const c = fleet.camera(req.params.id);
    if (!c) return reply.code(404).send({ error: `no camera '${req.params.id}' seen` });
    return { camera: c, events: fleet.eventsOf(c.id), results: fleet.resultsOf(c.id), alerts: alerts.list(c.id) };
  });

  // --- live updates (server-sent events) ---
  const clients = new Set<StreamClient>();
  const push = (event: string, data: unknown, group?: string): void => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    const now = Date.now();
    for (const c of clients) {
      // An expired session's stream ends: the page reloads and lands on the login page.
      if (now >= c.expiresAt) {
        audit.append('session_expired', { user: c.user, expired: new Date(c.expiresAt).toISOString() });
        c.res.end('event: expired\ndata: {}\n\n');
        clients.delete(c);
        continue;
      }
      if (group !== undefined && c.group !== undefined && c.group !== group) continue;
      c.res.write(frame);
    }
  };
  fleet.on('camera', (c) => push('camera', c, c.group ?? ''));
  fleet.on('event', (id, e) => push('event', { id, event: e }));
  fleet.on('result', (id, r) => push('result', { id, result: r }));
  alerts.on('alert', (a) => push('alert', a));
  const keepalive = setInterval(() => push('ping', { at: new Date().toISOString() }), 15_000);
  keepalive.unref();
  app.get<{ Querystring: { group?: string } }>('/api/stream', VIEWER, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.write('retry: 2000\n\n');
    const client: StreamClient = { res, expiresAt: expiresAt(req), group: req.query.group || undefined, user: req.session.user! };
    clients.add(client);
    // The page learns of the expiry when it happens, not at the next camera update.
    const expiry = setTimeout(() => push('ping', { at: new Date().toISOString() }), Math.max(0, client.expiresAt - Date.now()) + 50);
    req.raw.on('close', () => {
      clearTimeout(expiry);
      clients.delete(client);
    });
  });
  app.addHook('onClose', async () => {
    clearInterval(keepalive);
    for (const c of clients) c.res.end();
    clients.clear();
  });

  // --- alerts ---
  app.post<{ Params: { id: string }; Body: { note?: unknown } }>('/api/alerts/:id/ack', { ...SUPERVISOR, ...csrf }, async (req, reply) => {
    const note = typeof req.body?.note === 'string' ? req.body.note.trim().slice(0, 1000) : '';
    if (!note) return reply.code(400).send({ error: 'a note is required' });
    const existing = alerts.get(req.params.id);
    if (!existing) return reply.code(404).send({ error: 'no such alert' });
    const a = alerts.ack(req.params.id, req.session.user!, note);
    if (!a) return reply.code(409).send({ error: `already acknowledged by ${existing.ack?.by ?? '?'}` });
    audit.append('alert_ack', { user: a.ack!.by, alert: a.id, kind: a.kind, device: a.deviceId, title: a.title, note, raised: a.at });
    return a;
  });

  // --- shifts (ingest's results through the console) and actions (signed commands): their own modules ---
  registerShiftRoutes(app, { store: d.shifts, audit, members: (g) => fleet.members(g) });
  registerActionRoutes(app, { cfg, fleet, audit, sent: d.sent });

  // --- live view (central/console/live-view.ts), when a gateway is configured ---
  if (cfg.liveView) registerLiveView(app, { cfg: { ...cfg, liveView: cfg.liveView }, fleet, audit, sent: d.sent, csrf });

  // --- audit (admins) ---
  app.get<{ Querystring: { n?: string } }>('/api/audit', { config: { role: 'admin' } }, async (req) => audit.read(Math.min(Number(req.query.n) || 500, 5000)));

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (code >= 500) log.error('request failed', { url: req.url, error: describe(err) });
    void reply.code(code).send({ error: code >= 500 ? 'internal error' : err.message });
  });
  return app;
}
