/**
 * `bodycam sim` against the real agent on the sim board: the dock, the battery and the lens change
 * through the CLI and show in the agent's status; bad settings are usage errors that change nothing.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, runCli, cleanup, type AgentProc } from '../helpers/agent.js';
import type { SimState } from '../../hal/sim/sim-world.js';

let agent: AgentProc | undefined;
after(async () => {
  await agent?.stop();
  if (agent) cleanup(agent.dataDir);
});

const sim = (...args: string[]): ReturnType<typeof runCli> => runCli(['sim', ...args, '--data-dir', agent!.dataDir]);

test('bodycam sim: prints the world, docks, sets the battery, covers the lens (off duty, then into the running encoder); bad words are exit 2 and change nothing', { timeout: 90_000 }, async () => {
  agent = await startAgent({ board: 'sim' });

  const first = await sim();
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^dock {6}off \(undocked\)$/m, 'the sim dock starts undocked');
  assert.match(first.stdout, /^lens {6}clear$/m);

  const neg = await sim('current', '-600', '--json');
  assert.equal(neg.code, 0, neg.stderr);
  assert.equal((JSON.parse(neg.stdout) as { sim: SimState }).sim.currentMa, -600, 'a negative value is a value, not a flag');

  const r = await sim('dock', 'on', 'battery', '40');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^dock {6}on \(docked\)$/m);
  assert.match(r.stdout, /^battery {3}40% .*, charging$/m, 'docking charges');
  const s = await agent.waitFor((x) => x.docked === true && x.battery?.percent === 40, 20_000, 'docked, 40 % in status');
  assert.equal(s.battery?.charging, true);

  const lens = await sim('lens', 'covered', 'mic', 'silent', '--json');
  assert.equal(lens.code, 0, lens.stderr);
  const j = JSON.parse(lens.stdout) as { sim: SimState; scene?: Record<string, string> };
  assert.equal(j.sim.picture, 'black');
  assert.equal(j.sim.mic, 'silent');
  assert.deepEqual(j.scene, { picture: 'not running', mic: 'not running' }, 'off duty: no encoder to put the scene into yet');

  for (const [args, re] of [
    [['battery', '140'], /sim: battery must be a number from 0 to 100, got '140'/],
    [['lens', 'open'], /sim: lens must be clear\|covered\|frozen, got 'open'/],
    [['door', 'open'], /sim: unknown setting 'door' \(known: dock, battery, /],
    [['dock'], /sim: 'dock' needs a value \(on\|off\)/],
  ] as const) {
    const bad = await sim(...args);
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, re);
  }
  const after2 = JSON.parse((await sim('--json')).stdout) as { sim: SimState };
  assert.equal(after2.sim.batteryPct, 40, 'refused settings changed nothing');

  // On duty the lens reaches the running encoder at once.
  await runCli(['press', 'shift', '--hold', '2.2', '--data-dir', agent.dataDir]);
  await agent.waitFor((x) => x.state === 'RECORDING' && x.encoderRunning, 30_000, 'RECORDING');
  const live = await sim('lens', 'frozen');
  assert.equal(live.code, 0, live.stderr);
  assert.match(live.stdout, /^lens {6}frozen$/m);
  assert.match(live.stdout, /\(lens: applied to the running encoder\)/);

  // The human status of the real agent: labelled lines, one clock line, no raw JSON.
  const st = await runCli(['status', '--data-dir', agent.dataDir]);
  assert.equal(st.code, 0, st.stderr);
  for (const label of ['state', 'shift', 'pause', 'wearer', 'duty', 'battery', 'storage', 'docked', 'clock', 'faults']) {
    assert.equal(st.stdout.split('\n').filter((l) => l.startsWith(`${label}  `)).length, 1, `one '${label}' line in:\n${st.stdout}`);
  }
  assert.match(st.stdout, /^state +RECORDING$/m);
  assert.match(st.stdout, /^docked +yes$/m);
  assert.doesNotMatch(st.stdout, /[{[]"|":/, 'no raw JSON');
  const js = await runCli(['status', '--json', '--data-dir', agent.dataDir]);
  assert.equal((JSON.parse(js.stdout) as { state: string }).state, 'RECORDING');

  const back = await sim('dock', 'off', 'lens', 'clear', 'mic', 'live');
  assert.equal(back.code, 0, back.stderr);
  await agent.waitFor((x) => x.docked === false, 20_000, 'undocked in status');
});
