/**
 * Every `make bench` suite once at its smoke size (BENCH_SMOKE=1: seconds, not minutes), through
 * the bench runner itself: a suite that throws, or a part of one that fails, fails the tests.
 * The figures are not judged here (a benchmark informs, a test decides). In the central stage
 * because it has what the suites use: ffmpeg, mosquitto and Ceph RGW (scripts/deps.sh).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';
import { SUITES } from '../bench/suites.js';

const RUN = join(REPO, 'dist/test/bench/run.js');

function bench(name: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [RUN], { env: { ...process.env, BENCH_SMOKE: '1', BENCH_ONLY: name }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
  });
}

for (const { name } of SUITES) {
  test(`bench suite ${name} runs at its smoke size`, { timeout: 300_000 }, async () => {
    const r = await bench(name);
    assert.equal(r.code, 0, r.out.slice(-4000));
    assert.match(r.out, new RegExp(`^ {3}${name}: [1-9]\\d* figures in`, 'm'), r.out.slice(-4000));
    assert.doesNotMatch(r.out, /FAILED/, r.out.slice(-4000));
  });
}
