/** agent/cli/args.ts on util.parseArgs: the same flags and the same errors as the hand-written parser it replaced. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../agent/cli/args.js';
import { UsageError } from '../../agent/lib/errors.js';

const spec = {
  hold: { type: 'number' },
  json: { type: 'boolean', short: 'j' },
  'data-dir': { type: 'string' },
  set: { type: 'string', multiple: true },
} as const;

test('flags, inline values, repeats, short flags and -- parse as before', () => {
  assert.deepEqual(parseArgs(['shift', '--hold', '2.5', '--json'], spec, 'x'), { flags: { hold: 2.5, json: true }, positionals: ['shift'] });
  assert.deepEqual(parseArgs(['--hold=3', '-j'], spec, 'x').flags, { hold: 3, json: true });
  assert.deepEqual(parseArgs(['--set', 'a=1', '--set=b=2'], spec, 'x').flags, { set: ['a=1', 'b=2'] });
  assert.deepEqual(parseArgs(['--data-dir', '-', 'a', '--', '--json', 'b'], spec, 'x'), { flags: { 'data-dir': '-' }, positionals: ['a', '--json', 'b'] });
  assert.deepEqual(parseArgs(['--hold', '-1'], spec, 'x').flags, { hold: -1 });
  assert.deepEqual(parseArgs(['current', '-450', '-ab', '-j', '-'], spec, 'x'), { flags: { json: true }, positionals: ['current', '-450', '-ab', '-'] }, 'only -x is a short flag');
});

test('every bad flag is a UsageError naming it', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--bogus'], /x: unknown option '--bogus' \(known: --hold, --json, --data-dir, --set\)/],
    [['--bogus=1'], /unknown option '--bogus'/],
    [['-q'], /unknown option '-q'/],
    [['--toString'], /unknown option '--toString'/],
    [['--hold'], /--hold needs a value/],
    [['--data-dir', '--json'], /--data-dir needs a value/],
    [['--hold', 'abc'], /--hold must be a number, got 'abc'/],
    [['--hold='], /--hold must be a number/],
    [['--json=1'], /--json takes no value/],
    [['--hold', '1', '--hold', '2'], /--hold given twice/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(() => parseArgs(argv, spec, 'x'), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
  }
});
