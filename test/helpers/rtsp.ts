/**
 * A real RTSP server on loopback (GStreamer's gst-rtsp-server, `test/helpers/rtsp-server.py`,
 * Debian packages from `scripts/deps.sh rtsp`) that a test can stop and start again on the same
 * port, as an IP camera that loses power and comes back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './agent.js';

export interface RtspServer {
  readonly url: string;
  readonly pid: number;
  /** Stops the server for real (SIGTERM, then SIGKILL) and waits until it is gone. */
  stop(): Promise<void>;
}

/** Debian's interpreter: python3-gi is installed for it, not for a pyenv or venv python on PATH. */
const PYTHON = '/usr/bin/python3';

export async function startRtspServer(o: { port: number; path: string; username: string; password: string; size?: string; fps?: number }): Promise<RtspServer> {
  const child: ChildProcess = spawn(PYTHON, [join(REPO, 'test/helpers/rtsp-server.py'), String(o.port), o.path, o.username, o.password, o.size ?? '320x180', String(o.fps ?? 15)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`RTSP server did not start in 20 s:\n${out}`)), 20_000);
    const check = (): void => {
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(t);
      reject(new Error(`RTSP server exited before it listened:\n${out}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const k = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(k);
    },
  };
}
