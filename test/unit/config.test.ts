import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAgentConfig } from '../../agent/config/agent-config.js';
import { validateBoard, resolveBoard } from '../../agent/config/board.js';
import { parsePolicy, validatePolicy, DEFAULT_POLICY, POLICY_BOUNDS } from '../../agent/config/policy.js';
import { SECTIONS } from '../../agent/config/sections.js';
import { agentConfigSchema } from '../../agent/generated/config-schemas.js';
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
  assert.match(text, /\/policy\/personalNeedsMaxS: must be <= 900 \(got 3600; range \[5, 900\]\)/);
  assert.match(text, /\/policy\/segmentS: must be number \(got "two"\)/);
  assert.match(text, /\/policy\/bogus: unknown key \(allowed: shiftStartHoldS, /);
  assert.match(text, /\/policy\/sensitiveSiteMaxS: must be >= 5 \(got -1; range \[5, 1800\]\)/);
  assert.match(text, /\/mystery: unknown key \(allowed: \$schema, deviceId, policy, encryption, offload, mqtt, central, power, update, liveView\)/);
  assert.match(text, /\/deviceId: must match/);
  assert.ok(issues.length >= 6);
});

test('policy defaults and bounds are exactly those before the schema (issue 19)', () => {
  // The literal table policy.ts held before the defaults moved into policy.schema.json.
  assert.deepEqual({ ...DEFAULT_POLICY }, {
    shiftStartHoldS: 2, shiftEndHoldS: 3, shiftEndConfirmS: 5, doublePressS: 1, personalNeedsMaxS: 900, sensitiveSiteMaxS: 1800,
    autoResumeWarningS: 60, segmentS: 2, heartbeatOnDutyS: 15, heartbeatOffDutyS: 60, signEverySegments: 15, encoderStallS: 6,
    batteryLowPct: 15, batteryCriticalPct: 5, tempDegradeC: 70, tempCriticalC: 85, offloadBandwidthKbps: 0, expectedShiftH: 12,
    storageFloorMb: 16, dutyDockStart: 0, dutyDockEnd: 0, dutyCentral: 1, dockDebounceS: 0.5, obstructionDetect: 1, obstructionOnsetS: 5,
    obstructionClearS: 5, obstructionNagS: 30, coveredLumaMax: 24, coveredSpreadMax: 10, frozenDiffMax: 0.05, silentDbfsMax: -70,
    pauseMaxPersonalNeeds: 10, pauseMaxSensitiveSite: 10, pauseMaxTotalS: 14400, pauseMinRecordingS: 0, pauseMinRecordingAfterAutoS: 300,
    locationIntervalS: 10, locationMinMoveM: 10, custody: 0, updateMinBatteryPct: 50,
    // Issue 24 (custody periods, docs/custody-periods.md).
    periodS: 3600,
    // Issue 20 (live offload, docs/live-offload.md).
    liveOffload: 1, liveOffloadLagS: 120, liveOffloadMaxKbps: 0, liveOffloadMinBatteryPct: 20, checkpointS: 60,
    // Issue 23 (live view, docs/live-view.md).
    liveViewMaxS: 600,
  });
  assert.ok(Object.isFrozen(DEFAULT_POLICY));
  assert.deepEqual(POLICY_BOUNDS.personalNeedsMaxS, [5, 900]);
  assert.deepEqual(POLICY_BOUNDS.pauseMinRecordingAfterAutoS, [300, 3600]);
  assert.deepEqual(POLICY_BOUNDS.dutyCentral, [0, 1]);
  assert.deepEqual(parsePolicy({}, '/policy'), { policy: { ...DEFAULT_POLICY }, issues: [] }, 'the defaults pass their own schema and rules');
});

/** `where: message` lines of a ConfigError thrown by fn. */
const lines = (fn: () => unknown): string[] => issuesOf(fn);

test('agent config schema: bad type, out of range and unknown key each name their JSON pointer', () => {
  const issues = lines(() => parseAgentConfig({ deviceId: 7, power: { intervalS: 9999 }, mqtt: { url: 'mqtt://b:1883', keepaliveS: 'long', nosuch: 1 }, central: { maxTtlS: 1 } }, 'agent.json'));
  assert.deepEqual(issues.sort(), [
    '/central/maxTtlS: must be >= 10 (got 1; range [10, 604800])',
    '/deviceId: must be string (got 7)',
    '/mqtt/keepaliveS: must be number (got "long")',
    '/mqtt/nosuch: unknown key (allowed: url, ca, cert, key, servername, topicPrefix, clientId, username, password, protocolVersion, keepaliveS, sessionExpiryS, outboxMaxBytes, inflight, eventTypes, reconnectMinMs, reconnectMaxMs, connectTimeoutMs)',
    '/power/intervalS: must be <= 300 (got 9999; range [0.2, 300])',
  ]);
  try {
    parseAgentConfig({ policy: { personalNeedsMaxS: 99999 } }, 'agent.json');
    assert.fail('must throw');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^agent\.json: 1 problem\(s\)\n {2}- \/policy\/personalNeedsMaxS: must be <= 900 \(got 99999; range \[5, 900\]\)$/);
  }
  // An enum names its allowed values.
  assert.deepEqual(lines(() => parseAgentConfig({ mqtt: { url: 'mqtt://b', protocolVersion: 3 } }, 'agent.json')), ['/mqtt/protocolVersion: must be one of 4, 5 (got 3)']);
  // The schema lists exactly the registered sections.
  assert.deepEqual(Object.keys(agentConfigSchema.properties).sort(), ['$schema', 'deviceId', 'policy', ...SECTIONS.map((s) => s.name)].sort());
});

test('policy schema (validatePolicy, also for central sign): bad type, out of range, unknown key, cross-field rules', () => {
  const { issues } = validatePolicy({ segmentS: '2', personalNeedsMaxS: 99999, dutyCentral: 0.5, nosuch: 1, tempDegradeC: 90, tempCriticalC: 80 });
  assert.deepEqual(issues.map((i) => `${i.where}: ${i.message}`).sort(), [
    '/dutyCentral: must be one of 0, 1 (got 0.5)',
    '/nosuch: unknown key (allowed: shiftStartHoldS, shiftEndHoldS, shiftEndConfirmS, doublePressS, personalNeedsMaxS, sensitiveSiteMaxS, autoResumeWarningS, segmentS, heartbeatOnDutyS, heartbeatOffDutyS, signEverySegments, checkpointS, encoderStallS, batteryLowPct, batteryCriticalPct, tempDegradeC, tempCriticalC, offloadBandwidthKbps, liveOffload, liveOffloadLagS, liveOffloadMaxKbps, liveOffloadMinBatteryPct, expectedShiftH, storageFloorMb, dutyDockStart, dutyDockEnd, dutyCentral, dockDebounceS, obstructionDetect, obstructionOnsetS, obstructionClearS, obstructionNagS, coveredLumaMax, coveredSpreadMax, frozenDiffMax, silentDbfsMax, pauseMaxPersonalNeeds, pauseMaxSensitiveSite, pauseMaxTotalS, pauseMinRecordingS, pauseMinRecordingAfterAutoS, locationIntervalS, locationMinMoveM, custody, periodS, updateMinBatteryPct, liveViewMaxS)',
    '/personalNeedsMaxS: must be <= 900 (got 99999; range [5, 900])',
    '/segmentS: must be number (got "2")',
    '/tempDegradeC: must be below tempCriticalC (80) (got 90)',
  ]);
  assert.deepEqual(validatePolicy({ custody: 1, periodS: 20, segmentS: 10 }).issues.map((i) => `${i.where}: ${i.message}`), [
    '/periodS: must be at least 3 × segmentS (30 s): a custody period ends on a segment boundary (got 20)',
  ]);
  assert.deepEqual(validatePolicy({ periodS: 9 }).issues.map((i) => i.where), ['/periodS']);
  assert.deepEqual(validatePolicy({ custody: 1, periodS: 20, segmentS: 2 }).issues, []);
  assert.deepEqual(validatePolicy('fast').issues, [{ where: '/', message: 'must be object (got "fast")' }]);
  assert.deepEqual(validatePolicy({ personalNeedsMaxS: 600 }).issues, []);
  // A value JSON cannot carry still cannot slip past the bounds (set_policy values come from protobuf).
  assert.equal(validatePolicy({ segmentS: Number.NaN }).issues.length, 1);
  assert.equal(validatePolicy({ segmentS: Number.POSITIVE_INFINITY }).issues.length, 1);
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
