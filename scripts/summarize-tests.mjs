// Sums the TAP files every test stage left behind into one closing line CI can read:
//   tests: N passed, N failed, N skipped
// Honest about what did not pass: a cancelled test (a failed before() hook, a suite's timeout)
// and a todo test that did not pass count as failed; so does a stage that was expected to run but
// left no TAP, a TAP cut short (no closing counts), and a stage that exited non-zero while its TAP
// shows no failure (one failure each, named above the closing line). A fresh clone once printed
// "542 passed, 0 failed" above `make: *** [test] Error 2`: the yocto stage had 8 cancelled.
//
//   node scripts/summarize-tests.mjs [DIR] [--expect stage1,stage2,…]
// DIR (default .cache/results) holds STAGE.tap and, from the Makefile's run_stage, STAGE.exit
// (the test runner's exit status). Exits 1 when anything failed or nothing passed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const at = args.indexOf('--expect');
const expected = at >= 0 ? (args.splice(at, 2)[1] ?? '').split(',').filter(Boolean) : [];
const dir = args[0] ?? '.cache/results';

/** Counts of one stage's TAP file, or why the stage is a failure without one. */
function stageOf(stage) {
  const s = { stage, pass: 0, fail: 0, skip: 0, notes: [] };
  const tapPath = join(dir, `${stage}.tap`);
  const exitPath = join(dir, `${stage}.exit`);
  const exit = existsSync(exitPath) ? Number(readFileSync(exitPath, 'utf8').trim()) : undefined;
  if (!existsSync(tapPath)) {
    s.fail = 1;
    s.notes.push(exit !== undefined ? `exited ${exit} without TAP` : 'no TAP: the stage did not run (or failed before its tests)');
    return s;
  }
  const text = readFileSync(tapPath, 'utf8');
  const n = (k) => Number(text.match(new RegExp(`^# ${k} (\\d+)$`, 'm'))?.[1] ?? 0);
  if (!/^# (tests|pass) \d+$/m.test(text)) {
    s.fail = 1;
    s.notes.push('TAP without closing counts: the run was cut short');
  }
  // node:test counts todo tests apart from pass/fail: a todo that did not pass is not done.
  const todoFail = (text.match(/^\s*not ok \d+ .*# TODO/gm) ?? []).length;
  const todoPass = (text.match(/^\s*ok \d+ .*# TODO/gm) ?? []).length;
  const cancelled = n('cancelled');
  s.pass += n('pass') + todoPass;
  s.fail += n('fail') + cancelled + todoFail;
  s.skip = n('skipped');
  if (cancelled) s.notes.push(`${cancelled} cancelled`);
  if (todoFail) s.notes.push(`${todoFail} todo not passing`);
  if (exit !== undefined && exit !== 0 && s.fail === 0) {
    s.fail = 1;
    s.notes.push(`exited ${exit} though its TAP shows no failure`);
  }
  return s;
}

const present = existsSync(dir) ? readdirSync(dir).filter((f) => /\.(tap|exit)$/.test(f)).map((f) => f.replace(/\.(tap|exit)$/, '')) : [];
const stages = [...new Set([...expected, ...present])].sort();
let pass = 0, fail = 0, skip = 0;
for (const name of stages) {
  const s = stageOf(name);
  pass += s.pass; fail += s.fail; skip += s.skip;
  const notes = s.notes.length ? ` (${s.notes.join('; ')})` : '';
  console.log(`  ${s.stage.padEnd(12)} ${s.pass} passed, ${s.fail} failed, ${s.skip} skipped${notes}`);
}
console.log(`tests: ${pass} passed, ${fail} failed, ${skip} skipped`);
process.exit(fail > 0 || pass === 0 ? 1 : 0);
