/**
 * Live view from the console (docs/live-view.md). A supervisor asks for one camera with a reason;
 * the console — and only the console, which holds Janus's api_secret and the streaming plugin's
 * admin key — opens a Janus session, a private mountpoint with a random pin for this one view,
 * sends the camera a signed live_view_start naming that mountpoint's RTP port, and hands the
 * browser Janus's SDP offer; the browser answers through the console. The viewer is the logged-in
 * user, the reason theirs; both go into the signed command (so into the camera's journal) and the
 * audit log. The mountpoint goes away at live_view_stop, at the session's maximum, and when the
 * camera refuses.
 */
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { buildCommand, signCommand, liveViewProblem, type LiveViewRequest } from '../../agent/commands/commands.js';
import { sha256Hex } from '../../agent/evidence/journal.js';
import { createLogger } from '../../agent/lib/log.js';
import { describe } from '../../agent/lib/errors.js';
import type { ConsoleConfig, LiveViewGateway } from './config.js';
import type { Fleet } from './fleet.js';
import type { AuditLog } from './audit.js';
import { JanusStream, type Jsep } from './janus.js';

const log = createLogger('console.live');

interface LiveSession {
  readonly id: string;
  readonly device: string;
  readonly user: string;
  readonly janus: JanusStream;
  readonly secret: string;
  readonly startSha: string;
  readonly timer: NodeJS.Timeout;
}

interface Deps {
  readonly cfg: ConsoleConfig & { readonly liveView: LiveViewGateway };
  readonly fleet: Fleet;
  readonly audit: AuditLog;
  readonly sent: Set<string>;
  readonly csrf: { onRequest: unknown };
}

const hex = (n: number): string => randomBytes(n).toString('hex');

export function registerLiveView(app: FastifyInstance, d: Deps): void {
  const { cfg, fleet, audit } = d;
  const g = cfg.liveView;
  const sessions = new Map<string, LiveSession>();
  const SUPERVISOR = { config: { role: 'supervisor' as const }, onRequest: d.csrf.onRequest as never };

  const publish = async (device: string, action: { type: 'live_view_start' } & LiveViewRequest | { type: 'live_view_stop'; sessionId: string }, user: string): Promise<string> => {
    const cmd = buildCommand({ deviceId: device, action, ttlS: cfg.commandTtlS });
    const bytes = signCommand(cmd, cfg.commandKey);
    const sha = sha256Hex(bytes);
    d.sent.add(sha);
    await fleet.publish(`${cfg.mqtt.topicRoot}${device}/cmd`, bytes);
    const { type, ...args } = action;
    audit.append('command', { user, command: type, device, command_id: Buffer.from(cmd.nonce as Uint8Array).toString('hex'), payload_sha256: sha, expires: new Date(cmd.expiresAtMs as number).toISOString(), ...args });
    return sha;
  };

  const close = async (s: LiveSession, why: string): Promise<void> => {
    if (!sessions.delete(s.id)) return;
    clearTimeout(s.timer);
    await s.janus.close(s.id, s.secret).catch((e: unknown) => log.warn('cannot close the gateway session', { session: s.id, error: describe(e) }));
    log.info('live view closed', { session: s.id, device: s.device, why });
  };

  // The camera refused (paused, off duty, above its maximum…): nothing will come, close the mountpoint.
  fleet.on('result', (_id, r) => {
    if (r.accepted) return;
    for (const s of sessions.values()) if (s.startSha === r.payloadSha256) void close(s, `refused by the camera: ${r.reason}`);
  });

  app.post<{ Params: { id: string }; Body: { reason?: unknown } }>('/api/camera/:id/live', SUPERVISOR, async (req, reply) => {
    const device = req.params.id;
    const user = req.session.user!;
    const reason = typeof req.body?.reason === 'string' ? req.body.reason.trim() : '';
    if (!fleet.camera(device)) return reply.code(404).send({ error: `no camera '${device}' seen` });
    const sessionId = `lv-${hex(8)}`;
    const request: LiveViewRequest = { viewerId: user, reason, maxS: g.maxS, gatewayHost: g.rtpHost, gatewayPort: 1, sessionId };
    const problem = liveViewProblem(request);
    if (problem) return reply.code(400).send({ error: problem });
    const janus = new JanusStream(g);
    const pin = hex(12);
    const secret = hex(16);
    let offer: Jsep;
    let startSha: string;
    try {
      await janus.open();
      const port = await janus.createMountpoint(sessionId, pin, secret);
      startSha = await publish(device, { type: 'live_view_start', ...request, gatewayPort: port }, user);
      offer = await janus.watch(sessionId, pin);
    } catch (e) {
      await janus.close(sessionId, secret).catch(() => undefined);
      log.error('live view failed to open', { device, error: describe(e) });
      return reply.code(502).send({ error: `live view unavailable: ${describe(e)}` });
    }
    // The camera ends the session at maxS; the mountpoint goes a little later (the last packets).
    const timer = setTimeout(() => void close(sessions.get(sessionId)!, 'max duration'), (g.maxS + 5) * 1000);
    timer.unref();
    const session: LiveSession = { id: sessionId, device, user, janus, secret, startSha, timer };
    sessions.set(sessionId, session);
    // A refusal that came back while the offer was being fetched: close now, not at maxS.
    const early = fleet.resultsOf(device).find((r) => r.payloadSha256 === startSha && !r.accepted);
    if (early) void close(session, `refused by the camera: ${early.reason}`);
    return { sessionId, maxS: g.maxS, offer, payloadSha256: startSha };
  });

  const own = (sid: string, user: string): LiveSession | undefined => {
    const s = sessions.get(sid);
    return s && s.user === user ? s : undefined;
  };

  app.post<{ Params: { sid: string }; Body: { sdp?: unknown } }>('/api/live/:sid/answer', SUPERVISOR, async (req, reply) => {
    const s = own(req.params.sid, req.session.user!);
    if (!s) return reply.code(404).send({ error: 'no such live view of yours' });
    if (typeof req.body?.sdp !== 'string' || req.body.sdp.length > 12_000) return reply.code(400).send({ error: 'sdp: an SDP answer is required' });
    await s.janus.start({ type: 'answer', sdp: req.body.sdp });
    return { ok: true };
  });

  app.post<{ Params: { sid: string } }>('/api/live/:sid/stop', SUPERVISOR, async (req, reply) => {
    const s = own(req.params.sid, req.session.user!);
    if (!s) return reply.code(404).send({ error: 'no such live view of yours' });
    await publish(s.device, { type: 'live_view_stop', sessionId: s.id }, s.user);
    await close(s, 'stopped by the viewer');
    return { ok: true };
  });

  app.addHook('onClose', async () => {
    for (const s of [...sessions.values()]) await close(s, 'console stopping');
  });
}
