/**
 * A one-host Ceph cluster for offload tests: 1 mon, 1 OSD (BlueStore on a sparse file), 1 radosgw
 * (beast on a free 127.0.0.1 port), all in a temp dir, no systemd, no cephx (the S3 gateway's own
 * signature auth is what the tests exercise). Tuned per NOTES-DEPS to start in a few seconds:
 * fast paxos, RGW pools created up front, no fsck at mkfs, size-1 pools.
 *
 * Daemons run in the foreground as our children and get SIGKILL at teardown (SIGTERM left zombies
 * for ~2 s each). `stopGateway()`/`startGateway()` kill and restart only radosgw, on the same port,
 * to interrupt an upload mid-way.
 */
import { freePort } from './net.js';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { request } from 'node:http';

const run = promisify(execFile);

export { freePort } from './net.js';

export interface CephCluster {
  readonly dir: string;
  readonly conf: string;
  readonly endpoint: string;
  readonly port: number;
  /** Runs `radosgw-admin` against this cluster; returns stdout. */
  admin(args: string[]): Promise<string>;
  /** Runs the `ceph` CLI against this cluster; returns stdout. */
  ceph(args: string[]): Promise<string>;
  /** SIGKILLs radosgw (the store keeps its data; uploads in flight fail). */
  stopGateway(): Promise<void>;
  /** Starts radosgw again on the same port and waits until it answers. */
  startGateway(): Promise<void>;
  /** SIGKILLs every daemon and removes the temp dir. */
  stop(): Promise<void>;
}

export interface CephOptions {
  /**
   * radosgw's minimum multipart part size (bytes). Ceph's default is 5 MiB, like AWS; tests
   * lower it so that small test media still exercise multi-part uploads and mid-part kills.
   */
  readonly multipartMinPartSize?: number;
}

const tail = (p: string, n = 15): string => {
  try {
    return readFileSync(p, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
};

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number, logs: string[]): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ceph: ${what} did not happen within ${timeoutMs} ms\n${logs.map((l) => `--- ${l}\n${tail(l)}`).join('\n')}`);
}

function httpOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) > 0);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export async function startCeph(opts: CephOptions = {}): Promise<CephCluster> {
  // One retry with fresh ports and a fresh dir: a loopback port picked free can be taken by
  // someone else before the mon binds it (seen once: the OSD met a foreign mon, 'wrong fsid').
  try {
    return await startOnce(opts);
  } catch (e) {
    process.stderr.write(`ceph: first start failed, retrying once: ${(e as Error).message.split('\n')[0]}\n`);
    return startOnce(opts);
  }
}

async function startOnce(opts: CephOptions): Promise<CephCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bodycam-ceph-'));
  for (const d of ['mon', 'osd', 'run', 'log', 'rgw']) mkdirSync(join(dir, d));
  const fsid = randomUUID();
  const monPort = await freePort();
  const port = await freePort();
  const conf = join(dir, 'ceph.conf');
  writeFileSync(conf, [
    '[global]',
    `fsid = ${fsid}`,
    `mon host = v1:127.0.0.1:${monPort}`,
    'mon initial members = a',
    'auth cluster required = none',
    'auth service required = none',
    'auth client required = none',
    'osd pool default size = 1',
    'osd pool default min size = 1',
    'osd pool default pg num = 8',
    'osd pool default pgp num = 8',
    'osd crush chooseleaf type = 0',
    'mon allow pool size one = true',
    'mon allow pool delete = true',
    // The test host's disk may be fuller than Ceph's defaults tolerate (it would refuse writes).
    'mon data avail crit = 1',
    'mon data avail warn = 1',
    'paxos propose interval = 0.01',
    'bluestore fsck on mkfs = false',
    'bluestore block size = 10737418240',
    'osd objectstore = bluestore',
    // On a busy host the OSD sent its start-up CRUSH commands before it knew the cluster fsid
    // ('wrong fsid', then it never came up): we place it in the CRUSH map ourselves instead.
    'osd crush update on start = false',
    'osd class update on start = false',
    `run dir = ${dir}/run`,
    `admin socket = ${dir}/run/$name.asok`,
    `log file = ${dir}/log/$name.log`,
    `pid file = ${dir}/run/$name.pid`,
    'ms bind ipv6 = false',
    'ms bind msgr2 = false',
    '[mon.a]',
    `mon data = ${dir}/mon`,
    `public addr = 127.0.0.1:${monPort}`,
    '[osd.0]',
    `osd data = ${dir}/osd`,
    '[client.rgw]',
    `rgw frontends = beast endpoint=127.0.0.1:${port}`,
    `rgw data = ${dir}/rgw`,
    'rgw thread pool size = 64',
    ...(opts.multipartMinPartSize ? [`rgw multipart min part size = ${opts.multipartMinPartSize}`] : []),
    '',
  ].join('\n'));

  const procs = new Map<string, ChildProcess>();
  const logs = [join(dir, 'log', 'mon.a.log'), join(dir, 'log', 'osd.0.log'), join(dir, 'log', 'client.rgw.log')];
  const daemon = (name: string, cmd: string, args: string[]): ChildProcess => {
    const p = spawn(cmd, ['-c', conf, ...args, '-f'], { stdio: ['ignore', 'ignore', 'ignore'] });
    procs.set(name, p);
    return p;
  };
  const ceph = async (args: string[]): Promise<string> => (await run('ceph', ['-c', conf, '--connect-timeout', '20', ...args], { timeout: 60_000 })).stdout;
  /** Runs several `ceph` commands in one interactive session (commands on stdin). */
  const cephBatch = (cmds: string[]): Promise<void> => new Promise((resolve, reject) => {
    const p = spawn('ceph', ['-c', conf, '--connect-timeout', '20'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve();
      else reject(new Error(`ceph batch exited with ${code}: ${err.slice(-2000)}`));
    });
    p.stdin.end(cmds.join('\n') + '\n');
  });
  const admin = async (args: string[]): Promise<string> => (await run('radosgw-admin', ['-c', conf, '-n', 'client.rgw', ...args], { timeout: 60_000 })).stdout;
  const killAll = async (): Promise<void> => {
    const waits: Promise<void>[] = [];
    for (const p of procs.values()) {
      if (p.exitCode === null && p.signalCode === null) {
        waits.push(new Promise((r) => p.once('exit', () => r())));
        p.kill('SIGKILL');
      }
    }
    await Promise.all(waits);
    procs.clear();
  };

  const startGateway = async (): Promise<void> => {
    const p = daemon('rgw', 'radosgw', ['-n', 'client.rgw']);
    await until('radosgw answering', async () => {
      if (p.exitCode !== null) throw new Error(`radosgw exited with ${p.exitCode}`);
      return httpOk(port);
    }, 60_000, logs);
  };

  try {
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, join(dir, 'monmap')]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')]);
    daemon('mon', 'ceph-mon', ['-i', 'a']);
    const osdUuid = randomUUID();
    const id = (await ceph(['osd', 'new', osdUuid])).trim();
    if (id !== '0') throw new Error(`ceph osd new returned '${id}'`);
    await run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid], { timeout: 60_000 });
    daemon('osd', 'ceph-osd', ['-i', '0']);
    // Creating RGW's pools ourselves saves radosgw's slow first-start path (one pool per round).
    // One `ceph` process for all of them (its Python start-up costs ~0.3 s a call on a busy box).
    const pools = ['.rgw.root', 'default.rgw.control', 'default.rgw.meta', 'default.rgw.log', 'default.rgw.buckets.index', 'default.rgw.buckets.data', 'default.rgw.buckets.non-ec'];
    await cephBatch(['osd crush add osd.0 1.0 root=default', ...pools.flatMap((p) => [`osd pool create ${p} 8 8`, `osd pool application enable ${p} rgw`])]);
    const listed = await ceph(['osd', 'pool', 'ls']);
    for (const p of pools) if (!listed.split('\n').includes(p)) throw new Error(`ceph: pool ${p} was not created`);
    await until('osd.0 up', async () => /1 up/.test(await ceph(['osd', 'stat'])), 60_000, logs);
    await startGateway();
  } catch (e) {
    await killAll();
    if (process.env.BODYCAM_KEEP_CEPH) (e as Error).message += `\n(ceph dir ${dir} kept for inspection)`;
    else rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  return {
    dir, conf, port, endpoint: `http://127.0.0.1:${port}`, admin, ceph, startGateway,
    async stopGateway() {
      const p = procs.get('rgw');
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((r) => {
        p.once('exit', () => r());
        p.kill('SIGKILL');
      });
      procs.delete('rgw');
    },
    async stop() {
      await killAll();
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
