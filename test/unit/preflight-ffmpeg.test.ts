/**
 * The pre-flight check of the encoder binary: an ffmpeg that fails is a configuration problem (the
 * agent exits 78 and the unit does not restart it); one that is merely slow to answer (cold flash
 * after boot, a loaded board) is not — the agent starts and the encoder supervisor deals with it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preflight } from '../../agent/preflight.js';
import { loadAgentConfig } from '../../agent/config/agent-config.js';
import { resolveBoard } from '../../agent/config/board.js';

const dir = mkdtempSync(join(tmpdir(), 'preflight-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const board = { ...resolveBoard('sim').board, encoder: { ...resolveBoard('sim').board.encoder, burnIn: false } };

function withFfmpeg(script: string, timeoutMs: number): string[] {
  const bin = join(dir, `ffmpeg-${Math.random().toString(36).slice(2)}`);
  writeFileSync(bin, `#!/bin/sh\n${script}\n`);
  chmodSync(bin, 0o755);
  const saved = process.env.BODYCAM_FFMPEG;
  process.env.BODYCAM_FFMPEG = bin;
  try {
    return preflight(join(dir, 'data'), board, loadAgentConfig(undefined), timeoutMs).map((i) => `${i.where}: ${i.message}`);
  } finally {
    if (saved === undefined) delete process.env.BODYCAM_FFMPEG;
    else process.env.BODYCAM_FFMPEG = saved;
  }
}

void test('an ffmpeg that answers is no problem', () => {
  assert.deepEqual(withFfmpeg('exit 0', 5000), []);
});

void test('an ffmpeg that exits non-zero is an encoder problem', () => {
  const issues = withFfmpeg('exit 3', 5000);
  assert.equal(issues.length, 1, issues.join('; '));
  assert.match(issues[0]!, /^encoder: '.*\/ffmpeg-\w+' does not run: exit 3$/);
});

void test('an ffmpeg slower than the timeout is no configuration problem (the agent starts)', () => {
  assert.deepEqual(withFfmpeg('sleep 2', 200), []);
});
