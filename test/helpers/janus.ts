/**
 * A real Janus WebRTC gateway (Debian `janus`) for tests: HTTP API on a free loopback port with an
 * api_secret, only the streaming plugin (admin_key required to create mountpoints), RTP ports from
 * a given range. The config is generated here, as docs/live-view.md describes it for production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from './net.js';

const LIB = '/usr/lib/x86_64-linux-gnu/janus';

export interface Janus {
  readonly url: string;
  readonly apiSecret: string;
  readonly adminKey: string;
  readonly child: ChildProcess;
  logs(): string;
  /** SIGKILL (the failure a test causes) and wait for the exit. */
  kill(): Promise<void>;
}

export async function startJanus(dir: string, o: { apiSecret?: string; adminKey?: string; port?: number; rtpPorts?: string } = {}): Promise<Janus> {
  const conf = join(dir, 'janus-conf');
  mkdirSync(conf, { recursive: true });
  const apiSecret = o.apiSecret ?? randomBytes(12).toString('hex');
  const adminKey = o.adminKey ?? randomBytes(12).toString('hex');
  const port = o.port ?? (await freePort());
  const plugins = ['audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'textroom', 'videocall', 'videoroom', 'voicemail'].map((p) => `libjanus_${p}.so`).join(',');
  writeFileSync(join(conf, 'janus.jcfg'), `general: {
  configs_folder = "${conf}"
  plugins_folder = "${LIB}/plugins"
  transports_folder = "${LIB}/transports"
  events_folder = "${LIB}/events"
  loggers_folder = "${LIB}/loggers"
  debug_level = 4
  api_secret = "${apiSecret}"
}
plugins: { disable = "${plugins}" }
transports: { disable = "libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,libjanus_rabbitmq.so,libjanus_nanomsg.so" }
events: { broadcast = false }
loggers: { disable = "libjanus_jsonlog.so" }
media: { rtp_port_range = "${o.rtpPorts ?? '40000-40200'}" }
`);
  writeFileSync(join(conf, 'janus.transport.http.jcfg'), `general: { json = "compact" base_path = "/janus" http = true port = ${port} ip = "127.0.0.1" https = false }\nadmin: { admin_http = false }\n`);
  writeFileSync(join(conf, 'janus.plugin.streaming.jcfg'), `general: { admin_key = "${adminKey}" string_ids = true }\n`);
  const child = spawn('janus', ['-C', join(conf, 'janus.jcfg'), '-F', conf, '-o'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const until = Date.now() + 20_000;
  while (!log.includes('HTTP webserver started')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`janus did not start:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}/janus`, apiSecret, adminKey, child, logs: () => log,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
