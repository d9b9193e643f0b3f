/**
 * The supervisor's console: composes the alert store, the audit log, the fleet (MQTT) and the
 * HTTPS server, and owns their start and stop order. Start: alerts and audit first (so the
 * first retained LOST already has somewhere to go), then the broker, then the listener. Stop:
 * listener first (no new actions), broker, then the audit log is signed and closed.
 */
import { createLogger } from '../../agent/lib/log.js';
import type { FastifyInstance } from 'fastify';
import type { ConsoleConfig } from './config.js';
import { AlertStore } from './alerts.js';
import { AuditLog } from './audit.js';
import { Fleet } from './fleet.js';
import { UserStore } from './users.js';
import { buildServer } from './server.js';
import { ShiftStore } from './shifts.js';

const log = createLogger('console');

export class ConsoleService {
  readonly alerts: AlertStore;
  readonly audit: AuditLog;
  readonly fleet: Fleet;
  readonly shifts: ShiftStore | undefined;
  private server: FastifyInstance | undefined;
  /** Payload hashes of the commands this console sent (their results are audited). */
  private readonly sent = new Set<string>();

  constructor(private readonly cfg: ConsoleConfig) {
    this.alerts = new AlertStore(cfg.stateDir);
    this.audit = new AuditLog(cfg.stateDir, cfg.consoleKey, cfg.instance, cfg.auditSignS);
    this.fleet = new Fleet(cfg, this.alerts);
    this.shifts = cfg.s3 ? new ShiftStore(cfg.s3) : undefined;
  }

  async start(): Promise<void> {
    this.audit.start();
    this.alerts.load();
    this.audit.append('console_start', { pid: process.pid });
    this.alerts.on('alert', (a) => {
      if (!a.ack) this.audit.append('alert_raised', { alert: a.id, kind: a.kind, device: a.deviceId, title: a.title });
    });
    this.fleet.on('result', (device, r) => {
      // Only results of commands this console sent (the audit log knows their payload hashes).
      if (this.sent.has(r.payloadSha256)) this.audit.append('command_result', { device, payload_sha256: r.payloadSha256, accepted: r.accepted, reason: r.reason });
    });
    await this.fleet.start();
    this.server = await buildServer({ cfg: this.cfg, users: new UserStore(this.cfg.usersFile), fleet: this.fleet, alerts: this.alerts, audit: this.audit, sent: this.sent, shifts: this.shifts });
    await this.server.listen({ host: this.cfg.host, port: this.cfg.port });
    log.info('console listening', { url: `https://${this.cfg.host}:${this.cfg.port}/`, instance: this.cfg.instance });
  }

  async stop(): Promise<void> {
    await this.server?.close();
    await this.fleet.stop();
    this.shifts?.destroy();
    this.audit.append('console_stop', {});
    this.audit.stop();
  }
}
