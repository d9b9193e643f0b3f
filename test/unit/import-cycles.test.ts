/**
 * `make lint` fails on an import circle: the repo's dependency-cruiser setup, copied to a
 * temporary folder beside two tiny modules that import each other (one of them type-only, which
 * counts too), fails and names the circle; without the circle it passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';

function lintCopy(files: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bodycam-cycle-'));
  try {
    for (const f of ['.dependency-cruiser.mjs', 'tsconfig.json', 'package.json']) copyFileSync(join(REPO, f), join(dir, f));
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    mkdirSync(join(dir, 'agent'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'agent', name), text);
    // What `make lint` runs, on the copy.
    const r = spawnSync(join(REPO, 'node_modules/.bin/depcruise'), ['--config', '.dependency-cruiser.mjs', '--output-type', 'err', 'agent'], { cwd: dir, encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a circle of two modules (one import type-only) fails the lint, named', { timeout: 60_000 }, () => {
  const r = lintCopy({
    'a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
    'b.ts': "import { one } from './a-value.js';\nimport type { A } from './a.js';\nexport interface B { a?: A; n: typeof one }\n",
    'a-value.ts': 'export const one = 1;\n',
  });
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /no-circular/, r.out);
  assert.match(r.out, /agent\/a\.ts →\s+agent\/b\.ts →\s+agent\/a\.ts/, r.out);
});

test('the same modules without the circle pass', { timeout: 60_000 }, () => {
  const r = lintCopy({
    'a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
    'b.ts': 'export interface B { n: number }\n',
  });
  assert.equal(r.status, 0, r.out);
});
