import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAgentConfig } from '../../agent/config/agent-config.js';
import { validateBoard, resolveBoard } from '../../agent/config/board.js';
import { parsePolicy, DEFAULT_POLICY } from '../../agent/config/policy.js';
import { ConfigError } from '../../agent/lib/errors.js';
import { parseArgs } from '../../agent/cli/args.js';
import { UsageError } from '../../agent/lib/errors.js';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.issues.map((i) => `${i.where}: ${i.message}`);
  }
  assert.fail('no error');
}

test('policy defaults are SPEC’s', () => {
  assert.equal(DEFAULT_POLICY.shiftStartHoldS, 2);
  assert.equal(DEFAULT_POLICY.shiftEndHoldS, 3);
  assert.equal(DEFAULT_POLICY.shiftEndConfirmS, 5);
  assert.equal(DEFAULT_POLICY.personalNeedsMaxS, 900);
  assert.equal(DEFAULT_POLICY.sensitiveSiteMaxS, 1800);
  assert.equal(DEFAULT_POLICY.autoResumeWarningS, 60);
  assert.equal(DEFAULT_POLICY.heartbeatOnDutyS, 15);
  assert.equal(DEFAULT_POLICY.heartbeatOffDutyS, 60);
});

test('a bad config lists every problem, not only the first', () => {
  const issues = issuesOf(() =>
    parseAgentConfig({ policy: { personalNeedsMaxS: 3600, segmentS: 'two', bogus: 1, sensitiveSiteMaxS: -1 }, mystery: {}, deviceId: 'no spaces allowed' }, 'cfg.json'),
  );
  const text = issues.join('\n');
  assert.match(text, /\/policy\/personalNeedsMaxS: 3600 is out of range \[5, 900\]/);
  assert.match(text, /\/policy\/segmentS: must be a number/);
  assert.match(text, /\/policy\/bogus: unknown policy field/);
  assert.match(text, /\/policy\/sensitiveSiteMaxS: -1 is out of range/);
  assert.match(text, /\/mystery: unknown section/);
  assert.match(text, /\/deviceId: must be/);
  assert.ok(issues.length >= 6);
});

test('a pause maximum above SPEC’s cannot be configured (a wearer gains nothing from policy)', () => {
  const { issues } = parsePolicy({ sensitiveSiteMaxS: 1801 }, '/policy');
  assert.equal(issues.length, 1);
});

test('board configs: the shipped sim board is valid; a broken board lists every error', () => {
  assert.equal(resolveBoard('sim').board.name, 'sim');
  const issues = issuesOf(() =>
    validateBoard(
      {
        name: 'Bad Name',
        buttons: { backend: 'gpio-cdev', shift: {}, privacy: { chip: 'gpiochip0' } },
        outputs: { backend: 'sim', led_rec: {}, led_status: {}, haptic: {} },
        camera: { source: 'v4l2', width: 640, height: 360, fps: 30 },
        audio: { source: 'none' },
        encoder: { video: 'vp9' },
        gauge: { backend: 'none' },
        dock: { backend: 'none' },
        thermal: { backend: 'none' },
        watchdog: {},
        storage: {},
      },
      'bad.json',
    ),
  );
  assert.ok(issues.some((i) => i.startsWith('/name')), issues.join('\n'));
  assert.ok(issues.some((i) => i.startsWith('/encoder/video')), issues.join('\n'));
});

test('cross-field board rules are all reported', () => {
  const base = resolveBoard('sim').board;
  const issues = issuesOf(() =>
    validateBoard({ ...base, buttons: { backend: 'gpio-cdev', shift: {}, privacy: { chip: 'gpiochip0' } }, camera: { ...base.camera, source: 'v4l2' }, gauge: { backend: 'max17048' } }, 'b.json'),
  );
  assert.deepEqual(
    issues.map((i) => i.split(':')[0]).sort(),
    ['/buttons/privacy/line', '/buttons/shift/chip', '/buttons/shift/line', '/camera/device', '/gauge/bus'].sort(),
  );
});

test('CLI arguments: unknown flags, missing values and non-numbers are usage errors', () => {
  const spec = { hold: { type: 'number' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' } } as const;
  assert.deepEqual(parseArgs(['shift', '--hold', '2.5', '--json'], spec, 'press'), { flags: { hold: 2.5, json: true }, positionals: ['shift'] });
  assert.deepEqual(parseArgs(['--hold=3'], spec, 'press').flags, { hold: 3 });
  assert.throws(() => parseArgs(['--bogus'], spec, 'press'), UsageError);
  assert.throws(() => parseArgs(['--hold'], spec, 'press'), /needs a value/);
  assert.throws(() => parseArgs(['--hold', 'abc'], spec, 'press'), /must be a number/);
  assert.throws(() => parseArgs(['--json=1'], spec, 'press'), /takes no value/);
});
