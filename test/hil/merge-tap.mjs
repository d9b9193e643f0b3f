// Merges the TAP files the HIL boots left in their results shares into one TAP file whose
// summary lines (`# pass N`, `# fail N`) scripts/summarize-tests.mjs reads. A boot that crashed
// or never wrote TAP counts as a failure, as does a power cut that never happened. The media lost
// at each cut (measured by the boot after it, test/hil/powercut.ts) goes in as `# ` diagnostics.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [out, dest, only] = process.argv.slice(2);
const results = [];
/** Boot → the power cut it ends with (test/hil/run.sh). */
const powerCut = [
  ['main', 1],
  ['recover1', 2],
  ['recover2', 3],
  ['recover3', 4],
  ['recover4', undefined],
];
/** The update sequence (test/hil/upd1..upd4): each boot after the first follows the agent's reboot. */
const update = [
  ['upd1', undefined],
  ['upd2', undefined],
  ['upd3', undefined],
  ['upd4', undefined],
];
const phases = only === 'update' ? update : [...powerCut, ...update];
const diagnostics = [];
for (const [i, [phase, cut]] of phases.entries()) {
  const dir = join(out, phase);
  if (!existsSync(dir)) {
    const why = phase.startsWith('upd') ? ' (the boot before it did not ask for a reboot)' : i > 0 ? ` (power cut ${i} did not happen)` : '';
    results.push({ ok: false, name: `${phase}: boot did not run${why}` });
    continue;
  }
  const tapFile = join(dir, 'guest.tap');
  const rc = existsSync(join(dir, 'rc')) ? readFileSync(join(dir, 'rc'), 'utf8').trim() : undefined;
  if (!existsSync(tapFile)) {
    results.push({ ok: false, name: `${phase}: no test results (guest rc ${rc ?? 'none'}; see ${join(dir, 'console.log')})` });
  } else {
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
  }
  if (phase === 'main' && existsSync(join(dir, 'powerloss-failed'))) results.push({ ok: false, name: 'main: power-loss preparation failed' });
  if (cut !== undefined) {
    const c = existsSync(join(dir, 'cut.json')) ? JSON.parse(readFileSync(join(dir, 'cut.json'), 'utf8')) : undefined;
    results.push({ ok: Boolean(c), name: `${phase}: power cut ${cut}: the VM was powered off mid-shift (kill -9 qemu) a random delay after the boot armed it` });
  }
  const findingFile = join(dir, 'cut-finding.json');
  if (existsSync(findingFile)) {
    const f = JSON.parse(readFileSync(findingFile, 'utf8'));
    const sk = (s) => `${s.guestMinusHostMs >= 0 ? '+' : ''}${s.guestMinusHostMs} ± ${s.uncertaintyMs} ms`;
    diagnostics.push(
      `# cut ${f.cut} (${f.custody ? 'custody' : f.encrypted ? 'encrypted' : 'plain'}, ${(f.delayMs / 1000).toFixed(2)} s after arming, seed ${f.seed}): media lost ${f.mediaLostS.toFixed(3)} s ` +
        `(target <= 2.5 s, not asserted); guest clock - host clock ${sk(f.skewBeforeCut)} before the cut, ${sk(f.skewAfterBoot)} after the reboot`,
    );
  }
}
let pass = 0, fail = 0, skip = 0;
const lines = ['TAP version 13'];
results.forEach((r, i) => {
  lines.push(`${r.ok ? 'ok' : 'not ok'} ${i + 1} - ${r.name}${r.skip ? ' # SKIP' : ''}`);
  if (r.skip) skip++;
  else if (r.ok) pass++;
  else fail++;
});
lines.push(...diagnostics);
lines.push(`1..${results.length}`, `# tests ${results.length}`, `# pass ${pass}`, `# fail ${fail}`, `# skipped ${skip}`);
writeFileSync(dest, lines.join('\n') + '\n');
console.log(lines.filter((l) => l.startsWith('not ok')).join('\n'));
for (const d of diagnostics) console.log(`hil: ${d.slice(2)}`);
console.log(`hil: ${pass} passed, ${fail} failed, ${skip} skipped`);
process.exit(fail > 0 || pass === 0 ? 1 : 0);
