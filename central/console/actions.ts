/**
 * The console's actions: signed commands, built and signed by the same functions as `bodycam
 * central sign` (buildCommand, signCommand, central's command key) and checked as it checks them
 * before anything is signed — a set_policy with setPolicyIssues (the camera's parsePolicy over the
 * default policy), every action with the camera's own argument check (commandProblem). A command
 * every camera would refuse is answered 400 with the reason, and nothing is signed or sent.
 * Role: supervisor (checked by server.ts's preHandler from `config.role`), and every POST carries
 * the session's CSRF token. Each command sent is audited (user, target, command id, payload
 * SHA-256, members reached); the cameras' results are audited by the service.
 *
 *   POST /api/teams/<group>/duty      {"action": "start" | "end"}      start_duty / end_duty to a team
 *   POST /api/teams/<group>/schedule  {"start": ISO, "end": ISO}       schedule_duty to a team
 *   POST /api/camera/<id>/wearer      {"wearerId", "name"}             assign_wearer to one camera
 *   POST /api/camera/<id>/policy      {"values": {NAME: NUMBER, …}}    set_policy to one camera
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildCommand, commandProblem, signCommand, type Action } from '../../agent/commands/commands.js';
import { setPolicyIssues } from '../../agent/commands/policy-check.js';
import { sha256Hex } from '../../agent/evidence/journal.js';
import { describe } from '../../agent/lib/errors.js';
import type { ConsoleConfig } from './config.js';
import type { Fleet } from './fleet.js';
import type { AuditLog } from './audit.js';
import type { Role } from './users.js';
import { DEVICE_ID } from './shifts.js';

interface Deps {
  readonly cfg: ConsoleConfig;
  readonly fleet: Fleet;
  readonly audit: AuditLog;
  /** Payload hashes of the commands sent: the service audits their results. */
  readonly sent: Set<string>;
}

type Target = { readonly group: string; readonly members: readonly string[] } | { readonly device: string };

/** A refusal before signing: 400 and its reason. */
class Invalid extends Error {}

export function registerActionRoutes(app: FastifyInstance, d: Deps): void {
  const { cfg, fleet, audit } = d;
  const SUPERVISOR = { config: { role: 'supervisor' as Role }, onRequest: app.csrfProtection };

  /** Builds, checks, signs, publishes (QoS 1) to each target topic and audits one command. */
  async function send(req: FastifyRequest, reply: FastifyReply, target: Target, action: Action, extra: Record<string, unknown> = {}) {
    const group = 'group' in target ? target.group : undefined;
    const cmd = buildCommand({ deviceId: group === undefined ? (target as { device: string }).device : '', ...(group !== undefined ? { groupId: group } : {}), action, ttlS: cfg.commandTtlS });
    const problem = commandProblem(cmd);
    if (problem) return reply.code(400).send({ error: `the camera would refuse this ${action.type}: ${problem}` });
    const bytes = signCommand(cmd, cfg.commandKey);
    const id = Buffer.from(cmd.nonce as Uint8Array).toString('hex');
    const payloadSha256 = sha256Hex(bytes);
    d.sent.add(payloadSha256);
    const sent: string[] = [];
    const failed: Array<{ device: string; error: string }> = [];
    for (const dev of 'members' in target ? target.members : [target.device]) {
      try {
        await fleet.publish(`${cfg.mqtt.topicRoot}${dev}/cmd`, bytes);
        sent.push(dev);
      } catch (e) {
        failed.push({ device: dev, error: describe(e) });
      }
    }
    audit.append('command', {
      user: req.session.user, command: action.type, ...(group !== undefined ? { group } : { device: (target as { device: string }).device }), ...extra,
      command_id: id, payload_sha256: payloadSha256, expires: new Date(cmd.expiresAtMs as number).toISOString(), sent, failed,
    });
    return reply.code(failed.length && !sent.length ? 502 : 200).send({ command: action.type, ...(group !== undefined ? { group } : {}), id, payloadSha256, sent, failed, ...extra });
  }

  const team = (group: string): { group: string; members: readonly string[] } => {
    const members = fleet.members(group);
    if (!members.length) throw Object.assign(new Error(`no team '${group}' in the console's config`), { statusCode: 404 });
    return { group, members };
  };
  const camera = (id: string): { device: string } => {
    if (!DEVICE_ID.test(id) || (!fleet.camera(id) && !fleet.groups().some((g) => fleet.members(g).includes(id)))) {
      throw Object.assign(new Error(`no camera '${id.slice(0, 64)}' seen or configured`), { statusCode: 404 });
    }
    return { device: id };
  };
  const run = async (reply: FastifyReply, f: () => Promise<unknown>) => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof Invalid) return reply.code(400).send({ error: e.message });
      throw e;
    }
  };

  app.post<{ Params: { group: string }; Body: { action?: unknown } }>('/api/teams/:group/duty', SUPERVISOR, async (req, reply) => run(reply, async () => {
    const a = req.body?.action;
    if (a !== 'start' && a !== 'end') throw new Invalid("action must be 'start' or 'end'");
    // One signed team command (group id, no device): each member checks its own central.groupId.
    return send(req, reply, team(req.params.group), { type: a === 'start' ? 'start_duty' : 'end_duty' });
  }));

  app.post<{ Params: { group: string }; Body: { start?: unknown; end?: unknown } }>('/api/teams/:group/schedule', SUPERVISOR, async (req, reply) => run(reply, async () => {
    const at = (k: 'start' | 'end'): number => {
      const v = req.body?.[k];
      const ms = typeof v === 'string' ? Date.parse(v) : NaN;
      if (!Number.isFinite(ms)) throw new Invalid(`${k} must be an ISO 8601 time (got ${JSON.stringify(v)?.slice(0, 64)})`);
      return ms;
    };
    const startMs = at('start');
    const endMs = at('end');
    return send(req, reply, team(req.params.group), { type: 'schedule_duty', startMs, endMs }, { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() });
  }));

  app.post<{ Params: { id: string }; Body: { wearerId?: unknown; name?: unknown } }>('/api/camera/:id/wearer', SUPERVISOR, async (req, reply) => run(reply, async () => {
    const wearerId = typeof req.body?.wearerId === 'string' ? req.body.wearerId.trim() : '';
    const name = typeof req.body?.name === 'string' ? req.body.name.trim() : '';
    return send(req, reply, camera(req.params.id), { type: 'assign_wearer', wearerId, name }, { wearer_id: wearerId, wearer_name: name });
  }));

  app.post<{ Params: { id: string }; Body: { values?: unknown } }>('/api/camera/:id/policy', SUPERVISOR, async (req, reply) => run(reply, async () => {
    const target = camera(req.params.id);
    const raw = req.body?.values;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.keys(raw).length === 0) throw new Invalid('values must be an object of policy settings, e.g. {"personalNeedsMaxS": 600}');
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw new Invalid(`${k.slice(0, 64)} must be a number (got ${JSON.stringify(v)?.slice(0, 64)})`);
      values[k] = n;
    }
    const { fatal, warnings } = setPolicyIssues(values);
    if (fatal.length) throw new Invalid(`the camera would refuse this set_policy: ${fatal.map((i) => `${i.field || 'set_policy'}: ${i.message}`).join('; ')}`);
    return send(req, reply, target, { type: 'set_policy', values }, { values, ...(warnings.length ? { warnings: warnings.map((i) => `${i.field}: ${i.message}`) } : {}) });
  }));
}
