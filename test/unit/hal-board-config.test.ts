/** Board configs: every shipped board is valid; `bodycam board check` lists every error and exits 2. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BOARD_DIR } from '../../agent/config/board.js';
import { checkBoardFile } from '../../agent/cli/commands/board.js';

const CLI = resolve(new URL('../../agent/cli/main.js', import.meta.url).pathname);
const bodycam = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const shipped = readdirSync(BOARD_DIR).filter((f) => f.endsWith('.json') && f !== 'schema.json');

void test('every shipped board config is valid, and says how it is tested', () => {
  assert.ok(shipped.length >= 5, shipped.join(', '));
  for (const f of ['sim.json', 'qemu-hil.json', 'qemu-hil-sysfs.json', 'rpi4-uvc.json', 'imx8mp-evk.json']) assert.ok(shipped.includes(f), f);
  for (const f of shipped) {
    const r = checkBoardFile(join(BOARD_DIR, f));
    assert.deepEqual(r.issues, [], f);
    const b = JSON.parse(readFileSync(join(BOARD_DIR, f), 'utf8')) as { tested?: string };
    assert.ok(b.tested && b.tested.length > 10, `${f} says how it is tested`);
  }
  const r = bodycam('board', 'check', ...shipped.map((f) => join(BOARD_DIR, f)));
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

void test('board check lists every problem (schema, wiring, power rules) and exits 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'board-check-'));
  const sim = JSON.parse(readFileSync(join(BOARD_DIR, 'sim.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  // Schema errors: several at once, all reported.
  const bad = structuredClone(sim) as Record<string, unknown>;
  bad.name = 'Not A Name';
  (bad.camera as Record<string, unknown>).fps = 0;
  (bad.encoder as Record<string, unknown>).video = 'h265_magic';
  bad.flux = true;
  const f1 = join(dir, 'bad-schema.json');
  writeFileSync(f1, JSON.stringify(bad));
  // Valid schema, wrong wiring: real backends without lines, v4l2 without a device.
  const wiring = structuredClone(sim) as Record<string, Record<string, unknown>>;
  wiring.buttons = { backend: 'gpio-cdev', shift: { chip: 'gpiochip0' }, privacy: {} };
  wiring.camera = { source: 'v4l2', width: 640, height: 360, fps: 30 };
  wiring.gauge = { backend: 'max17048' };
  const f2 = join(dir, 'bad-wiring.json');
  writeFileSync(f2, JSON.stringify(wiring));
  // Power rules a schema cannot say: a kernel watchdog needs its timeout; hysteresis is bounded.
  const power = structuredClone(sim) as Record<string, Record<string, unknown>>;
  power.watchdog = { device: '/dev/watchdog' };
  power.thermal = { backend: 'sim', hysteresisC: 3 };
  const f3 = join(dir, 'bad-power.json');
  writeFileSync(f3, JSON.stringify(power));
  const f4 = join(dir, 'not-json.json');
  writeFileSync(f4, '{ "name": ');

  const r = bodycam('board', 'check', f1, f2, f3, f4, join(BOARD_DIR, 'sim.json'));
  assert.equal(r.status, 2, r.stdout + r.stderr);
  const out = r.stdout;
  for (const want of [
    `${f1}: 4 problem(s)`,
    '/name: must match pattern',
    '/camera/fps: must be >= 1',
    '/encoder/video: must be equal to one of the allowed values (libx264, h264_v4l2m2m)',
    "/: must NOT have additional properties 'flux'",
    `${f2}: 5 problem(s)`,
    '/buttons/shift/line: required with backend',
    '/buttons/privacy/chip: required with backend',
    '/buttons/privacy/line: required with backend',
    "/camera/device: required when source is 'v4l2'",
    '/gauge/bus: bus or busName required',
    `${f3}: 1 problem(s)`,
    '/watchdog/timeoutS: required with watchdog.device',
    `${f4}: 1 problem(s)`,
    'not valid JSON',
    "sim.json: ok (board 'sim')",
  ]) assert.ok(out.includes(want), `missing '${want}' in:\n${out}`);

  const json = bodycam('board', 'check', '--json', f3);
  assert.equal(json.status, 2);
  assert.equal((JSON.parse(json.stdout) as Array<{ issues: unknown[] }>)[0]!.issues.length, 1);
});

void test('board: usage errors exit 2; list shows every shipped board', () => {
  assert.equal(bodycam('board').status, 2);
  assert.equal(bodycam('board', 'check').status, 2);
  assert.equal(bodycam('board', 'frobnicate').status, 2);
  const l = bodycam('board', 'list');
  assert.equal(l.status, 0, l.stderr);
  for (const n of ['sim', 'qemu-hil', 'qemu-hil-sysfs', 'rpi4-uvc', 'imx8mp-evk']) assert.match(l.stdout, new RegExp(`^${n} `, 'm'));
  assert.match(l.stdout, /rpi4-uvc\s+not testable here/);
});

void test('selftest: usage errors exit 2 before touching any device', () => {
  assert.equal(bodycam('selftest').status, 2);
  const r = bodycam('selftest', '--board', 'no-such-board');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no board config 'no-such-board'/);
});
