/**
 * The image's D-Bus policy for RAUC (yocto-layer/dynamic-layers/rauc/recipes-bodycam/bodycam-agent/
 * files/bodycam-rauc.conf), on a real dbus-daemon with a real `rauc service` (Debian's rauc and
 * rauc-service), read in the order the image's system bus reads them: RAUC's own policy
 * (/usr/share/dbus-1/system.d, from the rauc-service package) first, the image's (/etc/dbus-1/
 * system.d) after it. A private bus on a socket in a temporary directory: the host's system bus,
 * if any, is never touched.
 *
 * Users: root; a system user whose group is `bodycam` (the agent's, created for the test when the
 * host has none, removed after); `nobody`. Each asks RAUC for its `Operation` property.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';

const POLICY = join(REPO, 'yocto-layer/dynamic-layers/rauc/recipes-bodycam/bodycam-agent/files/bodycam-rauc.conf');
const RAUC_OWN = '/usr/share/dbus-1/system.d/de.pengutronix.rauc.conf';
const USER = 'bodycam-dbus-t';
const DIR = mkdtempSync(join(tmpdir(), 'bodycam-rauc-dbus-'));
// The unprivileged users must reach the bus's socket in it (mkdtemp makes it 0700).
chmodSync(DIR, 0o755);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const run = (cmd: string, args: string[]): { status: number | null; out: string } => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};
let createdGroup = false;
let createdUser = false;

/** A system bus like the image's: default-deny for method calls (as dbus's system.conf), then the
 * policy files in `files`, in that order. */
function busConfig(name: string, files: readonly string[]): string {
  const path = join(DIR, `${name}.conf`);
  writeFileSync(path, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${join(DIR, `${name}.sock`)}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
${files.map((f) => `  <include>${f}</include>`).join('\n')}
</busconfig>
`);
  return path;
}

interface Bus { readonly address: string; stop(): Promise<void> }

/** dbus-daemon on `config`, and `rauc service` (root) owning de.pengutronix.rauc on it. */
async function startBus(name: string, files: readonly string[]): Promise<Bus> {
  const address = `unix:path=${join(DIR, `${name}.sock`)}`;
  const procs: ChildProcess[] = [];
  const daemon = spawn('dbus-daemon', ['--nofork', '--nopidfile', `--config-file=${busConfig(name, files)}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(daemon);
  const raucConf = join(DIR, 'system.conf');
  writeFileSync(raucConf, '[system]\ncompatible=bodycam-dbus-test\nbootloader=noop\n\n[slot.rootfs.0]\ndevice=/dev/null\ntype=raw\nbootname=A\n');
  for (let i = 0; i < 100 && !existsSync(join(DIR, `${name}.sock`)); i++) await sleep(50);
  const rauc = spawn('rauc', [`--conf=${raucConf}`, '--override-boot-slot=A', 'service'], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address }, stdio: ['ignore', 'ignore', 'pipe'] });
  let raucErr = '';
  rauc.stderr!.on('data', (d: Buffer) => (raucErr += d.toString()));
  procs.push(rauc);
  for (let i = 0; i < 100; i++) {
    if (run('busctl', [`--address=${address}`, 'status', 'de.pengutronix.rauc']).status === 0) break;
    if (rauc.exitCode !== null) assert.fail(`rauc service exited: ${raucErr}`);
    await sleep(100);
  }
  return {
    address,
    async stop() {
      for (const p of procs.reverse()) {
        if (p.exitCode === null) {
          p.kill('SIGTERM');
          await new Promise((r) => p.once('exit', r));
        }
      }
    },
  };
}

/** Reads RAUC's Operation property as `user` (uid:gid, supplementary groups from the user database). */
function operationAs(bus: Bus, user: string): { status: number | null; out: string } {
  const busctl = ['busctl', `--address=${bus.address}`, 'get-property', 'de.pengutronix.rauc', '/', 'de.pengutronix.rauc.Installer', 'Operation'];
  if (user === 'root') return run(busctl[0]!, busctl.slice(1));
  return run('setpriv', [`--reuid=${user}`, `--regid=${run('id', ['-g', user]).out.trim()}`, '--init-groups', ...busctl]);
}

before(() => {
  if (run('getent', ['group', 'bodycam']).status !== 0) {
    assert.equal(run('groupadd', ['--system', 'bodycam']).status, 0);
    createdGroup = true;
  }
  if (run('getent', ['passwd', USER]).status !== 0) {
    const r = run('useradd', ['--system', '--no-create-home', '--gid', 'bodycam', '--shell', '/usr/sbin/nologin', USER]);
    assert.equal(r.status, 0, r.out);
    createdUser = true;
  }
});

after(() => {
  if (createdUser) run('userdel', [USER]);
  if (createdGroup) run('groupdel', ['bodycam']);
  rmSync(DIR, { recursive: true, force: true });
});

void test("RAUC's own D-Bus policy lets any local user (nobody) drive RAUC", { timeout: 60_000 }, async () => {
  const bus = await startBus('rauc-only', [RAUC_OWN]);
  try {
    const r = operationAs(bus, 'nobody');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^s "idle"/m);
  } finally {
    await bus.stop();
  }
});

void test("with the image's policy after RAUC's: root and group bodycam reach RAUC, nobody is refused by the bus", { timeout: 60_000 }, async () => {
  const bus = await startBus('image', [RAUC_OWN, POLICY]);
  try {
    for (const user of ['root', USER]) {
      const r = operationAs(bus, user);
      assert.equal(r.status, 0, `${user}: ${r.out}`);
      assert.match(r.out, /^s "idle"/m, user);
    }
    const denied = operationAs(bus, 'nobody');
    assert.notEqual(denied.status, 0, denied.out);
    assert.match(denied.out, /Access denied|AccessDenied/i);
  } finally {
    await bus.stop();
  }
});
