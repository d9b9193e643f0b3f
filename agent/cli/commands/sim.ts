/**
 * `bodycam sim [SETTING VALUE]...`: changes the sim world of the running agent (the control
 * socket's `sim` op, agent/control/ops.ts) — the dock, the battery, the lens, the microphone, the
 * GNSS fix — in words instead of raw JSON. With no setting it prints the world as it is.
 */
import type { Command } from '../command.js';
import { parseArgs, dataDirFrom, DATA_DIR_FLAG } from '../args.js';
import { UsageError, BodycamError } from '../../lib/errors.js';
import { controlRequest } from '../../control/client.js';
import type { SimState } from '../../../hal/sim/sim-world.js';

const FLAGS = { ...DATA_DIR_FLAG, json: { type: 'boolean', help: 'print the sim world as JSON' } } as const;

type Setting = { readonly field: keyof SimState; readonly help: string; readonly range?: string; parse(v: string): string | number | boolean | undefined };

const word = <T extends string | boolean>(field: keyof SimState, help: string, words: Record<string, T>): Setting => ({
  field,
  help,
  parse: (v) => (Object.hasOwn(words, v) ? words[v] : undefined),
});
const num = (field: keyof SimState, help: string, min: number, max: number): Setting => ({
  field,
  help,
  range: `a number from ${min} to ${max}`,
  parse: (v) => {
    const n = Number(v);
    return v.trim() !== '' && Number.isFinite(n) && n >= min && n <= max ? n : undefined;
  },
});

/** The settings, in the words a tester uses, mapped onto SimState (hal/sim/sim-world.ts). */
const SETTINGS: Readonly<Record<string, Setting & { readonly values: string }>> = {
  dock: { ...word('docked', 'the camera sits in its dock (docking also starts charging)', { on: true, off: false }), values: 'on|off' },
  battery: { ...num('batteryPct', 'battery charge in percent', 0, 100), values: 'PCT' },
  voltage: { ...num('voltageV', 'battery voltage', 0, 5), values: 'VOLTS' },
  charging: { ...word('charging', 'the charger delivers current', { on: true, off: false }), values: 'on|off' },
  current: { ...num('currentMa', 'battery current in mA (negative: discharging)', -10_000, 10_000), values: 'MA' },
  temp: { ...num('tempC', 'device temperature in °C', -40, 150), values: 'CELSIUS' },
  lens: { ...word('picture', 'what the camera sees: the scene, a covered lens (black), a frozen picture', { clear: 'live', covered: 'black', frozen: 'frozen' }), values: 'clear|covered|frozen' },
  mic: { ...word('mic', 'the microphone: the test tone, or silence (blocked)', { live: 'live', silent: 'silent' }), values: 'live|silent' },
  gnss: { ...word('gnssFix', 'the GNSS receiver has a fix (nofix: as in a tunnel)', { fix: true, nofix: false }), values: 'fix|nofix' },
  clock: { ...word('clockSynced', 'the time daemon reports the clock synchronized', { synced: true, unsynced: false }), values: 'synced|unsynced' },
};

const USAGE = `usage: bodycam sim [SETTING VALUE]... [--json] [--data-dir DIR]

Changes the simulated world of the running agent on a board with sim devices (--board sim);
other boards refuse. With no setting, prints the world as it is. Several settings go in one
request, e.g. 'bodycam sim dock on battery 40'.

settings:
${Object.entries(SETTINGS).map(([k, s]) => `  ${`${k} ${s.values}`.padEnd(26)}  ${s.help}`).join('\n')}

The sim world starts undocked, battery 87 % discharging, lens clear, microphone live, GNSS fix,
clock synchronized.`;

/** `dock on battery 40` → { docked: true, batteryPct: 40 }; every bad word is a usage error. */
export function parseSimSettings(words: readonly string[]): Partial<SimState> {
  if (words.length % 2) throw new UsageError(`sim: '${words[words.length - 1]}' needs a value (${SETTINGS[words[words.length - 1]!]?.values ?? 'SETTING VALUE pairs'})`);
  const patch: Record<string, unknown> = {};
  for (let i = 0; i < words.length; i += 2) {
    const [name, value] = [words[i]!, words[i + 1]!];
    const s = Object.hasOwn(SETTINGS, name) ? SETTINGS[name] : undefined;
    if (!s) throw new UsageError(`sim: unknown setting '${name}' (known: ${Object.keys(SETTINGS).join(', ')})`);
    const v = s.parse(value);
    if (v === undefined) throw new UsageError(`sim: ${name} must be ${s.range ?? s.values}, got '${value}'`);
    if (s.field in patch) throw new UsageError(`sim: ${name} given twice`);
    patch[s.field] = v;
  }
  return patch as Partial<SimState>;
}

function formatSim(s: SimState): string {
  const lens = { live: 'clear', black: 'covered', frozen: 'frozen' }[s.picture];
  const rows: Array<[string, string]> = [
    ['dock', s.docked ? 'on (docked)' : 'off (undocked)'],
    ['battery', `${s.batteryPct}% ${s.voltageV.toFixed(2)} V, ${s.currentMa} mA, ${s.charging ? 'charging' : 'not charging'}`],
    ['temp', `${s.tempC} °C`],
    ['lens', lens],
    ['mic', s.mic],
    ['gnss', s.gnssFix ? 'fix' : 'nofix'],
    ['clock', s.clockSynced ? 'synced' : 'unsynced'],
  ];
  return rows.map(([k, v]) => `${k.padEnd(8)}  ${v}`).join('\n');
}

export const simCommand: Command = {
  name: 'sim',
  summary: 'change the simulated world of a sim board: dock, battery, lens, microphone, GNSS fix',
  usage: USAGE,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'sim');
    const set = parseSimSettings(positionals);
    const r = await controlRequest(dataDirFrom(flags['data-dir']), { op: 'sim', set });
    if (!r.ok) throw new BodycamError('STATE', `the agent refused: ${r.error ?? 'no reason given'}`);
    const state = r.sim as SimState;
    const scene = r.scene as Record<string, string> | undefined;
    if (flags.json) console.log(JSON.stringify({ sim: state, ...(scene ? { scene } : {}) }, null, 2));
    else {
      console.log(formatSim(state));
      // The lens and microphone reach a running encoder at once; off duty, the next run starts with them.
      for (const [k, v] of Object.entries(scene ?? {})) console.log(`(${k === 'picture' ? 'lens' : k}: ${v === 'not running' ? 'no encoder running: the next recording starts with it' : `applied to the running encoder`})`);
    }
    return 0;
  },
};
