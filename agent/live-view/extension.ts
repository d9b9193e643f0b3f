/**
 * Live view on central's signed request (docs/live-view.md). The room only opens and closes a
 * window: the video is the recording ffmpeg's own encoded stream, sent as RTP to loopback by the
 * encoder at all times (hal/encoder/args.ts `liveTap`), and forwarded to the gateway by the relay
 * only while a session is open. So a session starting or ending never touches the encoder.
 *
 * Rules:
 * - opens only while RECORDING (a pause captures nothing; off duty nothing is recorded; during an
 *   encoder fault there is nothing to send), for at most the policy's liveViewMaxS, one at a time;
 * - ends at `stop` (live_view_stop), `max_duration`, `pause` (a pause begins), `shift_end`,
 *   `link_lost` (MQTT to central down for linkLostS) and `agent_stop`;
 * - the wearer is told at once (feedback pattern live_view: haptic at start and end, led_status lit
 *   meanwhile); the shift journal gets `live_view` records: start (viewer, reason, command nonce)
 *   and end (cause), both with the session id.
 */
import type { AgentContext, Extension } from '../extension.js';
import type { AgentConfig } from '../config/agent-config.js';
import { sectionOf } from '../config/agent-config.js';
import type { StatusSnapshot } from '../status.js';
import type { LiveViewRequest } from '../commands/commands.js';
import type { LiveViewService, Outcome } from '../commands/dispatch.js';
import { describe } from '../lib/errors.js';
import type { LiveViewConfig } from './config.js';
import { RtpRelay } from './relay.js';

export type LiveViewEndCause = 'stop' | 'max_duration' | 'pause' | 'shift_end' | 'link_lost' | 'agent_stop';

interface FeedbackService {
  liveView?(on: boolean): void;
}

interface Session {
  readonly req: LiveViewRequest;
  readonly commandId: string;
  readonly startedMs: number;
  readonly relay: RtpRelay;
  readonly maxTimer: NodeJS.Timeout;
}

/** The state a session ends in when the shift leaves RECORDING for it; undefined: the session goes on. */
export function endCauseFor(state: StatusSnapshot['state']): LiveViewEndCause | undefined {
  switch (state) {
    case 'PAUSED':
      return 'pause';
    case 'CLOSING':
    case 'OFF_DUTY':
    case 'OFFLOADING':
      return 'shift_end';
    default:
      // FAULT: the encoder restarts by itself and the tap comes back with it; RECORDING: nothing to do.
      return undefined;
  }
}

export class LiveViewExtension implements Extension {
  readonly name = 'liveView';
  private ctx: AgentContext | undefined;
  private session: Session | undefined;
  /** While opening (the relay binds and resolves asynchronously): a second start is refused. */
  private opening = false;
  private linkDownSinceMs: number | undefined;
  private linkTimer: NodeJS.Timeout | undefined;
  private readonly onStatus = (st: StatusSnapshot): void => {
    const cause = this.session ? endCauseFor(st.state) : undefined;
    if (cause) this.end(cause);
  };

  constructor(private readonly cfg: LiveViewConfig) {}

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    const service: LiveViewService = { start: (req, id) => this.open(req, id), stop: (sessionId) => this.close(sessionId) };
    ctx.services.provide<LiveViewService>('live_view', service);
    ctx.bus.on('status', this.onStatus);
  }

  async stop(): Promise<void> {
    this.ctx?.bus.off('status', this.onStatus);
    if (this.session) this.end('agent_stop');
  }

  status(): Record<string, unknown> {
    const s = this.session;
    if (!s) return { active: false };
    return {
      active: true,
      sessionId: s.req.sessionId,
      viewerId: s.req.viewerId,
      reason: s.req.reason,
      startedAt: new Date(s.startedMs).toISOString(),
      endsAt: new Date(s.startedMs + s.req.maxS * 1000).toISOString(),
      packets: s.relay.counters.packets,
      sendErrors: s.relay.counters.sendErrors,
    };
  }

  /** A verified live_view_start (agent/commands/dispatch.ts journals it, accepted or refused). */
  private async open(req: LiveViewRequest, commandId: string): Promise<Outcome> {
    const ctx = this.ctx!;
    const st = ctx.status();
    const maxS = ctx.policy().liveViewMaxS;
    if (req.maxS > maxS) return { accepted: false, refusal: 'invalid_argument', reason: `max_s ${req.maxS} exceeds this camera's policy liveViewMaxS ${maxS}` };
    if (st.state === 'PAUSED') return { accepted: false, refusal: 'rejected', reason: `paused (${st.pauseReason ?? 'unknown reason'}): nothing is captured, no live view` };
    if (st.state !== 'RECORDING') return { accepted: false, refusal: 'rejected', reason: `not recording (${st.state}): no live view` };
    if (this.session || this.opening) return { accepted: false, refusal: 'rejected', reason: `a live view is open already (session ${this.session?.req.sessionId ?? 'opening'})` };
    this.opening = true;
    const relay = new RtpRelay(this.cfg.tapPort, { host: req.gatewayHost, port: req.gatewayPort });
    try {
      await relay.start();
    } catch (e) {
      return { accepted: false, refusal: 'unavailable', reason: `cannot open the live relay to ${req.gatewayHost}:${req.gatewayPort}: ${describe(e)}` };
    } finally {
      this.opening = false;
    }
    // The state may have moved while the relay opened (a pause press): check again before telling anyone.
    const now = ctx.status();
    if (now.state !== 'RECORDING') {
      relay.close();
      return { accepted: false, refusal: 'rejected', reason: `not recording (${now.state}): no live view` };
    }
    const startedMs = Date.now();
    const maxTimer = setTimeout(() => this.end('max_duration'), req.maxS * 1000);
    this.session = { req, commandId, startedMs, relay, maxTimer };
    ctx.services.get<FeedbackService>('feedback')?.liveView?.(true);
    ctx.journal('live_view', { event: 'start', session_id: req.sessionId, viewer: req.viewerId, reason: req.reason, command_id: commandId, max_s: req.maxS, gateway: `${req.gatewayHost}:${req.gatewayPort}` });
    this.linkDownSinceMs = undefined;
    this.linkTimer = setInterval(() => this.checkLink(), 1000);
    ctx.log.info('live view started', { session: req.sessionId, viewer: req.viewerId, maxS: req.maxS });
    return { accepted: true, reason: `live view ${req.sessionId} open for ${req.viewerId}, at most ${req.maxS} s` };
  }

  private async close(sessionId: string): Promise<Outcome> {
    const s = this.session;
    if (!s || s.req.sessionId !== sessionId) return { accepted: true, reason: `live view ${sessionId} is not open (ended already)` };
    this.end('stop');
    return { accepted: true, reason: `live view ${sessionId} stopped` };
  }

  /** MQTT down for linkLostS: nobody at central can see the session any more, nor stop it. */
  private checkLink(): void {
    const tel = this.ctx?.status().ext.telemetry;
    if (!tel || tel.connected !== false) {
      this.linkDownSinceMs = undefined;
      return;
    }
    this.linkDownSinceMs ??= Date.now();
    if (Date.now() - this.linkDownSinceMs >= this.cfg.linkLostS * 1000) this.end('link_lost');
  }

  private end(cause: LiveViewEndCause): void {
    const s = this.session;
    const ctx = this.ctx;
    if (!s || !ctx) return;
    this.session = undefined;
    clearTimeout(s.maxTimer);
    if (this.linkTimer) clearInterval(this.linkTimer);
    this.linkTimer = undefined;
    s.relay.close();
    ctx.services.get<FeedbackService>('feedback')?.liveView?.(false);
    try {
      ctx.journal('live_view', {
        event: 'end', cause, session_id: s.req.sessionId, viewer: s.req.viewerId, reason: s.req.reason, command_id: s.commandId,
        duration_s: Math.round((Date.now() - s.startedMs) / 100) / 10, packets: s.relay.counters.packets, send_errors: s.relay.counters.sendErrors,
      });
    } catch (e) {
      ctx.log.error('cannot journal the end of a live view', { error: describe(e) });
    }
    ctx.log.info('live view ended', { session: s.req.sessionId, cause });
  }
}

/** Extension factory (agent/extensions.ts): only with a `liveView` config section. */
export function liveViewExtension(config: AgentConfig): Extension | undefined {
  const cfg = sectionOf<LiveViewConfig | undefined>(config, 'liveView');
  return cfg ? new LiveViewExtension(cfg) : undefined;
}
