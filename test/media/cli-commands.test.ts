/** The CLI's own surface: board check over the shipped directory, --version, exit codes in every --help. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
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
