/** The shipped systemd units are valid for systemd itself, the agent's hardened the way the layer
 * promises; the image's agent.json files load. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';
import { loadAgentConfig, sectionOf } from '../../agent/config/agent-config.js';
import type { UpdateConfig } from '../../agent/update/config.js';

const UNIT = join(REPO, 'yocto-layer/recipes-bodycam/bodycam-agent/files/bodycam-agent.service');

test('systemd-analyze verify accepts the unit (with @BOARD@ filled in)', { skip: spawnSync('systemd-analyze', ['--version']).status !== 0 ? 'systemd-analyze not installed' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'unit-'));
  const path = join(dir, 'bodycam-agent.service');
  // ExecStart must exist for verify: point it at this machine's node and the built CLI.
  const text = readFileSync(UNIT, 'utf8').replace('@BOARD@', 'sim').replace(/\/usr\/bin\/node ((?:--\S+ )*)\S+\/agent\/cli\/main\.js/, `${process.execPath} $1${join(REPO, 'dist/agent/cli/main.js')}`);
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

const RECIPE = join(REPO, 'yocto-layer/recipes-bodycam/bodycam-agent/bodycam-agent_0.1.0.bb');

/**
 * The recipe's anonymous python, run by python3 with the two things it touches standing in for
 * BitBake's (`d.getVar` and `bb.parse.SkipRecipe`): test/yocto runs it in real BitBake only with
 * the board set (scripts/yocto-env.sh writes BODYCAM_BOARD), so the unset case is proven here.
 */
function recipeVerdict(board: string | undefined): { skipped: boolean; reason: string } {
  const bb = readFileSync(RECIPE, 'utf8');
  const body = /^python \(\) \{\n([\s\S]*?)\n\}$/m.exec(bb)?.[1] ?? assert.fail('no anonymous python in the recipe');
  const script = [
    'import json, sys, types',
    'class SkipRecipe(Exception): pass',
    'bb = types.SimpleNamespace(parse=types.SimpleNamespace(SkipRecipe=SkipRecipe))',
    'board = json.loads(sys.argv[1])',
    'd = types.SimpleNamespace(getVar=lambda name: board if name == "BODYCAM_BOARD" else None)',
    'def anon():',
    ...body.split('\n').map((l) => l.replace(/^ {4}/, '    ')),
    'try:',
    '    anon(); print(json.dumps({"skipped": False, "reason": ""}))',
    'except SkipRecipe as e:',
    '    print(json.dumps({"skipped": True, "reason": str(e)}))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, JSON.stringify(board ?? null)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { skipped: boolean; reason: string };
}

test('the recipe has no default board: unset (or blank) BODYCAM_BOARD skips it with a reason naming the variable; a set one (sim too) builds', { skip: spawnSync('python3', ['--version']).status !== 0 ? 'python3 not installed' : false }, () => {
  const bb = readFileSync(RECIPE, 'utf8');
  assert.doesNotMatch(bb, /^BODYCAM_BOARD\s*\??\??=/m, 'no default (?= / ??=) for BODYCAM_BOARD');
  for (const unset of [undefined, '', '  ']) {
    const v = recipeVerdict(unset);
    assert.equal(v.skipped, true, `BODYCAM_BOARD=${JSON.stringify(unset)}`);
    assert.match(v.reason, /BODYCAM_BOARD is not set/);
    assert.match(v.reason, /machine config or local\.conf/);
  }
  assert.equal(recipeVerdict('rpi4-uvc').skipped, false);
  assert.equal(recipeVerdict('sim').skipped, false, 'the sim board stays usable when chosen');
  assert.equal(recipeVerdict('/etc/bodycam/board.json').skipped, false, 'a path on the target');
  const bad = recipeVerdict('rpi4 uvc');
  assert.equal(bad.skipped, true);
  assert.match(bad.reason, /not a board config name or path/);
});

test('the agent without a board exits 78, the code the unit\'s RestartPreventExitStatus= names, and says where to set it', () => {
  const unit = readFileSync(UNIT, 'utf8').split('\n');
  assert.ok(unit.includes('RestartPreventExitStatus=78'));
  // ExecStart's `--board @BOARD@` becomes `--board ${BODYCAM_BOARD}` in the .deb: unset, an empty argument.
  const r = spawnSync(process.execPath, [join(REPO, 'dist/agent/cli/main.js'), 'agent', '--board', '', '--data-dir', mkdtempSync(join(tmpdir(), 'noboard-'))], { encoding: 'utf8' });
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, /no board configured/);
  assert.match(r.stderr, /BODYCAM_BOARD in \/etc\/default\/bodycam-agent/);
  assert.match(r.stderr, /machine config or local\.conf/);
  const missing = spawnSync(process.execPath, [join(REPO, 'dist/agent/cli/main.js'), 'agent'], { encoding: 'utf8' });
  assert.equal(missing.status, 2, 'a missing --board on the command line stays a usage error');
  assert.match(missing.stderr, /--board is required/);
});

const RAUC_FILES = join(REPO, 'yocto-layer/dynamic-layers/rauc/recipes-bodycam/bodycam-agent/files');

test('with meta-rauc: systemd-analyze verify accepts bodycam-reboot.path and .service', { skip: spawnSync('systemd-analyze', ['--version']).status !== 0 ? 'systemd-analyze not installed' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'unit-'));
  for (const u of ['bodycam-reboot.path', 'bodycam-reboot.service']) copyFileSync(join(RAUC_FILES, u), join(dir, u));
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'bodycam-reboot.path'), join(dir, 'bodycam-reboot.service')], { encoding: 'utf8' });
  const problems = (r.stderr + r.stdout).split('\n').filter((l) => l.includes('bodycam-reboot'));
  assert.deepEqual(problems, [], r.stderr);
});

test("the image's agent.json loads; with meta-rauc it has an update section whose reboot request is the file bodycam-reboot.path watches", () => {
  const plain = loadAgentConfig(join(REPO, 'yocto-layer/recipes-bodycam/bodycam-agent/files/agent.json'));
  assert.equal(sectionOf<UpdateConfig | undefined>(plain, 'update'), undefined, 'without RAUC the agent refuses updates as unavailable');
  const rauc = sectionOf<UpdateConfig | undefined>(loadAgentConfig(join(RAUC_FILES, 'agent.json')), 'update') ?? assert.fail('no update section');
  const watched = /^PathExists=(\S+)$/m.exec(readFileSync(join(RAUC_FILES, 'bodycam-reboot.path'), 'utf8'))?.[1] ?? assert.fail('no PathExists=');
  assert.deepEqual(rauc.rebootCommand, ['/bin/touch', watched]);
  // The agent can write there: its unit's RuntimeDirectory= is /run/<that directory>.
  const runtimeDir = /^RuntimeDirectory=(\S+)$/m.exec(readFileSync(UNIT, 'utf8'))?.[1];
  assert.equal(watched, `/run/${runtimeDir}/reboot-requested`);
});
