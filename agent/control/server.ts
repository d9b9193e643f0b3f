/**
 * Control socket server. Requests are size-limited and parsed defensively: a bad request gets an
 * error answer and changes nothing. The socket is 0660 (root and the bodycam group).
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, unlinkSync, existsSync } from 'node:fs';
import type { Logger } from '../lib/log.js';
import { describe, BodycamError } from '../lib/errors.js';
import { MAX_REQUEST_BYTES, type ControlResponse } from './protocol.js';

export type ControlHandler = (req: Record<string, unknown>) => Promise<unknown>;

/** Is another process answering on this socket? (A stale socket file refuses connections.) */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class ControlServer {
  private server: Server | undefined;
  private readonly handlers = new Map<string, ControlHandler>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly path: string, private readonly log: Logger) {}

  register(op: string, h: ControlHandler): void {
    if (this.handlers.has(op)) throw new Error(`control op '${op}' registered twice`);
    this.handlers.set(op, h);
  }

  async start(): Promise<void> {
    if (existsSync(this.path)) {
      if (await socketAlive(this.path)) throw new BodycamError('STATE', `another agent is running on ${this.path}`);
      unlinkSync(this.path);
    }
    const server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o660);
    this.server = server;
  }

  private serve(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    // Split by hand, not by node's readline: a request has a size limit (readline has none, and a
    // client that never sends a newline must be answered and cut off, not buffered for ever).
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES && !buf.includes('\n')) {
        this.reply(sock, { ok: false, error: `request larger than ${MAX_REQUEST_BYTES} bytes` });
        sock.end();
        return;
      }
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        void this.handle(line).then((r) => this.reply(sock, r));
      }
    });
  }

  private async handle(line: string): Promise<ControlResponse> {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      return { ok: false, error: 'request is not JSON' };
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req) || typeof (req as { op?: unknown }).op !== 'string') {
      return { ok: false, error: 'request must be an object with a string "op"' };
    }
    const op = (req as { op: string }).op;
    const h = this.handlers.get(op);
    if (!h) return { ok: false, error: `unknown op '${op}' (known: ${[...this.handlers.keys()].join(', ')})` };
    try {
      const result = await h(req as Record<string, unknown>);
      return { ok: true, ...(typeof result === 'object' && result !== null ? (result as object) : { result }) };
    } catch (e) {
      this.log.warn('control request refused', { op, err: describe(e) });
      return { ok: false, error: describe(e) };
    }
  }

  private reply(sock: Socket, r: ControlResponse): void {
    if (!sock.destroyed) sock.write(JSON.stringify(r) + '\n');
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
