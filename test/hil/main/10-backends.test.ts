/**
 * The HAL's real backends against the VM's kernel drivers: gpio-sim over both GPIO interfaces,
 * MAX17048/BQ27441 register maps in i2c-stub, vivid, softdog, the CMOS RTC.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { GpioButtons, GpioDock } from '../../../hal/gpio/devices.js';
import { createOutputs } from '../../../hal/gpio/outputs.js';
import type { GpioBackendName } from '../../../hal/gpio/inputs.js';
import type { ButtonEdge } from '../../../hal/types.js';
import { Max17048Gauge } from '../../../hal/gauge/max17048.js';
import { Bq27441Gauge } from '../../../hal/gauge/bq27441.js';
import { openI2cBus } from '../../../hal/gauge/smbus.js';
import { V4l2Camera } from '../../../hal/camera/v4l2.js';
import { DeviceWatchdog } from '../../../hal/watchdog/watchdog.js';
import { clockReport } from '../../../hal/clock/clock-report.js';
import { listSysfsChips } from '../../../hal/gpio/chips.js';
import { isDeviceError } from '../../../agent/lib/errors.js';
import { LINE, SIM_LABEL, bindCamera, consumerOf, setBq27441, setMax17048, setPull, simValue, stubBus, unbindCamera, vmOnly, waitFor } from '../lib.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const backend of ['gpio-cdev', 'gpio-sysfs'] as GpioBackendName[]) {
  const line = (name: keyof typeof LINE): { chip: string; line: number | string } =>
    backend === 'gpio-cdev' ? { chip: SIM_LABEL, line: name } : { chip: SIM_LABEL, line: LINE[name] };

  void describe(`${backend}`, { skip: vmOnly }, () => {
    void test(`${backend}: button edges by interrupt, debounced, both buttons`, async () => {
      setPull(LINE.shift, false);
      setPull(LINE.privacy, false);
      const b = new GpioButtons(backend, { shift: line('shift'), privacy: line('privacy') }, 30);
      const edges: ButtonEdge[] = [];
      b.on('edge', (e) => edges.push(e));
      await b.start();
      try {
        if (backend === 'gpio-cdev') assert.equal(consumerOf(LINE.shift), 'gpiomon');
        assert.equal(await b.read('shift'), false);
        setPull(LINE.shift, true);
        await waitFor(() => edges.length >= 1, 5000, 'shift press edge');
        assert.deepEqual(edges.map((e) => [e.button, e.pressed]), [['shift', true]]);
        assert.equal(await b.read('shift'), true);
        setPull(LINE.shift, false);
        await waitFor(() => edges.length >= 2, 5000, 'shift release edge');
        // A bounce: three flips inside the debounce window settle into one press.
        setPull(LINE.privacy, true);
        setPull(LINE.privacy, false);
        setPull(LINE.privacy, true);
        await waitFor(() => edges.length >= 3, 5000, 'privacy press edge');
        await sleep(200);
        assert.deepEqual(edges.map((e) => [e.button, e.pressed]), [['shift', true], ['shift', false], ['privacy', true]]);
        assert.ok(edges[1]!.atMono > edges[0]!.atMono);
        setPull(LINE.privacy, false);
        await waitFor(() => edges.length >= 4, 5000, 'privacy release edge');
      } finally {
        await b.stop();
      }
      if (backend === 'gpio-cdev') assert.equal(consumerOf(LINE.shift), undefined, 'lines released after stop');
      else assert.equal(existsSync('/sys/class/gpio/gpio' + String(readChipBase() + LINE.shift)), false, 'unexported after stop');
    });

    void test(`${backend}: dock detect input`, async () => {
      setPull(LINE.dock, false);
      const d = new GpioDock(backend, line('dock'), 10);
      const seen: boolean[] = [];
      d.on('change', (v) => seen.push(v));
      await d.start();
      try {
        assert.equal(d.docked(), false);
        setPull(LINE.dock, true);
        await waitFor(() => seen.length === 1, 5000, 'dock change');
        assert.equal(d.docked(), true);
      } finally {
        await d.stop();
        setPull(LINE.dock, false);
      }
    });

    void test(`${backend}: outputs driven and read back from gpio-sim`, async () => {
      const o = createOutputs(backend, { led_rec: line('led_rec'), led_status: line('led_status'), haptic: line('haptic') });
      await o.start();
      try {
        assert.equal(simValue(LINE.led_rec), false);
        o.set('led_rec', true);
        o.set('haptic', true);
        assert.equal(await o.readBack('led_rec'), true);
        assert.equal(simValue(LINE.led_rec), true);
        assert.equal(simValue(LINE.haptic), true);
        assert.equal(simValue(LINE.led_status), false);
        o.set('haptic', false);
        assert.equal(await o.readBack('haptic'), false);
        assert.equal(simValue(LINE.haptic), false);
        // Held while driven: led_rec stays on across the haptic change.
        assert.equal(simValue(LINE.led_rec), true);
        assert.equal(o.get('led_rec'), true);
        assert.equal(o.has('buzzer'), false);
      } finally {
        await o.stop();
      }
    });
  });
}

function readChipBase(): number {
  const c = listSysfsChips().find((x) => x.label === SIM_LABEL);
  if (!c) throw new Error(`no legacy sysfs chip labelled ${SIM_LABEL}`);
  return c.base;
}

void describe('fuel gauges in i2c-stub', { skip: vmOnly }, () => {
  void test('MAX17048: percent, voltage, charge rate → runtime', async () => {
    setMax17048({ percent: 76.5, voltageV: 3.91, ratePctH: -10.4 });
    const g = new Max17048Gauge(openI2cBus, stubBus, 0x36, 3000);
    await g.start();
    try {
      const r = await g.read();
      assert.equal(r.percent, 76.5);
      assert.ok(Math.abs(r.voltageV - 3.91) < 0.001, String(r.voltageV));
      assert.equal(r.charging, false);
      assert.equal(r.runtimeMin, Math.round((76.5 / 10.4) * 60));
      assert.equal(await g.version(), 0x0012);
      setMax17048({ percent: 40, voltageV: 4.05, ratePctH: 20.8 });
      const c = await g.read();
      assert.equal(c.charging, true);
      assert.equal(c.runtimeMin, undefined);
    } finally {
      await g.stop();
    }
  });

  void test('BQ27441: percent, voltage, current, runtime', async () => {
    setBq27441({ percent: 63, voltageMv: 3842, currentMa: -480, remainingMah: 1900 });
    const g = new Bq27441Gauge(openI2cBus, stubBus, 0x55);
    await g.start();
    try {
      assert.deepEqual(await g.read(), { percent: 63, voltageV: 3.842, charging: false, currentMa: -480, runtimeMin: Math.round((1900 / 480) * 60) });
    } finally {
      await g.stop();
    }
  });

  void test('a gauge at an address with no chip is a device error', async () => {
    const g = new Max17048Gauge(openI2cBus, stubBus, 0x40);
    await g.start();
    try {
      await assert.rejects(g.read(), (e) => isDeviceError(e) && /0x40/.test(e.message));
    } finally {
      await g.stop();
    }
  });
});

void describe('V4L2 camera (vivid)', { skip: vmOnly }, () => {
  void test('auto discovery, format check, loss and return', async () => {
    const cam = new V4l2Camera({ device: 'auto', inputFormat: 'yuyv422', width: 320, height: 180, fps: 10 });
    const info = await cam.probe();
    assert.equal(info.driver, 'vivid');
    assert.equal(info.device, '/dev/video0');
    assert.equal(info.inputFormat, 'yuyv422');
    assert.ok(info.formats.includes('yuyv422'));
    assert.equal(cam.present(), true);

    const wrong = new V4l2Camera({ device: '/dev/video0', inputFormat: 'h264', width: 320, height: 180, fps: 10 });
    await assert.rejects(wrong.probe(), (e) => isDeviceError(e) && /'h264' not offered/.test(e.message));
    const badSize = new V4l2Camera({ device: '/dev/video0', inputFormat: 'yuyv422', width: 333, height: 111, fps: 10 });
    await assert.rejects(badSize.probe(), (e) => isDeviceError(e) && /333x111/.test(e.message));

    unbindCamera();
    try {
      await waitFor(() => !cam.present(), 5000, 'camera node to vanish');
      await assert.rejects(cam.probe(), isDeviceError);
    } finally {
      bindCamera();
    }
    await waitFor(() => existsSync('/dev/video0'), 5000, 'camera node to return');
    assert.equal((await cam.probe()).driver, 'vivid');
    assert.equal(cam.present(), true);
  });
});

void describe('watchdog and clock', { skip: vmOnly }, () => {
  void test('softdog: armed while open, disarmed by the magic close', async () => {
    const state = '/sys/class/watchdog/watchdog0/state';
    // Debian's kernel has CONFIG_WATCHDOG_SYSFS: the state is readable.
    assert.equal(readFileSync(state, 'utf8').trim(), 'inactive');
    const w = new DeviceWatchdog('/dev/watchdog', 1000);
    await w.start();
    w.pet();
    assert.equal(readFileSync(state, 'utf8').trim(), 'active');
    await w.stop();
    assert.equal(readFileSync(state, 'utf8').trim(), 'inactive');
  });

  void test('clock report: the CMOS RTC is found and agrees with system time', () => {
    const r = clockReport('/dev/rtc0');
    assert.ok(r.rtc, JSON.stringify(r));
    assert.equal(r.rtc.name.length > 0, true);
    assert.ok(Math.abs(r.rtc.driftS) <= 2, JSON.stringify(r));
    assert.equal(r.sane, true, r.problems.join('; '));
  });
});
