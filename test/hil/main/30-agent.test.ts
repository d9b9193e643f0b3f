/**
 * The agent on the qemu-hil boards, driven like a wearer would: gpio-sim button edges (through
 * the sim pull attributes) start a shift, pause with each reason, resume, and end it with the
 * confirm press; led_rec and haptic are read back from gpio-sim as each state requires — with
 * both GPIO backends. Gauge values preset in i2c-stub reach `bodycam status`; a critical battery
 * finalizes the shift; unbinding the camera mid-shift is a journaled fault and recording resumes
 * when it returns. Every shift is then accepted by `bodycam verify`.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { runCli, shiftJournal, tempDataDir, type AgentProc } from '../../helpers/agent.js';
import type { StatusSnapshot } from '../../../agent/status.js';
import { fromGesture, type HilFirstFrame } from '../../helpers/first-frame.js';
import { LINE, RESULTS, startAgentVm, bindCamera, pressLine, setBq27441, setMax17048, setPull, simValue, sleep, unbindCamera, vmOnly, waitFor, watchLine } from '../lib.js';

const agents: AgentProc[] = [];
const WD_STATE = '/sys/class/watchdog/watchdog0/state';
after(async () => {
  for (const a of agents) await a.stop().catch(() => undefined);
  bindCamera();
});

// Under TCG ffmpeg can need more than the default 6 s to its first segment: a stall there would
// be emulation, not the agent.
const CONFIG = { power: { intervalS: 1 }, policy: { encoderStallS: 20 } };

/**
 * Gesture recognised → first frame for this board's shift starts and resumes (gpio-sim presses,
 * vivid), left in the results share for `make bench` to print beside the sim board's
 * (test/helpers/first-frame.ts). A measurement, not an assertion: under emulation it is slow.
 */
function recordFirstFrame(a: AgentProc): void {
  const dmesg = spawnSync('dmesg', { encoding: 'utf8' }).stdout ?? '';
  const f: HilFirstFrame = {
    board: 'qemu-hil', camera: 'vivid', accel: /Hypervisor detected: KVM/.test(dmesg) ? 'KVM' : 'QEMU TCG emulation',
    at: new Date().toISOString(), ...fromGesture(a.logs()),
  };
  writeFileSync(join(RESULTS, 'first-frame.json'), JSON.stringify(f, null, 1));
  console.log(`# HIL gesture → first frame (ms): start ${f.start.join(', ')}; resume ${f.resume.join(', ')}`);
}

async function start(board: string): Promise<AgentProc> {
  for (const l of [LINE.shift, LINE.privacy, LINE.dock]) setPull(l, false);
  const dataDir = tempDataDir('hil-agent-');
  const p = await runCli(['provision', '--data-dir', dataDir]);
  assert.equal(p.code, 0, p.stderr);
  const a = await startAgentVm({ board, dataDir, config: CONFIG, env: { BODYCAM_LOG: 'info' } });
  agents.push(a);
  return a;
}

async function verify(a: AgentProc, shiftId: string): Promise<void> {
  const r = await runCli(['verify', join(a.dataDir, 'shifts', shiftId), '--pubkey', join(a.dataDir, 'identity', 'device.pub.pem')], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `verify ${shiftId}: ${r.stdout}${r.stderr}`);
}

const state = (want: StatusSnapshot['state'], extra: (s: StatusSnapshot) => boolean = () => true) => (s: StatusSnapshot) => s.state === want && extra(s);

async function startShift(a: AgentProc, haptic: ReturnType<typeof watchLine>): Promise<StatusSnapshot> {
  haptic.reset();
  await pressLine(LINE.shift, 2600);
  const s = await a.waitFor(state('RECORDING'), 30_000, 'shift started by the button');
  await waitFor(() => simValue(LINE.led_rec), 10_000, 'led_rec on while recording');
  await waitFor(() => haptic.sawHigh(), 5000, 'haptic pulse at shift start');
  return s;
}

async function pauseResume(a: AgentProc, haptic: ReturnType<typeof watchLine>, double: boolean): Promise<void> {
  haptic.reset();
  if (double) {
    await pressLine(LINE.privacy, 150);
    await sleep(200);
    await pressLine(LINE.privacy, 150);
  } else await pressLine(LINE.privacy, 150);
  const reason = double ? 'SENSITIVE_SITE' : 'PERSONAL_NEEDS';
  await a.waitFor(state('PAUSED', (s) => s.pauseReason === reason), 20_000, `pause ${reason}`);
  await waitFor(() => !simValue(LINE.led_rec), 10_000, 'led_rec off while paused');
  await waitFor(() => haptic.sawHigh(), 5000, 'haptic pulses on pause');
  await sleep(1000);
  assert.equal(simValue(LINE.led_rec), false, 'led_rec stays off while paused');
  await pressLine(LINE.privacy, 150);
  await a.waitFor(state('RECORDING'), 20_000, 'resume by the privacy button');
  await waitFor(() => simValue(LINE.led_rec), 10_000, 'led_rec on again after resume');
}

async function endShift(a: AgentProc): Promise<void> {
  await pressLine(LINE.shift, 3500);
  await sleep(300);
  await pressLine(LINE.shift, 150);
  await a.waitFor(state('OFF_DUTY'), 60_000, 'shift ended by hold + confirm press');
  await waitFor(() => !simValue(LINE.led_rec), 10_000, 'led_rec off after the shift');
}

void test('gpio-cdev (qemu-hil): buttons, LEDs/haptic, MAX17048 status, camera loss, confirm end, critical battery', { skip: vmOnly, timeout: 420_000 }, async () => {
  setMax17048({ percent: 76.5, voltageV: 3.91, ratePctH: -10.4 });
  const haptic = watchLine(LINE.haptic);
  try {
    const a = await start('qemu-hil');
    const s0 = await a.waitFor((s) => s.battery !== null, 20_000, 'battery in status');
    assert.equal(s0.battery!.percent, 76.5);
    assert.equal(s0.battery!.voltageV, 3.91);
    assert.equal(s0.battery!.runtimeMin, Math.round((76.5 / 10.4) * 60));
    assert.equal(s0.docked, false);
    // qemu-hil names /dev/watchdog (softdog): armed while the agent runs, petted while healthy.
    const wd = s0.ext.power?.watchdog as { kinds: string[]; petting: boolean } | undefined;
    assert.deepEqual(wd?.kinds, ['device']);
    assert.equal(wd?.petting, true);
    assert.equal(readFileSync(WD_STATE, 'utf8').trim(), 'active');
    const cli = await runCli(['status', '--data-dir', a.dataDir]);
    assert.match(cli.stdout, /battery\s+76\.5% 3\.91 V, ~441 min left/);

    const { shiftId } = await startShift(a, haptic);
    assert.ok(shiftId);
    await a.waitFor((s) => s.segments >= 2, 60_000, 'vivid frames reach segments');
    await pauseResume(a, haptic, false);
    await pauseResume(a, haptic, true);

    // The camera goes away mid-shift (driver unbound), and comes back.
    const before = (await a.status()).segments;
    unbindCamera();
    await a.waitFor((s) => 'camera' in s.faults, 60_000, 'camera fault');
    await sleep(2000);
    bindCamera();
    await a.waitFor((s) => !('camera' in s.faults) && s.segments > before + 1 && s.state === 'RECORDING', 90_000, 'recording resumes after the camera returns');

    // Dock detect input.
    setPull(LINE.dock, true);
    await a.waitFor((s) => s.docked === true, 10_000, 'docked');
    setPull(LINE.dock, false);

    await endShift(a);
    const j = shiftJournal(a.dataDir, shiftId!);
    const types = j.map((r) => r.type);
    assert.deepEqual(j.filter((r) => r.type === 'pause').map((r) => r.reason), ['PERSONAL_NEEDS', 'SENSITIVE_SITE']);
    assert.equal(j.filter((r) => r.type === 'resume').length, 2);
    assert.ok(j.some((r) => r.type === 'fault' && r.fault === 'camera_lost'), `camera_lost fault journaled: ${types.join(',')}`);
    const gaps = j.filter((r) => r.type === 'gap' || r.type === 'fault').map((r) => `${r.type}:${String(r.cause ?? r.fault)}`);
    assert.ok(j.some((r) => r.type === 'gap' && r.cause === 'camera_lost'), `the interval without media is a camera_lost gap (${gaps.join(', ')})`);
    assert.ok(j.some((r) => r.type === 'power' && r.event === 'docked'));
    assert.equal(j.find((r) => r.type === 'shift_end')?.reason, 'wearer');
    const probe = await runCli(['verify', join(a.dataDir, 'shifts', shiftId!), '--pubkey', join(a.dataDir, 'identity', 'device.pub.pem'), '--probe'], { timeoutMs: 180_000 });
    assert.equal(probe.code, 0, `segments decode (verify --probe): ${probe.stdout}${probe.stderr}`);

    // A second shift, ended by a critical battery before brown-out.
    const { shiftId: second } = await startShift(a, haptic);
    await a.waitFor((s) => s.segments >= 1, 60_000, 'second shift records');
    setMax17048({ percent: 12, voltageV: 3.62, ratePctH: -10.4 });
    await a.waitFor((s) => s.battery?.percent === 12, 20_000, 'low battery in status');
    setMax17048({ percent: 3, voltageV: 3.45, ratePctH: -10.4 });
    const end = await a.waitFor(state('OFF_DUTY'), 60_000, 'critical battery finalizes the shift');
    assert.equal(end.battery!.percent, 3);
    assert.ok('battery_critical' in end.faults);
    const j2 = shiftJournal(a.dataDir, second!);
    assert.ok(j2.some((r) => r.type === 'power' && r.event === 'battery_low'));
    assert.ok(j2.some((r) => r.type === 'power' && r.event === 'battery_critical'));
    assert.equal(j2.find((r) => r.type === 'shift_end')?.reason, 'battery_critical');
    recordFirstFrame(a);
    await a.stop();
    assert.equal(readFileSync(WD_STATE, 'utf8').trim(), 'inactive', 'a clean stop disarms the watchdog (magic close)');
    await verify(a, shiftId!);
    await verify(a, second!);
  } finally {
    await Promise.all(agents.map((x) => x.stop()));
    haptic.stop();
    setMax17048({ percent: 76.5, voltageV: 3.91, ratePctH: -10.4 });
  }
});

void test('gpio-sysfs (qemu-hil-sysfs): buttons, LEDs/haptic, BQ27441 status, pause/resume, confirm end', { skip: vmOnly, timeout: 300_000 }, async () => {
  setBq27441({ percent: 63, voltageMv: 3842, currentMa: -480, remainingMah: 1900 });
  const haptic = watchLine(LINE.haptic);
  try {
    const a = await start('qemu-hil-sysfs');
    const s0 = await a.waitFor((s) => s.battery !== null, 20_000, 'battery in status');
    assert.deepEqual(s0.battery, { percent: 63, voltageV: 3.842, charging: false, runtimeMin: 238 });
    const { shiftId } = await startShift(a, haptic);
    await a.waitFor((s) => s.segments >= 1, 60_000, 'segments');
    await pauseResume(a, haptic, false);
    await pauseResume(a, haptic, true);
    await endShift(a);
    const j = shiftJournal(a.dataDir, shiftId!);
    assert.deepEqual(j.filter((r) => r.type === 'pause').map((r) => r.reason), ['PERSONAL_NEEDS', 'SENSITIVE_SITE']);
    assert.equal(j.find((r) => r.type === 'shift_end')?.reason, 'wearer');
    await a.stop();
    await verify(a, shiftId!);
  } finally {
    await Promise.all(agents.map((x) => x.stop()));
    haptic.stop();
  }
});
