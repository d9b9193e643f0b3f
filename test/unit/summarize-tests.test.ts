/**
 * scripts/summarize-tests.mjs, the closing line of `make test` that CI reads: fed small TAP files
 * as node:test writes them, it counts what did not pass as failed — cancelled tests, todo tests
 * that fail, stages without TAP, TAP cut short, a non-zero exit behind a clean TAP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';

const SCRIPT = join(REPO, 'scripts/summarize-tests.mjs');

function footer(c: { pass?: number; fail?: number; cancelled?: number; skipped?: number; todo?: number }): string {
  const tests = (c.pass ?? 0) + (c.fail ?? 0) + (c.cancelled ?? 0) + (c.skipped ?? 0) + (c.todo ?? 0);
  return [`1..${tests}`, `# tests ${tests}`, '# suites 0', `# pass ${c.pass ?? 0}`, `# fail ${c.fail ?? 0}`,
    `# cancelled ${c.cancelled ?? 0}`, `# skipped ${c.skipped ?? 0}`, `# todo ${c.todo ?? 0}`, '# duration_ms 12.5', ''].join('\n');
}

/** Runs the summary over `files` (name → content); its output and exit status. */
function summarize(files: Record<string, string>, expect?: string[]): { status: number | null; lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'bodycam-summary-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = spawnSync(process.execPath, [SCRIPT, dir, ...(expect ? ['--expect', expect.join(',')] : [])], { encoding: 'utf8' });
    return { status: r.status, lines: r.stdout.trimEnd().split('\n') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('all passed: the closing line alone, exit 0', () => {
  const r = summarize({ 'unit.tap': 'TAP version 13\nok 1 - a\nok 2 - b\nok 3 - c # SKIP\n' + footer({ pass: 2, skipped: 1 }), 'unit.exit': '0\n' });
  assert.equal(r.lines.at(-1), 'tests: 2 passed, 0 failed, 1 skipped');
  assert.equal(r.status, 0);
});

test('cancelled tests count as failed (a failed before() hook cancels a suite\'s tests)', () => {
  const yocto = 'TAP version 13\n# Subtest: Yocto scarthgap\n    not ok 1 - parses\n    not ok 2 - -e\nnot ok 1 - Yocto scarthgap\n' + footer({ pass: 0, cancelled: 8 });
  const r = summarize({ 'unit.tap': footer({ pass: 542 }), 'yocto.tap': yocto, 'yocto.exit': '1\n' });
  assert.equal(r.lines.at(-1), 'tests: 542 passed, 8 failed, 0 skipped');
  assert.match(r.lines.find((l) => l.includes('yocto'))!, /8 failed.*8 cancelled/);
  assert.equal(r.status, 1);
});

test('a todo test that fails counts as failed; one that passes as passed', () => {
  const tap = 'TAP version 13\nok 1 - a\nnot ok 2 - later # TODO\nok 3 - soon # TODO\n' + footer({ pass: 1, todo: 2 });
  const r = summarize({ 'unit.tap': tap });
  assert.equal(r.lines.at(-1), 'tests: 2 passed, 1 failed, 0 skipped');
  assert.equal(r.status, 1);
});

test('an expected stage without TAP is a failure, named', () => {
  const r = summarize({ 'unit.tap': footer({ pass: 3 }) }, ['unit', 'media']);
  assert.equal(r.lines.at(-1), 'tests: 3 passed, 1 failed, 0 skipped');
  assert.match(r.lines.find((l) => l.includes('media'))!, /1 failed.*no TAP/);
  assert.equal(r.status, 1);
});

test('a stage that exited non-zero without TAP is reported', () => {
  const r = summarize({ 'unit.tap': footer({ pass: 3 }), 'gnss.exit': '7\n' });
  assert.match(r.lines.find((l) => l.includes('gnss'))!, /1 failed.*exited 7 without TAP/);
  assert.equal(r.lines.at(-1), 'tests: 3 passed, 1 failed, 0 skipped');
});

test('a TAP cut short (no closing counts) or a non-zero exit behind a clean TAP is a failure', () => {
  const r = summarize({
    'unit.tap': footer({ pass: 3 }),
    'media.tap': 'TAP version 13\nok 1 - a\n# Subtest: b\n',
    'faults.tap': footer({ pass: 2 }), 'faults.exit': '1\n',
  });
  assert.match(r.lines.find((l) => l.includes('media'))!, /cut short/);
  assert.match(r.lines.find((l) => l.includes('faults'))!, /2 passed, 1 failed.*exited 1/);
  assert.equal(r.lines.at(-1), 'tests: 5 passed, 2 failed, 0 skipped');
  assert.equal(r.status, 1);
});

test('nothing passed at all is a failure', () => {
  assert.equal(summarize({}).status, 1);
});
