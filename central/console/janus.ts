/**
 * The little of Janus's HTTP API the console needs (https://janus.conf.meetecho.com/docs/rest.html):
 * a session with one streaming-plugin handle per live view, a mountpoint (RTP in, H.264) with a
 * random pin and secret, `watch` (Janus answers asynchronously with its SDP offer: read by a long
 * poll), `start` with the browser's answer, and `destroy`. Every request carries the api_secret:
 * only the console, which holds it, can open anything on the gateway; the browser only receives
 * WebRTC media.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveViewGateway } from './config.js';

export class JanusError extends Error {
  override readonly name = 'JanusError';
}

export interface Jsep {
  readonly type: 'offer' | 'answer';
  readonly sdp: string;
}

interface Reply {
  janus: string;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { data?: Record<string, unknown> };
  jsep?: Jsep;
}

const tx = (): string => randomBytes(8).toString('hex');

export class JanusStream {
  private session = 0;
  private handle = 0;
  private polling = false;
  private readonly events: Reply[] = [];

  constructor(private readonly g: LiveViewGateway) {}

  private async post(path: string, body: Record<string, unknown>): Promise<Reply> {
    const r = await fetch(`${this.g.janusUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transaction: tx(), apisecret: this.g.apiSecret, ...body }), signal: AbortSignal.timeout(10_000) });
    const j = (await r.json()) as Reply;
    if (j.janus === 'error') throw new JanusError(`janus: ${j.error?.reason ?? 'error'} (${j.error?.code ?? '?'})`);
    const err = j.plugindata?.data?.error;
    if (typeof err === 'string') throw new JanusError(`janus streaming: ${err}`);
    return j;
  }

  private async message(body: Record<string, unknown>, jsep?: Jsep): Promise<Reply> {
    return this.post(`/${this.session}/${this.handle}`, { janus: 'message', body, ...(jsep ? { jsep } : {}) });
  }

  /** Opens a gateway session and handle; the long poll keeps the session alive while it lasts. */
  async open(): Promise<void> {
    this.session = (await this.post('', { janus: 'create' })).data!.id!;
    this.handle = (await this.post(`/${this.session}`, { janus: 'attach', plugin: 'janus.plugin.streaming' })).data!.id!;
    this.polling = true;
    void this.poll();
  }

  private async poll(): Promise<void> {
    while (this.polling) {
      try {
        const r = await fetch(`${this.g.janusUrl}/${this.session}?apisecret=${encodeURIComponent(this.g.apiSecret)}&maxev=10&rid=${Date.now()}`, { signal: AbortSignal.timeout(40_000) });
        const j = (await r.json()) as Reply | Reply[];
        for (const e of Array.isArray(j) ? j : [j]) if (e.janus !== 'keepalive') this.events.push(e);
      } catch {
        if (this.polling) await sleep(500);
      }
    }
  }

  /** A mountpoint for one camera's RTP (H.264, port chosen by Janus); returns the UDP port. */
  async createMountpoint(id: string, pin: string, secret: string): Promise<number> {
    const r = await this.message({
      request: 'create', admin_key: this.g.adminKey, type: 'rtp', id, description: `live view ${id}`, is_private: true, pin, secret, permanent: false,
      // videobufferkf: a viewer who joins between keyframes gets the last one at once.
      media: [{ type: 'video', mid: 'v', port: 0, pt: 96, codec: 'h264', fmtp: 'profile-level-id=42e01f;packetization-mode=1', videobufferkf: true }],
    });
    const stream = r.plugindata?.data?.stream as { ports?: Array<{ port?: number }> } | undefined;
    const port = stream?.ports?.[0]?.port;
    if (!port) throw new JanusError(`janus streaming: no RTP port in the create answer ${JSON.stringify(r.plugindata?.data).slice(0, 200)}`);
    return port;
  }

  /** Asks to watch the mountpoint; resolves Janus's SDP offer. */
  async watch(id: string, pin: string, timeoutMs = 10_000): Promise<Jsep> {
    await this.message({ request: 'watch', id, pin });
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const i = this.events.findIndex((e) => e.jsep?.type === 'offer');
      if (i >= 0) return this.events.splice(i, 1)[0]!.jsep!;
      await sleep(25);
    }
    throw new JanusError('janus streaming: no offer for watch');
  }

  async start(answer: Jsep): Promise<void> {
    await this.message({ request: 'start' }, answer);
  }

  /** Removes the mountpoint and ends the gateway session (the viewer's media stops). */
  async close(id: string, secret: string): Promise<void> {
    this.polling = false;
    try {
      await this.message({ request: 'destroy', id, secret });
    } finally {
      await this.post(`/${this.session}`, { janus: 'destroy' }).catch(() => undefined);
    }
  }
}
