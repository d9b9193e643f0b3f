/**
 * The control socket's own operations: `status`, `press` (virtual buttons) and `sim` (the sim
 * world's battery, dock, temperature; the lens — `picture` live/black/frozen — and the `mic`,
 * put into the running lavfi ffmpeg at once). Extensions add theirs through the agent context. Every
 * request field is validated here; bad input is a UsageError the client sees as `{ok:false}`.
 */
import { BodycamError } from '../lib/errors.js';
import type { ControlServer } from './server.js';
import type { Hal, ButtonName, VirtualButtons } from '../../hal/index.js';
import type { StatusSnapshot } from '../status.js';
import type { SimState, SimWorld } from '../../hal/sim/sim-world.js';
import { LavfiCamera, pictureCommand, sceneEndpoints, sendSceneCommand, soundCommand } from '../../hal/sim/lavfi-camera.js';
import { SimClock } from '../../hal/clock/sim.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ControlOpsDeps {
  readonly boardName: string;
  readonly hal: () => Hal;
  readonly status: () => StatusSnapshot;
  /** Resolves when the machine has handled everything queued so far. */
  readonly settled: () => Promise<void>;
  /** The data dir (the sim scene's sockets live there). */
  readonly dataDir?: string;
}


export function registerControlOps(server: ControlServer, d: ControlOpsDeps): void {
  server.register('status', async () => ({ status: d.status() }));
  server.register('press', async (req) => press(d, req));
  server.register('sim', async (req) => simSet(d, req));
}

async function press(d: ControlOpsDeps, req: Record<string, unknown>): Promise<{ pressed: string }> {
  const hal = d.hal();
  if (!hal.buttons.virtual) throw new BodycamError('USAGE', `board '${d.boardName}' has real buttons: virtual presses are refused`);
  const button = req.button;
  if (button !== 'shift' && button !== 'privacy') throw new BodycamError('USAGE', 'button must be "shift" or "privacy"');
  const holdS = req.holdS === undefined ? 0.1 : Number(req.holdS);
  const count = req.count === undefined ? 1 : Number(req.count);
  if (!Number.isFinite(holdS) || holdS < 0 || holdS > 30) throw new BodycamError('USAGE', 'holdS must be a number of seconds in [0, 30]');
  if (!Number.isInteger(count) || count < 1 || count > 5) throw new BodycamError('USAGE', 'count must be an integer in [1, 5]');
  const vb = hal.buttons as VirtualButtons;
  for (let i = 0; i < count; i++) {
    if (i > 0) await sleep(120);
    vb.inject(button as ButtonName, true);
    await sleep(holdS * 1000);
    vb.inject(button as ButtonName, false);
  }
  // Let the recogniser's consequences (a hold fired at release time) reach the machine.
  await sleep(10);
  await d.settled();
  return { pressed: `${button} x${count} hold ${holdS}s` };
}

/** Enumerated sim fields: the lens and the microphone (obstruction). */
const SIM_ENUMS: Readonly<Partial<Record<keyof SimState, readonly string[]>>> = { picture: ['live', 'black', 'frozen'], mic: ['live', 'silent'] };

/** Which device each sim field drives: a field is settable only where that device is simulated. */
const SIM_FIELD_DEVICE: Readonly<Record<keyof SimState, SimDevice>> = {
  batteryPct: 'gauge', voltageV: 'gauge', charging: 'gauge', currentMa: 'gauge', docked: 'dock', tempC: 'thermal',
  clockSynced: 'clock', gnssFix: 'gnss', picture: 'camera', mic: 'camera',
};
type SimDevice = 'gauge' | 'dock' | 'thermal' | 'clock' | 'gnss' | 'camera';

function simulated(hal: Hal, sim: SimWorld, dev: SimDevice): boolean {
  switch (dev) {
    case 'gauge': return hal.gauge === sim.gauge;
    case 'dock': return hal.dock === sim.dock;
    case 'thermal': return hal.thermal === sim.thermal;
    case 'clock': return hal.clock instanceof SimClock;
    case 'gnss': return hal.gnss?.kind === 'sim';
    case 'camera': return hal.camera instanceof LavfiCamera;
  }
}

/**
 * Gated like `press`: the sim world is a bench tool, and a board with real buttons is a camera
 * someone wears — a simulated gauge beside real hardware must not let `{"batteryPct":0}` end a
 * shift. And field by field: only what the board really simulates can be set.
 */
async function simSet(d: ControlOpsDeps, req: Record<string, unknown>): Promise<{ sim: SimState; scene?: Record<string, string> }> {
  const hal = d.hal();
  const sim = hal.sim;
  if (!sim) throw new BodycamError('USAGE', `board '${d.boardName}' simulates no devices: the sim world exists only on boards with sim backends (e.g. --board sim)`);
  if (!hal.buttons.virtual) throw new BodycamError('USAGE', `board '${d.boardName}' has real buttons: the sim world is refused on a camera someone wears (as virtual presses are)`);
  const set = req.set;
  if (typeof set !== 'object' || set === null) throw new BodycamError('USAGE', 'sim needs "set": {...}');
  const allowed: Partial<Record<keyof SimState, 'number' | 'boolean'>> = { batteryPct: 'number', voltageV: 'number', charging: 'boolean', currentMa: 'number', docked: 'boolean', tempC: 'number', clockSynced: 'boolean', gnssFix: 'boolean' };
  const patch: Partial<SimState> = {};
  for (const [k, v] of Object.entries(set)) {
    const choices = SIM_ENUMS[k as keyof SimState];
    if (choices) {
      if (typeof v !== 'string' || !choices.includes(v)) throw new BodycamError('USAGE', `sim field '${k}' must be one of ${choices.join(', ')}`);
      (patch as Record<string, unknown>)[k] = v;
      continue;
    }
    const type = allowed[k as keyof SimState];
    if (!type) throw new BodycamError('USAGE', `unknown sim field '${k}' (known: ${[...Object.keys(allowed), ...Object.keys(SIM_ENUMS)].join(', ')})`);
    if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) throw new BodycamError('USAGE', `sim field '${k}' must be a ${type}`);
    (patch as Record<string, unknown>)[k] = v;
  }
  for (const k of Object.keys(patch) as Array<keyof SimState>) {
    const dev = SIM_FIELD_DEVICE[k];
    if (!simulated(hal, sim, dev)) throw new BodycamError('USAGE', `sim field '${k}' drives the ${dev}, which board '${d.boardName}' does not simulate`);
  }
  if (patch.batteryPct !== undefined && (patch.batteryPct < 0 || patch.batteryPct > 100)) throw new BodycamError('USAGE', 'batteryPct must be in [0, 100]');
  sim.update(patch);
  const scene = await applyScene(d, patch);
  return { sim: { ...sim.state }, ...(scene ? { scene } : {}) };
}

/**
 * Puts a changed picture or microphone into the running lavfi ffmpeg. No ffmpeg (off duty,
 * paused): the next run starts in the sim world's scene, so the answer says `not running`.
 */
async function applyScene(d: ControlOpsDeps, patch: Partial<SimState>): Promise<Record<string, string> | undefined> {
  if ((patch.picture === undefined && patch.mic === undefined) || !d.dataDir || d.hal().camera.source !== 'lavfi') return undefined;
  const e = sceneEndpoints(d.dataDir);
  const out: Record<string, string> = {};
  const send = async (what: string, endpoint: string, cmd: string): Promise<void> => {
    try {
      out[what] = await sendSceneCommand(endpoint, cmd);
    } catch {
      out[what] = 'not running';
    }
  };
  if (patch.picture !== undefined) await send('picture', e.video, pictureCommand(patch.picture));
  if (patch.mic !== undefined) await send('mic', e.audio, soundCommand(patch.mic === 'silent'));
  return out;
}
