// Sums the TAP files every test stage left behind into one closing line CI can read.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.cache/results';
let pass = 0, fail = 0, skip = 0;
const perStage = [];
for (const f of readdirSync(dir).filter((n) => n.endsWith('.tap')).sort()) {
  const text = readFileSync(join(dir, f), 'utf8');
  const n = (k) => Number(text.match(new RegExp(`^# ${k} (\\d+)$`, 'm'))?.[1] ?? 0);
  const s = { stage: f.replace(/\.tap$/, ''), pass: n('pass'), fail: n('fail'), skip: n('skipped') + n('todo') };
  perStage.push(s); pass += s.pass; fail += s.fail; skip += s.skip;
}
for (const s of perStage) console.log(`  ${s.stage.padEnd(10)} ${s.pass} passed, ${s.fail} failed, ${s.skip} skipped`);
console.log(`tests: ${pass} passed, ${fail} failed, ${skip} skipped`);
process.exit(fail > 0 || pass === 0 ? 1 : 0);
