// Runs every generator; with --check, regenerates into memory and fails if a committed file is
// stale (CI). Each generator exports `generate(): Promise<Array<{path, content}>>`.
import { readFileSync } from 'node:fs';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { readdirSync } from 'node:fs';

const check = process.argv.includes('--check');
const here = new URL('.', import.meta.url).pathname;
const generators = readdirSync(here).filter((f) => f.startsWith('gen-') && f.endsWith('.mjs')).sort();
let stale = [];
for (const g of generators) {
  const mod = await import(new URL(g, import.meta.url).href);
  for (const { path, content } of await mod.generate()) {
    let old;
    try { old = readFileSync(path, 'utf8'); } catch { old = undefined; }
    if (old === content) continue;
    if (check) { stale.push(path); continue; }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    console.log(`>> codegen: wrote ${path}`);
  }
}
if (stale.length) {
  console.error(`generated code is stale, run 'make codegen' and commit:\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
if (check) console.log('>> codegen: generated code is up to date');
