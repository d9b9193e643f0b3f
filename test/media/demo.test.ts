/**
 * `make demo` is one of the two commands a new user runs: its whole simulated shift (start,
 * both pauses, an auto-resume, an encoder SIGKILL, the confirmed end) must run to its end and the
 * shift it recorded must verify intact. Its data dir is removed afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';

void test('make demo: the narrated shift runs to its end, the encoder crash is recovered, and bodycam verify says INTACT (exit 0)', { timeout: 240_000 }, () => {
  const r = spawnSync(process.execPath, [join(REPO, 'dist/agent/demo/demo.js')], { encoding: 'utf8', timeout: 220_000 });
  const dataDir = /^data dir: (\S+)$/m.exec(r.stdout)?.[1];
  try {
    assert.equal(r.status, 0, `demo exit ${String(r.status)}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /recovered from a killed encoder/);
    assert.match(r.stdout, /shift_end — wearer/);
    assert.match(r.stdout, /bodycam verify → exit 0/);
    assert.match(r.stdout, /^\s+INTACT\s/m);
  } finally {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
});
