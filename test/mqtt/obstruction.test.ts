/**
 * Obstruction detection end to end: the real agent on the sim board, its real ffmpeg, a real
 * mosquitto. Mid-shift the sim lens is covered for 20 s, then the picture frozen and the
 * microphone silenced together, through the sim world (zmq into the running ffmpeg). Asserted:
 * exactly one interval per kind in the journal with bounds within the debounce of the real
 * change, an EVENT_KIND_OBSTRUCTION event at the broker within 10 s of each onset, active
 * obstructions in a heartbeat, the fault raised and cleared, the haptic nag felt (status outputs)
 * more than once, no encoder restart, no gap in the media, the recorded streams as without
 * analysis, and `bodycam verify` listing the intervals with totals per kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDataDir, shiftJournal, type AgentProc } from '../helpers/agent.js';
import { pb } from '../../agent/telemetry/proto.js';
import { bodycam } from '../integrity/tamper.js';
import type { VerifyReport } from '../../agent/evidence/verify/report.js';
import { Observer, mqttStage, agentConfig, sleep } from './fixtures.js';

const DEBOUNCE_S = 3;
const DEVICE = 'cam-obstruct';
let agent: AgentProc | undefined;
let obs: Observer | undefined;

const stage = mqttStage('mqtt-obstruct-');

type Rec = Record<string, unknown>;
const ms = (v: unknown): number => Date.parse(String(v));

void test('covered 20 s, then frozen + silent: one interval each within the debounce, events at the broker, nag, fault, no restart, no gap, verify lists them', { timeout: 150_000 }, async () => {
  obs = await stage.observe(DEVICE);
  const dataDir = tempDataDir('bodycam-obstruct-');
  const prov = bodycam(['provision', '--data-dir', dataDir, '--device-id', DEVICE]);
  assert.equal(prov.code, 0, prov.stderr);
  const pubkey = prov.stdout.trim();
  const policy = { obstructionOnsetS: DEBOUNCE_S, obstructionClearS: DEBOUNCE_S, obstructionNagS: 5, heartbeatOnDutyS: 2 };
  agent = await stage.startAgent({ dataDir, config: agentConfig(stage.broker, DEVICE, { policy }) });
  const a = agent;
  await a.press('shift', { holdS: 2.1 });
  const rec = await a.waitFor((s) => s.encoderRunning && s.segments >= 1, 30_000, 'recording');
  const run = rec.ext.encoder?.run;

  // Haptic sampled every 100 ms: a nag is 1.3 s of pulses, so each one is seen.
  let hapticOnSamples = 0;
  let stopSampling = false;
  const sampler = (async () => {
    while (!stopSampling) {
      try {
        if ((await a.status()).outputs.haptic) hapticOnSamples++;
      } catch {
        /* agent busy */
      }
      await sleep(100);
    }
  })();

  const coverAt = Date.now();
  await a.sim({ picture: 'black' });
  const covered = await a.waitFor((s) => 'obstruction_covered' in s.faults, 20_000, 'covered fault');
  assert.equal((covered.ext.obstruction?.active as Rec[] | undefined)?.[0]?.kind, 'covered');
  const coveredHb = await obs.waitFor(() => obs!.heartbeats().find((h) => h.obstructions.some((o) => o.kind === pb.ObstructionKind.OBSTRUCTION_KIND_COVERED)), 10_000, 'heartbeat with the covered obstruction');
  const hbMeasure = Number(coveredHb.obstructions[0]!.measure);
  assert.ok(hbMeasure < 24, `luma mean ${hbMeasure}`);
  await sleep(Math.max(0, coverAt + 20_000 - Date.now()));
  const uncoverAt = Date.now();
  await a.sim({ picture: 'live' });
  await a.waitFor((s) => !('obstruction_covered' in s.faults), 20_000, 'covered fault cleared');

  const freezeAt = Date.now();
  await a.sim({ picture: 'frozen', mic: 'silent' });
  await a.waitFor((s) => 'obstruction_frozen' in s.faults && 'obstruction_silent' in s.faults, 20_000, 'frozen and silent faults');
  await sleep(Math.max(0, freezeAt + 10_000 - Date.now()));
  const thawAt = Date.now();
  await a.sim({ picture: 'live', mic: 'live' });
  const done = await a.waitFor((s) => !Object.keys(s.faults).some((f) => f.startsWith('obstruction_')), 20_000, 'all obstruction faults cleared');
  stopSampling = true;
  await sampler;

  assert.equal(done.encoderRestarts, 0, 'no encoder restart');
  assert.equal(done.ext.encoder?.run, run, 'the same encoder run throughout');
  assert.ok(Number(done.ext.obstruction?.nags) >= 4, `nags: ${JSON.stringify(done.ext.obstruction)}`);
  assert.ok(hapticOnSamples >= 10, `haptic on in ${hapticOnSamples} status samples`);

  // Events: one start and one end per kind, each start at the broker within 10 s of its onset.
  const events = await obs.waitFor(() => {
    const e = obs!.events().filter((x) => x.kind === pb.EventKind.EVENT_KIND_OBSTRUCTION);
    return e.length >= 6 && e;
  }, 15_000, '6 obstruction events');
  const shiftId = done.shiftId!;
  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'shift closed');
  assert.equal(await a.stop(), 0);

  const journal = shiftJournal(a.dataDir, shiftId) as Rec[];
  const obsRecs = journal.filter((r) => r.type === 'obstruction');
  const starts = obsRecs.filter((r) => r.phase === 'start');
  const ends = obsRecs.filter((r) => r.phase === 'end');
  assert.deepEqual(starts.map((r) => r.kind).sort(), ['covered', 'frozen', 'silent'], JSON.stringify(obsRecs));
  assert.deepEqual(ends.map((r) => r.kind).sort(), ['covered', 'frozen', 'silent']);
  const interval = (kind: string): Rec => ends.find((r) => r.kind === kind)!;
  const within = (kind: string, startAt: number, endAt: number): void => {
    const r = interval(kind);
    const s = ms(r.start) - startAt;
    const e = ms(r.end) - endAt;
    assert.ok(s >= 0 && s <= DEBOUNCE_S * 1000, `${kind} starts ${s} ms after the change (debounce ${DEBOUNCE_S} s)`);
    assert.ok(e >= 0 && e <= DEBOUNCE_S * 1000, `${kind} ends ${e} ms after the change`);
    assert.equal(r.reason, 'cleared');
  };
  within('covered', coverAt, uncoverAt);
  within('frozen', freezeAt, thawAt);
  within('silent', freezeAt, thawAt);
  assert.ok(Number(interval('covered').duration_s) >= 17 && Number(interval('covered').duration_s) <= 23);
  assert.ok(Number((interval('covered').measures as Rec).luma_mean) < 24);
  assert.equal((interval('silent').measures as Rec).level_dbfs, -120);

  for (const s of starts) {
    const ev = events.find((e) => e.journalLine.includes('"phase":"start"') && e.journalLine.includes(`"kind":"${String(s.kind)}"`));
    assert.ok(ev, `event for the ${String(s.kind)} onset`);
    const msg = obs.of('event').find((m) => pb.Event.decode(m.payload).seq === ev.seq)!;
    const lag = msg.at - ms(s.start);
    assert.ok(lag <= 10_000, `${String(s.kind)} event reached central ${lag} ms after the onset`);
    assert.equal(JSON.parse(ev.journalLine).start, s.start);
  }
  const faults = journal.filter((r) => r.type === 'fault' && String(r.fault).startsWith('obstruction_')).map((r) => r.fault);
  assert.deepEqual(faults.sort(), ['obstruction_covered', 'obstruction_frozen', 'obstruction_silent']);

  // No gap beyond the shift's first encoder start; segments follow each other in one run.
  const gaps = journal.filter((r) => r.type === 'gap');
  assert.deepEqual(gaps.map((g) => g.cause), ['encoder_start'], JSON.stringify(gaps));
  const segs = journal.filter((r) => r.type === 'segment');
  for (let i = 1; i < segs.length; i++) {
    assert.equal(segs[i]!.run, segs[0]!.run);
    assert.ok(Math.abs(Number(segs[i]!.media_start) - Number(segs[i - 1]!.media_end)) < 0.05, `media continues at ${String(segs[i]!.file)}`);
  }
  // The recorded stream is what it is without analysis: one H.264 video at the board's size, one AAC audio.
  const shiftDir = join(a.dataDir, 'shifts', shiftId);
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', join(shiftDir, String(segs[5]!.file))], { encoding: 'utf8' })) as { streams: Rec[] };
  assert.deepEqual(probe.streams.map((x) => [x.codec_type, x.codec_name, x.width ?? null, x.height ?? null].join(',')), ['video,h264,320,180', 'audio,aac,,']);

  const v = bodycam(['verify', shiftDir, '--pubkey', pubkey, '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = v.json as unknown as VerifyReport;
  assert.deepEqual(report.obstructions.intervals.map((i) => i.kind).sort(), ['covered', 'frozen', 'silent']);
  assert.equal(report.obstructions.totals.covered?.count, 1);
  assert.ok(Math.abs(report.obstructions.totals.covered!.seconds - Number(interval('covered').duration_s)) < 0.2);
  const text = bodycam(['verify', shiftDir, '--pubkey', pubkey]);
  assert.match(text.stdout, /obstructed covered: 1 interval\(s\), \d+\.\d s/);
  assert.match(text.stdout, /obstructed silent: 1 interval\(s\)/);
});
