/**
 * Duty end to end on the sim board, real agent, real ffmpeg, real mosquitto:
 *   - a wearer assigned through the dock path (`bodycam command --file`) is journaled in shift_start;
 *   - taking the camera off its dock (sim world `docked:false`) starts the shift (trigger dock) —
 *     the undock → first frame time is read from the journals and printed, not asserted;
 *   - docking it again ends the shift (policy dutyDockEnd: shift_end.reason dock) and releases the wearer;
 *   - central's team `start_duty` (group id) over MQTT starts the next one unassigned (wearer null,
 *     `unassigned` fault in the heartbeat), `end_duty` ends it (reason central);
 *   - a duty window (`schedule_duty`) survives a SIGKILL of the agent, starts a shift at its start,
 *     and its overrun reaches central;
 *   - unsigned, expired, replayed, other-group and other-device duty commands are refused and journaled;
 *   - `bodycam verify --json` shows the wearer and the triggers, heartbeats carry Heartbeat.duty,
 *     duty events (battery forecast) arrive at central as EVENT_KIND_DUTY.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal, runCli, shiftJournal, type AgentProc } from '../helpers/agent.js';
import { buildCommand, signCommand, type Action } from '../../agent/commands/commands.js';
import { pb, type CommandResult } from '../../agent/telemetry/proto.js';
import { Observer, mqttStage, agentConfig, sleep } from './fixtures.js';

const DEV = 'cam-d1';
const GROUP = 'team-a';
let agent: AgentProc | undefined;
let obs: Observer | undefined;

const stage = mqttStage('mqtt-duty-');
/** The agent's data dir, inside the stage's folder (a getter: the folder exists once the stage's before() ran). */
const dataDir = (): string => join(stage.dir, 'data');

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const signed = (action: Action, o: { device?: string; group?: string; issuedAtMs?: number; ttlS?: number } = {}): Uint8Array =>
  signCommand(buildCommand({ deviceId: o.device ?? (o.group ? '' : DEV), ...(o.group ? { groupId: o.group } : {}), action, issuedAtMs: o.issuedAtMs ?? Date.now(), ttlS: o.ttlS ?? 120 }), stage.keys.privatePem);

/** Publishes on cmd and waits for the result that names this payload. */
async function send(payload: Uint8Array): Promise<CommandResult> {
  const d = sha(payload);
  const n = obs!.results().length;
  await obs!.publish('cmd', payload);
  return obs!.waitFor(() => obs!.results().slice(n).find((r) => r.payloadSha256 === d), 20_000, `result for ${d.slice(0, 12)}`);
}

/** The dock path: a signed command file delivered with `bodycam command --file`. */
async function dock(payload: Uint8Array, name: string): Promise<{ code: number | null; stdout: string }> {
  const file = join(stage.dir, `${name}.cmd`);
  writeFileSync(file, payload);
  const r = await runCli(['command', '--file', file, '--data-dir', dataDir()]);
  return { code: r.code, stdout: r.stdout + r.stderr };
}

async function verifyJson(shiftId: string): Promise<{ code: number | null; json: Record<string, unknown> & { duty: Record<string, unknown> } }> {
  const r = await runCli(['verify', join(dataDir(), 'shifts', shiftId), '--pubkey', join(dataDir(), 'identity', 'device.pub.pem'), '--json']);
  return { code: r.code, json: JSON.parse(r.stdout) as Record<string, unknown> & { duty: Record<string, unknown> } };
}

const duty = (s: { ext: Record<string, Record<string, unknown>> }): Record<string, unknown> => s.ext.duty ?? {};

void test('duty: wearer via the dock path, undock starts / dock ends the shift, team start_duty and end_duty over MQTT, a duty window kept across SIGKILL, refusals journaled, verify shows wearer and triggers', { timeout: 240_000 }, async () => {
  const prov = await runCli(['provision', '--data-dir', dataDir(), '--device-id', DEV]);
  assert.equal(prov.code, 0, prov.stderr);
  obs = await stage.observe(DEV);
  const config = agentConfig(stage.broker, DEV, { central: stage.keys, policy: { dutyDockStart: 1, dutyDockEnd: 1, dockDebounceS: 0.3, heartbeatOnDutyS: 2 } });
  (config.central as Record<string, unknown>).groupId = GROUP;
  agent = await stage.startAgent({ dataDir: dataDir(), config });
  await agent.waitFor((s) => (s.ext.telemetry as { connected?: boolean } | undefined)?.connected === true && s.ext.commands !== undefined, 30_000, 'connected');
  await agent.sim({ docked: true });
  await agent.waitFor((s) => s.docked === true, 10_000, 'docked');
  // Past the dock debounce: an undock within it would be a bounce, which starts nothing.
  await sleep(800);

  // 1. The dock kiosk assigns the wearer (no MQTT involved).
  const assign = await dock(signed({ type: 'assign_wearer', wearerId: 'W-17', name: 'Ana Ilves' }), 'assign');
  assert.equal(assign.code, 0, assign.stdout);
  assert.match(assign.stdout, /^accepted: assign_wearer/);
  assert.deepEqual(duty(await agent.status()).nextWearer, { id: 'W-17', name: 'Ana Ilves' });

  // 2. Check-out: off the dock → shift (trigger dock, wearer W-17).
  await agent.sim({ docked: false });
  const s1 = await agent.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 30_000, 'recording after undock');
  const j1 = shiftJournal(dataDir(), s1.shiftId!);
  const start1 = j1[0]!;
  assert.equal(start1.type, 'shift_start');
  assert.equal(start1.trigger, 'dock');
  assert.deepEqual(start1.wearer, { id: 'W-17', name: 'Ana Ilves' });
  assert.deepEqual({ t: duty(s1).startTrigger, w: duty(s1).wearer }, { t: 'dock', w: { id: 'W-17', name: 'Ana Ilves' } });
  assert.equal('unassigned' in s1.faults, false);
  const undock = readJournal(join(dataDir(), 'device-journal.jsonl')).findLast((r) => r.type === 'power' && r.event === 'undocked');
  const firstSeg = j1.find((r) => r.type === 'segment');
  assert.ok(undock && firstSeg, 'undock and first segment journaled');
  console.log(`# undock → first frame: ${((Date.parse(String(firstSeg.start)) - Date.parse(String(undock.at))) / 1000).toFixed(3)} s (undock journaled ${String(undock.at)}, first segment starts ${String(firstSeg.start)}; dock debounce 0.3 s)`);
  const hb1 = await obs.waitFor(() => obs!.heartbeats().find((h) => h.shiftId === s1.shiftId && h.duty?.startTrigger === 'dock'), 20_000, 'heartbeat with duty');
  assert.deepEqual({ id: hb1.duty!.wearerId, name: hb1.duty!.wearerName }, { id: 'W-17', name: 'Ana Ilves' });
  await obs.waitFor(() => obs!.events().find((e) => e.kind === pb.EventKind.EVENT_KIND_DUTY && e.shiftId === s1.shiftId && /battery_forecast/.test(e.journalLine)), 20_000, 'battery forecast duty event');

  // 3. Check-in: back on the dock → the shift ends (policy dutyDockEnd), the wearer is released.
  await agent.sim({ docked: true });
  const off1 = await agent.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'off duty after dock');
  assert.equal(duty(off1).nextWearer, null, 'the assignment lapses at the dock');
  assert.equal(shiftJournal(dataDir(), s1.shiftId!).find((r) => r.type === 'shift_end')?.reason, 'dock');
  const v1 = await verifyJson(s1.shiftId!);
  assert.equal(v1.code, 0, JSON.stringify(v1.json.findings));
  assert.equal(v1.json.duty.startTrigger, 'dock');
  assert.equal(v1.json.duty.endReason, 'dock');
  assert.deepEqual(v1.json.duty.wearer, { id: 'W-17', name: 'Ana Ilves' });

  // 4. Refusals: each refused, answered and journaled.
  const refusals: Array<[string, Uint8Array, number]> = [
    ['other group', signed({ type: 'start_duty' }, { group: 'team-b' }), pb.Refusal.REFUSAL_WRONG_DEVICE],
    ['other device', signed({ type: 'assign_wearer', wearerId: 'W-9', name: 'X' }, { device: 'cam-zz' }), pb.Refusal.REFUSAL_WRONG_DEVICE],
    ['expired', signed({ type: 'start_duty' }, { issuedAtMs: Date.now() - 600_000, ttlS: 60 }), pb.Refusal.REFUSAL_EXPIRED],
    ['unsigned', pb.SignedCommand.encode({ command: pb.Command.encode(buildCommand({ deviceId: DEV, action: { type: 'end_duty' } })).finish() }).finish(), pb.Refusal.REFUSAL_UNSIGNED],
  ];
  for (const [what, payload, code] of refusals) {
    const r = await send(payload);
    assert.equal(r.accepted, false, what);
    assert.equal(r.refusal, code, `${what}: ${r.reason}`);
  }

  // 5. Central starts the team's duty (group id) over MQTT: the next shift, unassigned.
  const startTeam = signed({ type: 'start_duty' }, { group: GROUP });
  const st = await send(startTeam);
  assert.equal(st.accepted, true, st.reason);
  const replay = await send(startTeam);
  assert.equal(replay.refusal, pb.Refusal.REFUSAL_REPLAYED, 'the same start_duty again is a replay');
  const s2 = await agent.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 30_000, 'recording after start_duty');
  const start2 = shiftJournal(dataDir(), s2.shiftId!)[0]!;
  assert.equal(start2.trigger, 'central');
  assert.equal(start2.wearer, null);
  assert.ok('unassigned' in s2.faults, 'unassigned fault raised');
  await obs.waitFor(() => obs!.heartbeats().find((h) => h.shiftId === s2.shiftId && h.faults.some((f) => f.name === 'unassigned') && h.duty?.startTrigger === 'central'), 20_000, 'heartbeat with the unassigned fault');
  const again = await send(signed({ type: 'start_duty' }));
  assert.equal(again.accepted, false, 'start_duty on duty is refused: the shift goes on');
  const end2 = await send(signed({ type: 'end_duty' }));
  assert.equal(end2.accepted, true, end2.reason);
  await agent.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'off duty after end_duty');
  assert.equal(shiftJournal(dataDir(), s2.shiftId!).find((r) => r.type === 'shift_end')?.reason, 'central');
  const v2 = await verifyJson(s2.shiftId!);
  assert.equal(v2.code, 0, JSON.stringify(v2.json.findings));
  assert.deepEqual([v2.json.duty.startTrigger, v2.json.duty.endReason, v2.json.duty.wearer], ['central', 'central', null]);

  // 6. A duty window through the dock path, then the agent's node process SIGKILLed and restarted:
  //    the persisted window starts the shift; its end passing while recording warns central.
  const now = Date.now();
  const sched = await dock(signed({ type: 'schedule_duty', startMs: now + 4000, endMs: now + 12_000 }), 'schedule');
  assert.equal(sched.code, 0, sched.stdout);
  await agent.kill('SIGKILL');
  agent = await stage.startAgent({ dataDir: dataDir(), config });
  assert.equal(duty(await agent.status()).scheduledStart, new Date(now + 4000).toISOString(), 'the window survived the SIGKILL');
  const s3 = await agent.waitFor((s) => s.state === 'RECORDING', 30_000, 'recording at the duty window start');
  assert.equal(shiftJournal(dataDir(), s3.shiftId!)[0]!.trigger, 'schedule');
  await obs.waitFor(() => obs!.events().find((e) => e.kind === pb.EventKind.EVENT_KIND_DUTY && e.shiftId === s3.shiftId && /schedule_overrun/.test(e.journalLine)), 30_000, 'duty window overrun event');
  assert.equal((await agent.status()).state, 'RECORDING', 'the window end never ends the shift');
  assert.equal((await send(signed({ type: 'end_duty' }))).accepted, true);
  await agent.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'off duty');

  // Every duty command payload, accepted or refused, is journaled (device journal off duty, shift journal on duty).
  const all = [...readJournal(join(dataDir(), 'device-journal.jsonl'))];
  for (const id of readdirSync(join(dataDir(), 'shifts'))) if (existsSync(join(dataDir(), 'shifts', id, 'journal.jsonl'))) all.push(...shiftJournal(dataDir(), id));
  const cmds = all.filter((r) => r.type === 'command');
  const refusedKinds = cmds.filter((r) => r.accepted === false).map((r) => r.refusal).sort();
  assert.deepEqual(refusedKinds, ['expired', 'rejected', 'replayed', 'unsigned', 'wrong_device', 'wrong_device']);
  assert.ok(cmds.some((r) => r.command === 'assign_wearer' && r.accepted === true && r.via === 'dock'));
  assert.ok(cmds.some((r) => r.command === 'start_duty' && r.accepted === true && r.group_id === GROUP && r.via === 'mqtt'));
  await agent.stop();
});
