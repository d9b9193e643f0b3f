/**
 * `make package`'s .deb, round trip on this machine: it builds reproducibly (twice, same sha256),
 * apt installs it with its dependencies, the installed `bodycam` answers --help for every command,
 * checks the boards, passes the sim selftest, records a short signed shift that verifies, sends
 * telemetry to a real mosquitto over mutual TLS that the installed `central watch` receives, and
 * refuses to run without a configured board; the maintainer scripts restart the agent on upgrade
 * and stop it only on removal; removal leaves no file of the package.
 * Everything runs the installed binary (/usr/bin/bodycam under the distro's node), not the checkout.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';

const OUT = mkdtempSync(join(tmpdir(), 'bodycam-package-'));
const DATA = mkdtempSync(join(tmpdir(), 'bodycam-deb-shift-'));
const BIN = '/usr/bin/bodycam';
// The deb depends on the distro's nodejs: resolve `#!/usr/bin/env node` to it, not to the runner's.
const ENV = { ...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin', BODYCAM_LOG: 'info' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let deb = '';
let installedFiles: string[] = [];

function sh(cmd: string, args: string[], timeout = 300_000): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: ENV, timeout, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
const bodycam = (...args: string[]): { status: number | null; out: string } => sh(BIN, args, 120_000);
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; license: string }).version;
const LICENSE = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { license: string }).license;
const sha256 = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
/** A stack trace or a module resolution failure: what a user must never see from the CLI. */
const CRASH = /ERR_MODULE_NOT_FOUND|Cannot find module|^\s+at .+:\d+:\d+\)?$/m;

/** Async, so the agent this process spawned keeps being read while the command runs. */
function run(cmd: string, args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

before(() => {
  const r = spawnSync(join(REPO, 'scripts/package-release.sh'), { encoding: 'utf8', env: { ...process.env, PACKAGE_OUT: OUT } });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  deb = join(OUT, readdirSync(OUT).find((f) => f.endsWith('.deb')) ?? assert.fail('no .deb built'));
});

after(() => {
  sh('dpkg', ['--purge', 'bodycam-agent']);
  rmSync(OUT, { recursive: true, force: true });
  rmSync(DATA, { recursive: true, force: true });
});

test('the release tarball holds the device files and the lockfile, no tests, sources or maps', () => {
  const tgz = join(OUT, readdirSync(OUT).find((f) => f.endsWith('.tgz')) ?? assert.fail('no tarball'));
  const list = sh('tar', ['-tzf', tgz]).out.split('\n').filter(Boolean);
  for (const f of ['package/package.json', 'package/package-lock.json', 'package/dist/agent/cli/main.js', 'package/dist/hal/index.js', 'package/board-configs/sim.json', 'package/board-configs/ipcam-generic.json', 'package/profiles/custody.json']) {
    assert.ok(list.includes(f), `${f} missing`);
  }
  assert.deepEqual(list.filter((f) => /\/test\/|\.ts$|\.map$|^package\/(agent|hal|codegen|proto|yocto-layer)\//.test(f)), []);
});

test('the .deb is reproducible: a second build (another directory, umask 077) is byte-identical', { timeout: 600_000 }, () => {
  const out2 = mkdtempSync(join(tmpdir(), 'bodycam-package2-'));
  try {
    const r = spawnSync('bash', ['-c', 'umask 077 && exec "$0"', join(REPO, 'scripts/package-release.sh')], {
      encoding: 'utf8', env: { ...process.env, PACKAGE_OUT: out2 },
    });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    for (const f of readdirSync(OUT).filter((n) => n.endsWith('.deb') || n.endsWith('.tgz'))) {
      assert.equal(sha256(join(out2, f)), sha256(join(OUT, f)), `${f} differs between two builds`);
    }
  } finally {
    rmSync(out2, { recursive: true, force: true });
  }
});

test('the .deb keeps the packages\' own build/ code (mqtt) and drops only node-gyp\'s leftovers', () => {
  const list = spawnSync('sh', ['-c', `dpkg-deb --fsys-tarfile '${deb}' | tar -t`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout.split('\n');
  const nm = './usr/lib/bodycam-agent/node_modules/';
  assert.ok(list.includes(`${nm}mqtt/build/index.js`), 'mqtt\'s code (node_modules/mqtt/build) is shipped');
  for (const addon of ['i2c-bus/build/Release/i2c.node', 'epoll/build/Release/epoll.node', 'sd-notify/build/Release/notify.node']) {
    assert.ok(list.includes(nm + addon), `${addon} is shipped`);
  }
  const leftovers = list.filter((f) => /\/(i2c-bus|epoll|sd-notify)\/build\/.*(\.o|\.d|\.mk|Makefile|config\.gypi|obj\.target\/.*)$/.test(f));
  assert.deepEqual(leftovers, [], 'node-gyp object files, Makefiles and .deps are pruned');
});

test('the .deb has DEBIAN/md5sums and a DEP-5 copyright naming the agent\'s and every npm package\'s licence', () => {
  const ctl = mkdtempSync(join(tmpdir(), 'bodycam-ctl-'));
  try {
    assert.equal(sh('dpkg-deb', ['-e', deb, ctl]).status, 0);
    const sums = readFileSync(join(ctl, 'md5sums'), 'utf8').trim().split('\n');
    assert.ok(sums.some((l) => /^[0-9a-f]{32} {2}usr\/lib\/bodycam-agent\/dist\/agent\/cli\/main\.js$/.test(l)), 'main.js is listed');
    assert.ok(sums.some((l) => l.endsWith('  usr/lib/bodycam-agent/node_modules/mqtt/build/index.js')));
    assert.deepEqual(sums.filter((l) => / etc\//.test(l)), [], 'conffiles are not in md5sums (dpkg tracks them itself)');
  } finally {
    rmSync(ctl, { recursive: true, force: true });
  }
  const copyright = spawnSync('sh', ['-c', `dpkg-deb --fsys-tarfile '${deb}' | tar -xO ./usr/share/doc/bodycam-agent/copyright`], { encoding: 'utf8' }).stdout;
  const paras = copyright.trim().split(/\n\n+/).map((p) => new Map(p.split(/\n(?! )/).map((f) => [f.slice(0, f.indexOf(':')), f.slice(f.indexOf(':') + 1).trim()] as const)));
  assert.equal(paras[0]!.get('Format'), 'https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/');
  const files = paras.filter((p) => p.has('Files'));
  assert.equal(files.find((p) => p.get('Files') === '*')?.get('License'), LICENSE, 'the agent\'s own licence (package.json)');
  assert.equal(files.find((p) => p.get('Files') === 'node_modules/mqtt/*')?.get('License'), 'MIT');
  assert.ok(files.every((p) => p.get('Copyright') && p.get('License')), 'every Files paragraph has Copyright and License');
  const standalone = new Set(paras.filter((p) => !p.has('Files') && p.has('License')).map((p) => p.get('License')!.split('\n')[0]));
  const used = new Set(files.flatMap((p) => p.get('License')!.split(/ (?:or|and|OR|AND) /)));
  assert.deepEqual([...used].filter((l) => !standalone.has(l)), [], 'every licence named has its own License paragraph');
});

test('apt installs the .deb with its dependencies; /usr/bin/bodycam is executable', () => {
  const r = sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', deb]);
  assert.equal(r.status, 0, r.out);
  assert.equal(sh('dpkg-query', ['-W', '-f=${Status}', 'bodycam-agent']).out, 'install ok installed');
  installedFiles = sh('dpkg', ['-L', 'bodycam-agent']).out.split('\n').filter((f) => f.startsWith('/'));
  assert.ok(installedFiles.includes('/usr/lib/bodycam-agent/node_modules/mqtt/package.json'), 'production dependencies are installed');
  assert.ok(!installedFiles.some((f) => f.includes('/node_modules/typescript/') || f.includes('/node_modules/eslint/')), 'no dev tools');
  assert.equal(sh('test', ['-x', BIN]).status, 0);
  assert.equal(sh('getent', ['passwd', 'bodycam']).status, 0, 'sysusers created the bodycam user');
});

test('dpkg --verify: every installed file matches the package\'s md5sums', () => {
  // Without md5sums dpkg --verify has nothing to compare and says nothing: the list must be there.
  assert.ok(existsSync('/var/lib/dpkg/info/bodycam-agent.md5sums'), 'dpkg recorded the package\'s md5sums');
  const r = sh('dpkg', ['--verify', 'bodycam-agent']);
  assert.equal(r.status, 0, r.out);
  assert.equal(r.out.trim(), '', 'no file differs');
});

test('the installed bodycam: --help and every command\'s --help exit 0 without a stack trace; --version if it has one', (t) => {
  const help = bodycam('--help');
  assert.equal(help.status, 0, help.out);
  assert.doesNotMatch(help.out, CRASH);
  // The lines under 'commands:' up to the next blank line (other lists, e.g. exit codes, follow).
  const lines = help.out.split('\n');
  const from = lines.indexOf('commands:') + 1;
  const to = lines.indexOf('', from);
  const commands = lines.slice(from, to < 0 ? undefined : to).map((l) => /^ {2}(\S+)\s{2,}/.exec(l)?.[1]).filter((c): c is string => !!c);
  assert.ok(from > 0, help.out);
  assert.ok(commands.includes('agent') && commands.includes('central'), help.out);
  for (const c of commands) {
    const r = bodycam(c, '--help');
    assert.equal(r.status, 0, `bodycam ${c} --help: ${r.out}`);
    assert.doesNotMatch(r.out, CRASH, `bodycam ${c} --help`);
  }
  const v = bodycam('--version');
  assert.doesNotMatch(v.out, CRASH);
  if (v.status === 0) assert.match(v.out, new RegExp(VERSION.replace(/\./g, '\\.')));
  else t.diagnostic(`bodycam --version is not a command of this release (exit ${v.status}): only checked it does not crash`);
});

test('the installed bodycam: board check passes for every shipped board config', () => {
  const dir = '/usr/lib/bodycam-agent/board-configs';
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'schema.json').map((f) => join(dir, f));
  const r = bodycam('board', 'check', ...files);
  assert.equal(r.status, 0, r.out);
});

test('the installed bodycam: selftest --board sim passes', () => {
  const r = bodycam('selftest', '--board', 'sim', '--data-dir', join(DATA, 'selftest'));
  assert.equal(r.status, 0, r.out);
});

test('the installed bodycam: a short shift on the sim board is recorded, signed and verifies', { timeout: 180_000 }, async () => {
  const data = join(DATA, 'agent');
  assert.equal(bodycam('provision', '--data-dir', data, '--device-id', 'cam-deb-test').status, 0);
  const agent = spawn(BIN, ['agent', '--board', 'sim', '--data-dir', data], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  agent.stdout.on('data', (d: Buffer) => (log += d.toString()));
  agent.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => agent.on('exit', (c) => r(c)));
  try {
    const status = async (pred: (s: { state: string; segments: number }) => boolean, what: string): Promise<void> => {
      for (let i = 0; i < 600; i++) {
        const r = bodycam('status', '--data-dir', data, '--json');
        if (r.status === 0 && pred(JSON.parse(r.out) as { state: string; segments: number })) return;
        await sleep(100);
      }
      assert.fail(`waiting for ${what}\n${log.slice(-3000)}`);
    };
    await status((s) => s.state === 'OFF_DUTY', 'the agent to come up');
    assert.equal(bodycam('press', 'shift', '--hold', '2.2', '--data-dir', data).status, 0);
    await status((s) => s.state === 'RECORDING' && s.segments >= 2, 'two segments');
    assert.equal(bodycam('press', 'shift', '--hold', '3.2', '--data-dir', data).status, 0);
    assert.equal(bodycam('press', 'shift', '--data-dir', data).status, 0);
    await status((s) => s.state === 'OFF_DUTY', 'the shift end');
  } finally {
    agent.kill('SIGTERM');
    await exited;
  }
  const shifts = readdirSync(join(data, 'shifts'));
  assert.equal(shifts.length, 1);
  const v = bodycam('verify', join(data, 'shifts', shifts[0]!), '--pubkey', join(data, 'identity/device.pub.pem'));
  assert.equal(v.status, 0, v.out);
});

test('the installed agent sends telemetry to mosquitto over mutual TLS; the installed `central watch` receives its status and heartbeats', { timeout: 240_000 }, async () => {
  const dir = join(DATA, 'mqtt');
  const dev = 'cam-deb-mqtt';
  const data = join(dir, 'agent');
  let broker: Broker | undefined;
  let agent: ReturnType<typeof spawn> | undefined;
  let log = '';
  let exited: Promise<number | null> = Promise.resolve(null);
  try {
    broker = await startMosquitto(dir);
    const cam = broker.pki.client(dev);
    const central = broker.pki.client('central');
    const config = join(dir, 'agent.json');
    writeFileSync(config, JSON.stringify({
      deviceId: dev,
      policy: { heartbeatOffDutyS: 2 },
      mqtt: { url: broker.url, ca: broker.pki.ca, cert: cam.cert, key: cam.key, reconnectMinMs: 200, reconnectMaxMs: 1500 },
    }));
    assert.equal(bodycam('provision', '--data-dir', data, '--device-id', dev).status, 0);
    const a = spawn(BIN, ['agent', '--board', 'sim', '--data-dir', data, '--config', config], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    agent = a;
    a.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    a.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    exited = new Promise<number | null>((r) => a.on('exit', (c) => r(c)));
    // The retained status, then heartbeats every 2 s: --count 4 ends it well before the timeout.
    const w = await run(BIN, ['central', 'watch', '--url', broker.url, '--ca', broker.pki.ca, '--cert', central.cert, '--key', central.key,
      '--device', dev, '--count', '4', '--timeout', '90'], 120_000);
    assert.equal(w.status, 0, `${w.stderr}\nagent:\n${log.slice(-3000)}`);
    assert.doesNotMatch(w.stderr, CRASH);
    const lines = w.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { device: string; kind: string; message?: Record<string, unknown> });
    assert.ok(lines.every((l) => l.device === dev), w.stdout);
    assert.equal(lines.find((l) => l.kind === 'status')?.message?.['presence'], 'PRESENCE_ONLINE', w.stdout);
    const hb = lines.filter((l) => l.kind === 'heartbeat');
    assert.ok(hb.length >= 2, `two heartbeats or more:\n${w.stdout}\nagent:\n${log.slice(-3000)}`);
    assert.equal(hb[0]!.message?.['deviceId'], dev);
    assert.doesNotMatch(log, /ext_telemetry|Cannot find module|ERR_MODULE_NOT_FOUND/, 'the telemetry extension loaded');
    assert.match(broker.logs(), new RegExp(`${dev}`), 'the broker saw the camera\'s certificate CN');
  } finally {
    agent?.kill('SIGTERM');
    await exited;
    await broker?.stop();
  }
});

test('no board by default: /etc/default/bodycam-agent sets none, and the agent the unit runs refuses to start (exit 78, the unit\'s RestartPreventExitStatus) saying where to set it', () => {
  const unit = readFileSync('/usr/lib/systemd/system/bodycam-agent.service', 'utf8').split('\n');
  assert.ok(unit.includes('EnvironmentFile=-/etc/default/bodycam-agent'));
  assert.deepEqual(unit.filter((l) => /^Environment=.*BODYCAM_BOARD/.test(l)), [], 'the unit has no default board');
  const exec = unit.find((l) => l.startsWith('ExecStart=')) ?? assert.fail('no ExecStart');
  assert.match(exec, /--board \$\{BODYCAM_BOARD\} /);
  assert.ok(unit.includes('RestartPreventExitStatus=78'), 'a missing board fails the unit instead of a restart loop');
  const defaults = readFileSync('/etc/default/bodycam-agent', 'utf8');
  assert.deepEqual(defaults.split('\n').filter((l) => /^\s*BODYCAM_BOARD=/.test(l)), [], 'no board is chosen by the package');
  // What systemd runs, expanded the way it expands ${BODYCAM_BOARD} (unset: one empty argument).
  const argv = exec.slice('ExecStart='.length).split(' ').map((a) => (a === '${BODYCAM_BOARD}' ? '"$BODYCAM_BOARD"' : a))
    .map((a) => (a === '/var/lib/bodycam' ? join(DATA, 'noboard') : a)).map((a) => (a === '/usr/bin/node' ? 'exec /usr/bin/node' : a));
  const env = Object.fromEntries(Object.entries(ENV).filter(([k]) => k !== 'BODYCAM_BOARD'));
  const r = spawnSync('sh', ['-c', `set -a; . /etc/default/bodycam-agent; ${argv.join(' ')}`], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(r.status, 78, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /no board configured/);
  assert.match(r.stderr, /BODYCAM_BOARD in \/etc\/default\/bodycam-agent/);
  assert.doesNotMatch(r.stderr, CRASH);
  assert.ok(!existsSync(join(DATA, 'noboard', 'shifts')), 'nothing was started');
});

/**
 * systemd is not PID 1 here, so the maintainer scripts' systemd branch is driven honestly but not
 * against a live systemd: dpkg runs them in a private mount namespace where /run/systemd/system
 * exists (what they test for), with stub `deb-systemd-invoke` and `systemctl` first on PATH that
 * record each call and the script that made it. deb-systemd-helper (enable state) is the real one.
 */
test('maintainer scripts with stub deb-systemd-invoke/systemctl (systemd not PID 1 here): an upgrade restarts the agent and never stops it; removal stops it; a first install starts it', { timeout: 300_000 }, () => {
  const stubs = mkdtempSync(join(tmpdir(), 'bodycam-stubs-'));
  const calls = join(stubs, 'calls');
  for (const tool of ['deb-systemd-invoke', 'systemctl']) {
    // systemctl --root=/ (deb-systemd-helper's offline `preset`: the enable symlinks) needs no
    // running systemd: that call goes on to the real systemctl; every other call is only recorded.
    const offline = tool === 'systemctl' ? 'case "$1" in --root=*) exec /usr/bin/systemctl "$@";; esac\n' : '';
    writeFileSync(join(stubs, tool), `#!/bin/sh\necho "\${DPKG_MAINTSCRIPT_NAME:-?} ${tool} $*" >> '${calls}'\n${offline}exit 0\n`);
    chmodSync(join(stubs, tool), 0o755);
  }
  const dpkg = (...args: string[]): string[] => {
    writeFileSync(calls, '');
    const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs bodycam-test /run/systemd && mkdir /run/systemd/system && exec dpkg "$@"', 'sh', ...args],
      { encoding: 'utf8', env: { ...ENV, PATH: `${stubs}:${ENV.PATH}` }, timeout: 240_000 });
    assert.equal(r.status, 0, `dpkg ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean);
  };
  const invoked = (lines: string[]): string[] => lines.filter((l) => l.includes(' deb-systemd-invoke '));
  const wants = '/etc/systemd/system/multi-user.target.wants/bodycam-agent.service';
  try {
    // Reinstalling the same version is an upgrade for dpkg (prerm upgrade, postinst configure VERSION).
    const same = dpkg('-i', deb);
    assert.deepEqual(invoked(same), ['postinst deb-systemd-invoke restart bodycam-agent.service'], same.join('\n'));
    assert.ok(same.includes('postinst systemctl --system daemon-reload'), same.join('\n'));
    assert.ok(existsSync(wants), 'still enabled');
    // A newer version: the same files under Version VERSION+test1.
    const tree = mkdtempSync(join(tmpdir(), 'bodycam-newer-'));
    const newer = join(OUT, `bodycam-agent_${VERSION}+test1.deb`);
    assert.equal(sh('dpkg-deb', ['-R', deb, tree]).status, 0);
    const control = join(tree, 'DEBIAN/control');
    writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${VERSION}+test1`));
    assert.equal(sh('dpkg-deb', ['--root-owner-group', '-b', tree, newer]).status, 0);
    rmSync(tree, { recursive: true, force: true });
    const up = dpkg('-i', newer);
    assert.deepEqual(invoked(up), ['postinst deb-systemd-invoke restart bodycam-agent.service'], up.join('\n'));
    assert.equal(sh('dpkg-query', ['-W', '-f=${Version}', 'bodycam-agent']).out, `${VERSION}+test1`);
    // Removal (config files kept) stops it, from prerm.
    const rm = dpkg('-r', 'bodycam-agent');
    assert.deepEqual(invoked(rm), ['prerm deb-systemd-invoke stop bodycam-agent.service'], rm.join('\n'));
    // Purged, then installed again: a first install starts it (the agent itself refuses without a board).
    dpkg('--purge', 'bodycam-agent');
    const fresh = dpkg('-i', deb);
    assert.deepEqual(invoked(fresh), ['postinst deb-systemd-invoke start bodycam-agent.service'], fresh.join('\n'));
    assert.ok(existsSync(wants), 'a first install enables the unit');
  } finally {
    rmSync(stubs, { recursive: true, force: true });
  }
});

test('systemd-analyze verify accepts the installed unit', () => {
  const r = sh('systemd-analyze', ['verify', '--man=no', '/usr/lib/systemd/system/bodycam-agent.service']);
  const problems = r.out.split('\n').filter((l) => l.includes('bodycam-agent.service'));
  assert.deepEqual(problems, [], r.out);
});

/** The template unit's ExecStart for instance NAME, its /etc and /var/lib paths moved under `root`, as argv. */
function instanceArgv(unit: string, name: string, root: string): string[] {
  const exec = unit.split('\n').find((l) => l.startsWith('ExecStart=')) ?? assert.fail('no ExecStart');
  return exec.slice('ExecStart='.length).replaceAll('%i', name).replaceAll('/etc/bodycam/', `${root}/etc/`).replaceAll('/var/lib/bodycam/', `${root}/var/`).split(' ');
}

test('one agent per camera: the installed template bodycam-agent@.service runs two instances side by side, each with its own board, config, data dir and identity (the shipped custody profile: duty on at start)', { timeout: 180_000 }, async () => {
  const path = '/usr/lib/systemd/system/bodycam-agent@.service';
  const unit = readFileSync(path, 'utf8');
  const lines = unit.split('\n');
  for (const l of ['StateDirectory=bodycam/cameras/%i', 'RuntimeDirectory=bodycam/%i', 'AssertPathExists=/etc/bodycam/cameras/%i.board.json', 'AssertPathExists=/etc/bodycam/cameras/%i.json', 'AssertPathExists=/var/lib/bodycam/cameras/%i/identity/device.pub.pem', 'Type=notify']) {
    assert.ok(lines.includes(l), `${l} in ${path}`);
  }
  assert.ok(existsSync('/etc/bodycam/cameras'), 'the instances\' config directory is installed');
  const v = sh('systemd-analyze', ['verify', '--man=no', '/usr/lib/systemd/system/bodycam-agent@cell-1.service']);
  assert.deepEqual(v.out.split('\n').filter((l) => l.includes('bodycam-agent@')), [], v.out);

  const root = mkdtempSync(join(tmpdir(), 'bodycam-instances-'));
  const names = ['cell-1', 'cell-2'];
  const agents: { name: string; dataDir: string; p: ReturnType<typeof spawn>; log: () => string }[] = [];
  try {
    for (const name of names) {
      const dataDir = join(root, 'var', 'cameras', name);
      assert.equal(bodycam('provision', '--data-dir', dataDir).status, 0);
      const etc = join(root, 'etc', 'cameras');
      spawnSync('mkdir', ['-p', etc]);
      writeFileSync(join(etc, `${name}.board.json`), readFileSync('/usr/lib/bodycam-agent/board-configs/sim.json'));
      writeFileSync(join(etc, `${name}.json`), readFileSync('/usr/lib/bodycam-agent/profiles/custody.json'));
      const [cmd, ...args] = instanceArgv(unit, name, root);
      const flag = (f: string): string | undefined => args[args.indexOf(f) + 1];
      assert.deepEqual([flag('--board'), flag('--data-dir'), flag('--config')], [join(etc, `${name}.board.json`), dataDir, join(etc, `${name}.json`)], 'board, data dir and config per instance');
      const p = spawn(cmd!, args, { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      p.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      agents.push({ name, dataDir, p, log: () => log });
    }
    const ids = new Set<string>();
    for (const a of agents) {
      let s: { state?: string; segments?: number; deviceId?: string } = {};
      const until = Date.now() + 90_000;
      while (Date.now() < until) {
        const r = bodycam('status', '--data-dir', a.dataDir, '--json');
        if (r.status === 0) {
          s = JSON.parse(r.out) as typeof s;
          if (s.state === 'RECORDING' && (s.segments ?? 0) >= 2) break;
        }
        await sleep(500);
      }
      assert.equal(s.state, 'RECORDING', `${a.name}: custody duty on by itself\n${a.log().slice(-3000)}`);
      assert.ok((s.segments ?? 0) >= 2, `${a.name} records`);
      ids.add(String(s.deviceId));
      assert.equal(readdirSync(join(a.dataDir, 'shifts')).length, 1, `${a.name}: its shift in its own data dir`);
    }
    assert.equal(ids.size, 2, `two cameras, two device ids: ${[...ids].join(', ')}`);
  } finally {
    for (const a of agents) a.p.kill('SIGTERM');
    for (const a of agents) if (a.p.exitCode === null) await new Promise((r) => a.p.once('exit', r));
    rmSync(root, { recursive: true, force: true });
  }
});

test('removing the package leaves none of its files', () => {
  assert.ok(installedFiles.length > 100);
  const r = sh('apt-get', ['purge', '-y', '-qq', 'bodycam-agent']);
  assert.equal(r.status, 0, r.out);
  // Shared directories (/usr/lib/systemd/system…) stay; every file and the agent's tree go.
  const left = installedFiles.filter((f) => existsSync(f) && !lstatSync(f).isDirectory());
  assert.deepEqual(left, []);
  assert.ok(!existsSync('/usr/lib/bodycam-agent'), 'the agent tree is gone');
});
