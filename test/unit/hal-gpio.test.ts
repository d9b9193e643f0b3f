/** GPIO helpers that need no kernel: libgpiod tool output parsing, sysfs base lookup, debounce. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGpiodetect, parseGpioinfo, resolveSysfsLine, listSysfsChips } from '../../hal/gpio/chips.js';
import { Debouncer } from '../../hal/gpio/debounce.js';
import { isDeviceError } from '../../agent/lib/errors.js';

void test('gpiodetect and gpioinfo output (libgpiod 1.6) is parsed', () => {
  assert.deepEqual(parseGpiodetect('gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)\n'), [
    { name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 },
    { name: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: 8 },
  ]);
  const info = parseGpioinfo(
    'gpiochip0 - 3 lines:\n' +
      '\tline   0:      "shift"  "gpiomon"   input  active-high [used]\n' +
      '\tline   1:      unnamed       unused   input  active-high \n' +
      '\tline   2:    "led_rec"  "gpioset"  output   active-low [used]\n',
  );
  assert.deepEqual(info, [
    { offset: 0, name: 'shift', consumer: 'gpiomon', direction: 'input', activeLow: false, used: true },
    { offset: 1, name: undefined, consumer: undefined, direction: 'input', activeLow: false, used: false },
    { offset: 2, name: 'led_rec', consumer: 'gpioset', direction: 'output', activeLow: true, used: true },
  ]);
});

void test('legacy sysfs: the chip base is looked up by label, never configured', async () => {
  const root = mkdtempSync(join(tmpdir(), 'gpio-sysfs-'));
  for (const [base, label, n] of [[512, 'pinctrl-bcm2711', 58], [570, 'raspberrypi-exp-gpio', 8]] as const) {
    const d = join(root, `gpiochip${base}`);
    mkdirSync(d);
    writeFileSync(join(d, 'label'), label + '\n');
    writeFileSync(join(d, 'base'), `${base}\n`);
    writeFileSync(join(d, 'ngpio'), `${n}\n`);
  }
  assert.equal(listSysfsChips(root).length, 2);
  const l = await resolveSysfsLine({ chip: 'raspberrypi-exp-gpio', line: 3, activeLow: true }, 'led_rec', root);
  assert.deepEqual(l, { gpio: 573, label: 'raspberrypi-exp-gpio', offset: 3, activeLow: true, what: 'led_rec' });
  await assert.rejects(resolveSysfsLine({ chip: 'raspberrypi-exp-gpio', line: 9 }, 'haptic', root), (e) => isDeviceError(e) && /out of range/.test(e.message));
  assert.throws(() => listSysfsChips(join(root, 'absent')), (e) => isDeviceError(e) && /CONFIG_GPIO_SYSFS/.test(e.message));
});

void test('debounce: a bouncing contact is one change, dated at its first edge', async () => {
  const changes: Array<[boolean, number]> = [];
  const d = new Debouncer(false, 30, (level, at) => changes.push([level, at]));
  d.edge(true, 1000);
  d.edge(false, 1002);
  d.edge(true, 1004);
  assert.equal(d.level, false, 'not settled inside the window');
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(changes, [[true, 1000]]);
  // A glitch shorter than the window (press and release inside it) changes nothing.
  d.edge(false, 2000);
  d.edge(true, 2003);
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(changes, [[true, 1000]]);
  d.dispose();
  // Without debounce every real change passes at once.
  const now: boolean[] = [];
  const z = new Debouncer(false, 0, (l) => now.push(l));
  z.edge(true, 1);
  z.edge(true, 2);
  z.edge(false, 3);
  assert.deepEqual(now, [true, false]);
});
