/** The shipped systemd unit is valid for systemd itself, and hardened the way the layer promises. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';

const UNIT = join(REPO, 'yocto-layer/recipes-bodycam/bodycam-agent/files/bodycam-agent.service');

test('systemd-analyze verify accepts the unit (with @BOARD@ filled in)', { skip: spawnSync('systemd-analyze', ['--version']).status !== 0 ? 'systemd-analyze not installed' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'unit-'));
  const path = join(dir, 'bodycam-agent.service');
  // ExecStart must exist for verify: point it at this machine's node and the built CLI.
  const text = readFileSync(UNIT, 'utf8').replace('@BOARD@', 'sim').replace(/\/usr\/bin\/node \S+\/agent\/cli\/main\.js/, `${process.execPath} ${join(REPO, 'dist/agent/cli/main.js')}`);
  assert.ok(text.includes(join(REPO, 'dist/agent/cli/main.js')), 'ExecStart was pointed at the built CLI');
  writeFileSync(path, text);
  copyFileSync(path, join(dir, 'x.service'));
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', path], { encoding: 'utf8' });
  const problems = (r.stderr + r.stdout).split('\n').filter((l) => l.includes('bodycam-agent.service') && !/Failed to resolve (user|group)|bodycam.*group/.test(l));
  assert.deepEqual(problems, [], r.stderr);
});

test('the unit is Type=notify with a watchdog, restarts, and runs unprivileged in a read-only system', () => {
  const u = readFileSync(UNIT, 'utf8');
  for (const line of ['Type=notify', 'WatchdogSec=30s', 'Restart=always', 'User=bodycam', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'StateDirectory=bodycam', 'DevicePolicy=closed', 'CapabilityBoundingSet=', 'KillMode=mixed']) {
    assert.ok(u.split('\n').includes(line), `missing '${line}'`);
  }
});
