/**
 * `make package`'s .deb, round trip on this machine: apt installs it with its dependencies, the
 * installed `bodycam` checks the boards, passes the sim selftest and records a short signed shift
 * that verifies, systemd accepts the installed unit, and removal leaves no file of the package.
 * Everything runs the installed binary (/usr/bin/bodycam under the distro's node), not the checkout.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';

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
  for (const f of ['package/package.json', 'package/package-lock.json', 'package/dist/agent/cli/main.js', 'package/dist/hal/index.js', 'package/board-configs/sim.json']) {
    assert.ok(list.includes(f), `${f} missing`);
  }
  assert.deepEqual(list.filter((f) => /\/test\/|\.ts$|\.map$|^package\/(agent|hal|codegen|proto|yocto-layer)\//.test(f)), []);
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

test('systemd-analyze verify accepts the installed unit', () => {
  const r = sh('systemd-analyze', ['verify', '--man=no', '/usr/lib/systemd/system/bodycam-agent.service']);
  const problems = r.out.split('\n').filter((l) => l.includes('bodycam-agent.service'));
  assert.deepEqual(problems, [], r.out);
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
