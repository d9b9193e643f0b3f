// Merges the TAP files the HIL boots left in their results shares into one TAP file whose
// summary lines (`# pass N`, `# fail N`) scripts/summarize-tests.mjs reads. A boot that crashed
// or never wrote TAP counts as a failure, as does a power cut that never happened.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [out, dest] = process.argv.slice(2);
const results = [];
const phases = ['main', 'recover'];
for (const phase of phases) {
  const dir = join(out, phase);
  if (!existsSync(dir)) {
    results.push({ ok: false, name: `${phase}: boot did not run${phase === 'recover' ? ' (no power cut happened in main)' : ''}` });
    continue;
  }
  const tapFile = join(dir, 'guest.tap');
  const rc = existsSync(join(dir, 'rc')) ? readFileSync(join(dir, 'rc'), 'utf8').trim() : undefined;
  if (!existsSync(tapFile)) {
    results.push({ ok: false, name: `${phase}: no test results (guest rc ${rc ?? 'none'}; see ${join(dir, 'console.log')})` });
    continue;
  }
  // Every test point, nested or not, except suites (node marks them `type: 'suite'` in the YAML
  // block that follows the point): a suite's result repeats its tests'.
  const lines = readFileSync(tapFile, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const m = /^\s*(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line);
    if (!m) return;
    let j = i + 1;
    let suite = false;
    if (/^\s*---$/.test(lines[j] ?? '')) {
      for (j++; j < lines.length && !/^\s*\.\.\.$/.test(lines[j]); j++) if (/type: 'suite'/.test(lines[j])) suite = true;
    }
    if (!suite) results.push({ ok: m[1] === 'ok', skip: Boolean(m[3]), name: `${phase}: ${m[2]}` });
  });
  if (phase === 'main' && existsSync(join(dir, 'powerloss-failed'))) results.push({ ok: false, name: 'main: power-loss preparation failed' });
  if (phase === 'main' && !existsSync(join(dir, 'cut'))) results.push({ ok: false, name: 'main: the VM was not powered off mid-shift' });
}
let pass = 0, fail = 0, skip = 0;
const lines = ['TAP version 13'];
results.forEach((r, i) => {
  lines.push(`${r.ok ? 'ok' : 'not ok'} ${i + 1} - ${r.name}${r.skip ? ' # SKIP' : ''}`);
  if (r.skip) skip++;
  else if (r.ok) pass++;
  else fail++;
});
lines.push(`1..${results.length}`, `# tests ${results.length}`, `# pass ${pass}`, `# fail ${fail}`, `# skipped ${skip}`);
writeFileSync(dest, lines.join('\n') + '\n');
console.log(lines.filter((l) => l.startsWith('not ok')).join('\n'));
console.log(`hil: ${pass} passed, ${fail} failed, ${skip} skipped`);
process.exit(fail > 0 || pass === 0 ? 1 : 0);
