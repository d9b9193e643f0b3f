/**
 * Gauge values preset in i2c-stub reach central: the agent on qemu-hil-sysfs (BQ27441) publishes
 * heartbeats to a real mosquitto (mutual TLS, the shipped broker config) inside the VM, and the
 * battery in them is the chip's.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempDataDir, type AgentProc } from '../../helpers/agent.js';
import { startMosquitto, type Broker } from '../../helpers/mosquitto.js';
import { agentConfig, Observer } from '../../mqtt/fixtures.js';
import { LINE, setBq27441, setPull, startAgentVm, vmOnly } from '../lib.js';

let broker: Broker | undefined;
let agent: AgentProc | undefined;
let obs: Observer | undefined;
after(async () => {
  obs?.end();
  await agent?.stop();
  await broker?.stop();
});

void test('battery from the BQ27441 in i2c-stub appears in MQTT heartbeats', { skip: vmOnly, timeout: 180_000 }, async () => {
  for (const l of [LINE.shift, LINE.privacy, LINE.dock]) setPull(l, false);
  setBq27441({ percent: 58, voltageMv: 3801, currentMa: -600, remainingMah: 1700 });
  broker = await startMosquitto(mkdtempSync(join(tmpdir(), 'hil-mqtt-')));
  obs = await Observer.start(broker, 'cam-hil');
  agent = await startAgentVm({ board: 'qemu-hil-sysfs', dataDir: tempDataDir('hil-hb-'), config: { ...agentConfig(broker, 'cam-hil', { policy: { heartbeatOffDutyS: 1 } }), power: { intervalS: 1 } } });
  const hb = await obs.waitFor(() => obs!.heartbeats().find((h) => h.battery && h.battery.percent === 58), 90_000, 'a heartbeat with the gauge battery');
  assert.equal(hb.battery!.voltageV, 3.801);
  assert.equal(hb.battery!.charging, false);
  assert.equal(hb.battery!.runtimeMin, Math.round((1700 / 600) * 60));
  // A change on the chip reaches the next heartbeats.
  setBq27441({ percent: 41, voltageMv: 3712, currentMa: -600, remainingMah: 1200 });
  await obs.waitFor(() => obs!.heartbeats().find((h) => h.battery?.percent === 41), 60_000, 'a heartbeat with the new reading');
});
