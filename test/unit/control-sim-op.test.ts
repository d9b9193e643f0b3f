/**
 * The control socket's `sim` op refuses, with a clear message, on a board that simulates no device,
 * on a board with real buttons (a camera someone wears), and for a field whose device the board
 * does not simulate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerControlOps } from '../../agent/control/ops.js';
import type { ControlServer, ControlHandler } from '../../agent/control/server.js';
import type { Hal } from '../../hal/index.js';
import { SimWorld } from '../../hal/sim/sim-world.js';
import type { StatusSnapshot } from '../../agent/status.js';

test('sim on a board without simulated devices: refused, naming the board and where the sim world exists', async () => {
  const handlers = new Map<string, ControlHandler>();
  const server = { register: (op: string, h: ControlHandler) => void handlers.set(op, h) } as unknown as ControlServer;
  const hal = { sim: undefined } as unknown as Hal;
  registerControlOps(server, { boardName: 'rpi4-uvc', hal: () => hal, status: () => ({}) as StatusSnapshot, settled: async () => undefined });
  await assert.rejects(handlers.get('sim')!({ op: 'sim', set: { docked: true } }), /board 'rpi4-uvc' simulates no devices: the sim world exists only on boards with sim backends \(e\.g\. --board sim\)/);
});

function simOp(hal: Partial<Hal>, boardName: string): ControlHandler {
  const handlers = new Map<string, ControlHandler>();
  const server = { register: (op: string, h: ControlHandler) => void handlers.set(op, h) } as unknown as ControlServer;
  registerControlOps(server, { boardName, hal: () => hal as Hal, status: () => ({}) as StatusSnapshot, settled: async () => undefined });
  return handlers.get('sim')!;
}

test('sim on a board with real buttons and a simulated gauge: refused like press — batteryPct 0 cannot end a shift', async () => {
  const world = new SimWorld();
  const sim = simOp({ sim: world, gauge: world.gauge, buttons: { virtual: false } as Hal['buttons'] }, 'rpi4-simgauge');
  await assert.rejects(sim({ op: 'sim', set: { batteryPct: 0 } }), /board 'rpi4-simgauge' has real buttons: the sim world is refused/);
  assert.equal(world.state.batteryPct, 87, 'nothing changed');
});

test('sim field whose device the board does not simulate: refused naming the device, nothing changed', async () => {
  const world = new SimWorld();
  // Virtual buttons and a simulated gauge, but a real dock (undefined here stands for "not the sim's").
  const sim = simOp({ sim: world, gauge: world.gauge, dock: undefined, buttons: { virtual: true } as Hal['buttons'] }, 'bench');
  await assert.rejects(sim({ op: 'sim', set: { batteryPct: 40, docked: true } }), /sim field 'docked' drives the dock, which board 'bench' does not simulate/);
  assert.equal(world.state.batteryPct, 87);
  assert.equal(world.state.docked, false);
  const ok = (await sim({ op: 'sim', set: { batteryPct: 40 } })) as { sim: { batteryPct: number } };
  assert.equal(ok.sim.batteryPct, 40);
});
