/** Control socket client used by the CLI (`bodycam status`, `bodycam press`, …). */
import { createConnection } from 'node:net';
import { BodycamError } from '../lib/errors.js';
import { controlSocketPath, type ControlResponse } from './protocol.js';

export class AgentUnreachableError extends BodycamError {
  constructor(path: string, why: string) {
    super('STATE', `no agent answers on ${path} (${why}); is 'bodycam agent' running with this --data-dir?`);
  }
}

export function controlRequest(dataDir: string, req: Record<string, unknown>, timeoutMs = 30_000): Promise<ControlResponse> {
  const path = controlSocketPath(dataDir);
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new AgentUnreachableError(path, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(JSON.stringify(req) + '\n'));
    s.on('data', (c: string) => {
      buf += c;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      s.end();
      try {
        resolve(JSON.parse(buf.slice(0, i)) as ControlResponse);
      } catch {
        reject(new BodycamError('PROTOCOL', 'agent sent an unreadable answer'));
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new AgentUnreachableError(path, e.code ?? e.message));
    });
  });
}
