/**
 * Fuel-gauge drivers against register maps replayed through a fake SMBus bus (the bus is the one
 * thing a host cannot run; the real i2c-stub driver runs in the HIL VM). The fake answers SMBus
 * word reads the way the wire does: low byte first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Max17048Gauge, decodeMax17048 } from '../../hal/gauge/max17048.js';
import { Bq27441Gauge, decodeBq27441 } from '../../hal/gauge/bq27441.js';
import { findBusByName, swap16, s16, type SmbusBus } from '../../hal/gauge/smbus.js';
import { gaugeProblems } from '../../hal/gauge/plausible.js';
import { isDeviceError } from '../../agent/lib/errors.js';

/** A chip's register bytes as they sit in the chip: big- or little-endian 16-bit registers. */
class FakeBus implements SmbusBus {
  readonly reads: Array<[number, number]> = [];
  closed = false;
  constructor(
    private readonly address: number,
    private readonly regs: Map<number, number>,
    private readonly bigEndian: boolean,
  ) {}
  async readWord(address: number, command: number): Promise<number> {
    this.reads.push([address, command]);
    if (address !== this.address) throw Object.assign(new Error('Remote I/O error'), { code: 'EREMOTEIO' });
    const v = this.regs.get(command);
    if (v === undefined) throw new Error(`register 0x${command.toString(16)} not mapped`);
    // On the wire the chip sends its first byte first; SMBus puts that byte in the low half.
    return this.bigEndian ? swap16(v) : v;
  }
  async readByte(): Promise<number> {
    throw new Error('not used');
  }
  async writeWord(): Promise<void> {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

void test('MAX17048: big-endian registers are byte-swapped and decoded', async () => {
  // 3.9 V = 49920 * 78.125 µV; 76.5 % = 0x4C80; CRATE -50 * 0.208 = -10.4 %/h.
  const bus = new FakeBus(0x36, new Map([[0x02, 49920], [0x04, 0x4c80], [0x16, (-50) & 0xffff], [0x08, 0x0012]]), true);
  const g = new Max17048Gauge(async (n) => (assert.equal(n, 3), bus), () => 3, 0x36, 3000);
  await g.start();
  const r = await g.read();
  assert.equal(r.percent, 76.5);
  assert.equal(r.voltageV, 3.9);
  assert.equal(r.charging, false);
  assert.equal(r.runtimeMin, Math.round((76.5 / 10.4) * 60));
  assert.equal(r.currentMa, Math.round(-0.104 * 3000));
  assert.equal(await g.version(), 0x0012);
  await g.stop();
  assert.equal(bus.closed, true);
});

void test('MAX17048: charging when CRATE is positive; SOC above 100 % is clamped', () => {
  const r = decodeMax17048({ vcell: 53760, soc: 0x6580, crate: 100 }, undefined);
  assert.equal(r.charging, true);
  assert.equal(r.percent, 100);
  assert.equal(r.runtimeMin, undefined);
  assert.equal(r.currentMa, undefined);
  // Inside the dead band (|rate| <= 0.5 %/h): neither charging nor a runtime estimate.
  const idle = decodeMax17048({ vcell: 53760, soc: 0x3200, crate: 2 }, 3000);
  assert.equal(idle.charging, false);
  assert.equal(idle.runtimeMin, undefined);
});

void test('BQ27441: little-endian words, signed current, runtime from remaining capacity', async () => {
  const bus = new FakeBus(0x55, new Map([[0x04, 3842], [0x06, 0x0001], [0x10, (-480) & 0xffff], [0x0c, 1900], [0x1c, 63]]), false);
  const g = new Bq27441Gauge(async () => bus, () => 1, 0x55);
  await g.start();
  assert.deepEqual(await g.read(), { percent: 63, voltageV: 3.842, charging: false, currentMa: -480, runtimeMin: 238 });
  await g.stop();
  const ch = decodeBq27441({ voltage: 4100, flags: 0x0000, avgCurrent: 900, remaining: 2500, soc: 80 });
  assert.equal(ch.charging, true);
  assert.equal(ch.runtimeMin, undefined);
  assert.equal(ch.currentMa, 900);
});

void test('a chip that does not answer is a DeviceError naming address and register', async () => {
  const bus = new FakeBus(0x36, new Map(), true);
  const g = new Max17048Gauge(async () => bus, () => 0, 0x37);
  await g.start();
  await assert.rejects(g.read(), (e) => isDeviceError(e) && /0x37/.test(e.message) && /register 0x2/.test(e.message));
  const unstarted = new Bq27441Gauge(async () => bus, () => 0);
  await assert.rejects(unstarted.read(), isDeviceError);
});

void test('helpers: swap16, s16, plausibility', () => {
  assert.equal(swap16(0x1234), 0x3412);
  assert.equal(s16(0xffce), -50);
  assert.equal(s16(0x7fff), 32767);
  assert.deepEqual(gaugeProblems({ percent: 50, voltageV: 3.8, charging: false, currentMa: -300, runtimeMin: 100 }), []);
  const bad = gaugeProblems({ percent: 255, voltageV: 0, charging: false, currentMa: 40000, runtimeMin: undefined });
  assert.equal(bad.length, 3, bad.join('; '));
});

void test('the I2C bus is found by adapter name, and a missing name lists what exists', () => {
  const root = mkdtempSync(join(tmpdir(), 'i2c-dev-'));
  for (const [n, name] of [[0, 'i915 gmbus dpb'], [4, 'SMBus stub driver']] as const) {
    mkdirSync(join(root, `i2c-${n}`));
    writeFileSync(join(root, `i2c-${n}`, 'name'), name + '\n');
  }
  assert.equal(findBusByName('SMBus stub driver', root), 4);
  assert.throws(() => findBusByName('30a40000.i2c', root), (e) => isDeviceError(e) && /i2c-0 'i915 gmbus dpb'/.test(e.message));
});
