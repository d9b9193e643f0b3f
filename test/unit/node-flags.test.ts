/**
 * The agent's V8 flags have one source (agent/node-flags.ts): every agent unit the layer and the
 * .deb ship starts node with exactly those flags, so the memory the bench measures is the memory
 * the camera has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { AGENT_NODE_FLAGS } from '../../agent/node-flags.js';

const FILES = join(process.cwd(), 'yocto-layer/recipes-bodycam/bodycam-agent/files');

test('every shipped bodycam-agent unit runs node with exactly AGENT_NODE_FLAGS before the CLI', () => {
  const units = readdirSync(FILES).filter((f) => /^bodycam-agent.*\.service$/.test(f));
  assert.ok(units.includes('bodycam-agent.service'), `no bodycam-agent.service in ${FILES}`);
  for (const u of units) {
    const exec = readFileSync(join(FILES, u), 'utf8').split('\n').find((l) => l.startsWith('ExecStart='));
    assert.ok(exec, `${u} has no ExecStart`);
    const argv = exec.slice('ExecStart='.length).split(/\s+/);
    assert.equal(argv[0], '/usr/bin/node', `${u}: ExecStart does not run /usr/bin/node`);
    const cli = argv.findIndex((a) => a.endsWith('/dist/agent/cli/main.js'));
    assert.ok(cli > 0, `${u}: ExecStart does not run the agent CLI`);
    assert.deepEqual(argv.slice(1, cli), [...AGENT_NODE_FLAGS], `${u}: node flags differ from agent/node-flags.ts`);
  }
});

test('the Node the tests run accepts AGENT_NODE_FLAGS (a flag it does not know would stop the unit)', () => {
  const r = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok');
});
