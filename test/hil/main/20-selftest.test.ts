/** `bodycam selftest --board qemu-hil` on the VM's drivers: passes; a missing device fails by name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/agent.js';
import { BOARD_DIR } from '../../../agent/config/board.js';
import { bindCamera, setMax17048, unbindCamera, vmOnly } from '../lib.js';

void test('selftest --board qemu-hil passes on the VM drivers', { skip: vmOnly }, async () => {
  setMax17048({ percent: 81, voltageV: 3.97, ratePctH: -8.32 });
  const dir = mkdtempSync(join(tmpdir(), 'selftest-'));
  const r = await runCli(['selftest', '--board', 'qemu-hil', '--data-dir', dir], { timeoutMs: 240_000 });
  console.log(r.stdout);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const dev of ['buttons', 'led_rec', 'led_status', 'haptic', 'buzzer', 'dock', 'gauge', 'camera', 'watchdog', 'clock', 'storage']) {
    assert.match(r.stdout, new RegExp(`^  ${dev}\\s+pass`, 'm'), dev);
  }
  assert.match(r.stdout, /led_rec .*read back on\/off/);
  assert.match(r.stdout, /gauge .*max17048: 81% 3\.97 V/);
  assert.match(r.stdout, /camera .*vivid.*frames captured, encoded with libx264, decoded/);
  assert.match(r.stdout, /selftest: all \d+ checks passed/);
});

void test('selftest fails and names the device when the camera is gone and the gauge does not answer', { skip: vmOnly }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'selftest-'));
  const board = JSON.parse(readFileSync(join(BOARD_DIR, 'qemu-hil.json'), 'utf8')) as { gauge: { address: number }; name: string };
  board.gauge.address = 0x40;
  board.name = 'qemu-hil-nogauge';
  const file = join(dir, 'qemu-hil-nogauge.json');
  writeFileSync(file, JSON.stringify(board));
  unbindCamera();
  try {
    const r = await runCli(['selftest', '--board', file, '--data-dir', dir], { timeoutMs: 240_000 });
    console.log(r.stdout);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^ {2}camera\s+FAIL/m);
    assert.match(r.stdout, /^ {2}gauge\s+FAIL .*0x40/m);
    assert.match(r.stdout, /^ {2}led_rec\s+pass/m);
    assert.match(r.stdout, /selftest: FAILED — gauge, camera/);
  } finally {
    bindCamera();
  }
});
