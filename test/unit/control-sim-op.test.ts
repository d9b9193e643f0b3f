/** The control socket's `sim` op refuses, with a clear message, on a board that simulates no device. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerControlOps } from '../../agent/control/ops.js';
import type { ControlServer, ControlHandler } from '../../agent/control/server.js';
import type { Hal } from '../../hal/index.js';
import type { StatusSnapshot } from '../../agent/status.js';

test('sim on a board without simulated devices: refused, naming the board and where the sim world exists', async () => {
  const handlers = new Map<string, ControlHandler>();
  const server = { register: (op: string, h: ControlHandler) => void handlers.set(op, h) } as unknown as ControlServer;
  const hal = { sim: undefined } as unknown as Hal;
  registerControlOps(server, { boardName: 'rpi4-uvc', hal: () => hal, status: () => ({}) as StatusSnapshot, settled: async () => undefined });
  await assert.rejects(handlers.get('sim')!({ op: 'sim', set: { docked: true } }), /board 'rpi4-uvc' simulates no devices: the sim world exists only on boards with sim backends \(e\.g\. --board sim\)/);
});
