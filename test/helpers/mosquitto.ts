/**
 * Test harness: a real mosquitto (Debian package) running the shipped production config
 * (docs/mqtt/mosquitto.conf + bodycam.acl) on a free loopback port, with a throw-away PKI the
 * test generates with openssl: a CA, the broker certificate (SAN 127.0.0.1/localhost), client
 * certificates per name, and a rogue CA + client certificate the broker must refuse.
 * `stop()`/`start()` make broker outages on the same port (persistence kept).
 */
import { freePort } from './net.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { REPO } from './agent.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

export interface ClientCert {
  readonly cert: string;
  readonly key: string;
}

export interface Pki {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate (CN = name) signed by the fleet CA; created on first use. */
  client(name: string): ClientCert;
  /** A client certificate with CN = name signed by a CA the broker does not trust. */
  rogue(name: string): ClientCert;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bodycam-test-ca'], dir);
  openssl(['req', '-x509', ...EC, '-keyout', 'rogue-ca.key', '-out', 'rogue-ca.crt', '-days', '2', '-subj', '/CN=rogue-ca'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const issue = (name: string, caName: string, ext: string): ClientCert => {
    const base = `${caName === 'ca' ? '' : caName + '-'}${name}`;
    openssl(['req', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`], dir);
    openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${base}.crt`, '-days', '2', '-extfile', ext], dir);
    return { cert: join(dir, `${base}.crt`), key: join(dir, `${base}.key`) };
  };
  const server = issue('broker', 'ca', 'server.ext');
  const made = new Map<string, ClientCert>();
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    serverCert: server.cert,
    serverKey: server.key,
    client(name) {
      if (!made.has(name)) made.set(name, issue(name, 'ca', 'client.ext'));
      return made.get(name)!;
    },
    rogue(name) {
      const k = `rogue:${name}`;
      if (!made.has(k)) made.set(k, issue(name, 'rogue-ca', 'client.ext'));
      return made.get(k)!;
    },
  };
}

export { freePort } from './net.js';

/** The shipped config with this test's paths and port. */
export function testConfig(o: { port: number; pki: Pki; dataDir: string }): string {
  const shipped = readFileSync(join(REPO, 'docs/mqtt/mosquitto.conf'), 'utf8');
  const replace: Record<string, string> = {
    listener: `${o.port} 127.0.0.1`,
    cafile: o.pki.ca,
    certfile: o.pki.serverCert,
    keyfile: o.pki.serverKey,
    persistence_location: o.dataDir + '/',
    acl_file: join(REPO, 'docs/mqtt/bodycam.acl'),
    log_dest: 'stderr',
  };
  const seen = new Set<string>();
  const lines = shipped.split('\n').map((line) => {
    const key = /^(\w+)\s/.exec(line)?.[1];
    if (!key || !(key in replace)) return line;
    if (seen.has(key)) return `# (test) ${line}`;
    seen.add(key);
    return `${key} ${replace[key]}`;
  });
  for (const k of Object.keys(replace)) if (!seen.has(k)) throw new Error(`docs/mqtt/mosquitto.conf lacks '${k}'`);
  // As root, mosquitto would drop to the `mosquitto` user, which cannot read the test's files.
  if (process.getuid?.() === 0) lines.push('user root');
  return lines.join('\n') + '\n';
}

export interface Broker {
  readonly port: number;
  readonly url: string;
  readonly pki: Pki;
  readonly dir: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** Clean stop (SIGTERM: persistence written). */
  stop(): Promise<void>;
  logs(): string;
  /** An mqtt.js client with a certificate from the fleet CA (CN = name), connected. */
  connect(name: string, opts?: IClientOptions): Promise<MqttClient>;
}

export async function startMosquitto(dir: string, pki: Pki = makePki(join(dir, 'pki'))): Promise<Broker> {
  const port = await freePort();
  const data = join(dir, 'broker');
  mkdirSync(data, { recursive: true });
  const confPath = join(dir, 'mosquitto.conf');
  writeFileSync(confPath, testConfig({ port, pki, dataDir: data }));
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  const broker: Broker = {
    port,
    url: `mqtts://127.0.0.1:${port}`,
    pki,
    dir,
    get running() {
      return proc !== undefined;
    },
    async start() {
      if (proc) return;
      const p = spawn('mosquitto', ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      proc = p;
      p.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      exited = new Promise((r) => p.on('exit', () => {
        if (proc === p) proc = undefined;
        r();
      }));
      const until = Date.now() + 10_000;
      for (;;) {
        if (!proc) throw new Error(`mosquitto exited at start:\n${log}`);
        const ok = await new Promise<boolean>((r) => {
          const s = createConnection({ port, host: '127.0.0.1' }, () => {
            s.destroy();
            r(true);
          });
          s.on('error', () => r(false));
        });
        if (ok) return;
        if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port}:\n${log}`);
        await sleep(50);
      }
    },
    async stop() {
      if (!proc) return;
      const p = proc;
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    logs: () => log,
    connect(name, opts = {}) {
      const c = pki.client(name);
      const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
        ca: readFileSync(pki.ca),
        cert: readFileSync(c.cert),
        key: readFileSync(c.key),
        protocolVersion: 5,
        reconnectPeriod: 500,
        connectTimeout: 5000,
        ...opts,
      });
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          client.end(true);
          reject(new Error(`client ${name} could not connect:\n${log.slice(-2000)}`));
        }, 10_000);
        client.once('connect', () => {
          clearTimeout(t);
          resolve(client);
        });
      });
    },
  };
  await broker.start();
  return broker;
}
