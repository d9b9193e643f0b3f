/** The CLI's own surface: board check over the shipped directory, --version, exit codes in every --help. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, REPO } from '../helpers/agent.js';

test('board check board-configs/*.json passes: the JSON Schema no longer sits among the boards', async () => {
  const dir = join(REPO, 'board-configs');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f));
  assert.ok(files.length >= 5, 'the shipped boards');
  const r = await runCli(['board', 'check', ...files]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, files.length);
  const l = await runCli(['board', 'list']);
  assert.equal(l.code, 0, l.stdout + l.stderr);
  assert.doesNotMatch(l.stdout, /schema|INVALID/);
});

test('--version prints the firmware version and the Node running it', async () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const r = await runCli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `bodycam ${pkg.version} (node ${process.version})`);
  const env = await runCli(['--version'], { env: { BODYCAM_FIRMWARE_VERSION: '9.9.9-test' } });
  assert.match(env.stdout, /^bodycam 9\.9\.9-test \(node v\d+/);
  assert.equal((await runCli(['--version', 'x'])).code, 2);
});

test('bodycam --help and every command --help list the exit codes; commands that need the agent list 3', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /exit codes \(every command\):\n {2}0 {2}ok\n {2}1 .*\n.*\n {2}2 {2}usage error.*\n {2}3 {2}no agent answers/);
  assert.match(top.stdout, /bodycam --version/);
  const names = [...top.stdout.matchAll(/^ {2}([a-z-]+) {2,}\S/gm)].map((m) => m[1]!).filter((n) => !/^\d/.test(n));
  assert.ok(names.includes('sim') && names.includes('status') && names.length >= 13, names.join(' '));
  for (const name of names) {
    const r = await runCli([name, '--help']);
    assert.equal(r.code, 0, name);
    assert.match(r.stdout, /exit codes:\n {2}0 {2}ok\n {2}1 {2}\S.*\n {2}2 {2}usage error/, name);
    const needsAgent = ['status', 'press', 'sim', 'offload', 'command'].includes(name);
    assert.equal(/\n {2}3 {2}no agent answers/.test(r.stdout), needsAgent, `${name}: exit 3 listed iff it talks to the agent`);
  }
});
