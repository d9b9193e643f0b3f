/**
 * Live view, camera side, end to end on the sim board: real agent, real ffmpeg, real mosquitto, and
 * a real RTP receiver in place of the gateway (ffmpeg reading an SDP; decoded frames checked).
 *   - signed live_view_start over MQTT → decoded H.264 frames of the sim scene at the "gateway";
 *     the wearer felt it (haptic) and sees it (led_status lit) while it lasts; heartbeats say live;
 *   - the stream comes from the recording ffmpeg: no encoder restart when a session starts or ends,
 *     and the receiver SIGKILLed mid-session changes nothing in the recording (segments contiguous,
 *     `bodycam verify` intact);
 *   - it ends by itself at max_s, on live_view_stop, when a pause begins, when MQTT is down linkLostS and at the
 *     shift end; journal start/end
 *     records with viewer, reason, nonce and cause;
 *   - refused: during a pause, off duty, above the policy's liveViewMaxS, expired, replayed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, shiftJournal, type AgentProc } from '../helpers/agent.js';
import type { JournalRecord } from '../../agent/evidence/journal.js';
import { buildCommand, signCommand, type Action } from '../../agent/commands/commands.js';
import { pb, type CommandResult } from '../../agent/telemetry/proto.js';
import { probeSegment } from '../helpers/media.js';
import { freeUdpPort } from '../helpers/net.js';
import { Observer, mqttStage, agentConfig, sleep } from './fixtures.js';

const DEV = 'cam-lv1';
const W = 320;
const H = 180;
let agent: AgentProc | undefined;
let obs: Observer | undefined;
const stage = mqttStage('mqtt-live-view-');
const dataDir = (): string => join(stage.dir, 'data');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const signed = (action: Action, o: { issuedAtMs?: number; ttlS?: number } = {}): Uint8Array =>
  signCommand(buildCommand({ deviceId: DEV, action, issuedAtMs: o.issuedAtMs ?? Date.now(), ttlS: o.ttlS ?? 120 }), stage.keys.privatePem);

async function send(payload: Uint8Array): Promise<CommandResult> {
  const d = sha(payload);
  const n = obs!.results().length;
  await obs!.publish('cmd', payload);
  return obs!.waitFor(() => obs!.results().slice(n).find((r) => r.payloadSha256 === d), 20_000, `result for ${d.slice(0, 12)}`);
}

/**
 * The gateway stand-in: ffmpeg receives RTP/H.264 on `port` (an SDP as Janus's streaming plugin
 * would be configured) and writes decoded gray frames to stdout. Resolves each decoded frame.
 */
function receiver(port: number): { frames: Buffer[]; firstFrameAt: Promise<number>; kill: () => void; exited: Promise<void> } {
  const sdp = join(stage.dir, `rx-${port}.sdp`);
  writeFileSync(sdp, ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=live', 'c=IN IP4 127.0.0.1', 't=0 0', `m=video ${port} RTP/AVP 96`, 'a=rtpmap:96 H264/90000', 'a=fmtp:96 packetization-mode=1', ''].join('\n'));
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'file,udp,rtp', '-i', sdp, '-an', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const frames: Buffer[] = [];
  let pending = Buffer.alloc(0);
  let first: (t: number) => void = () => undefined;
  const firstFrameAt = new Promise<number>((r) => (first = r));
  child.stdout.on('data', (c: Buffer) => {
    pending = Buffer.concat([pending, c]);
    while (pending.length >= W * H) {
      frames.push(pending.subarray(0, W * H));
      pending = pending.subarray(W * H);
      if (frames.length === 1) first(Date.now());
    }
  });
  child.stderr.resume();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { frames, firstFrameAt, kill: () => void child.kill('SIGKILL'), exited };
}

/** testsrc2 is colourful and moving: a decoded frame of it has many grey levels, a black or broken one few. */
function distinctLevels(f: Buffer): number {
  return new Set(f).size;
}

const liveRecords = (shiftId: string): JournalRecord[] => shiftJournal(dataDir(), shiftId).filter((r) => r.type === 'live_view');

void test('live view: signed start → decoded frames at the gateway from the recording ffmpeg (no restart, receiver killed mid-session changes nothing), wearer told, ends at max_s / stop / pause / link lost / shift end, refusals for pause, policy max, expired, replayed', { timeout: 240_000 }, async () => {
  const prov = await runCli(['provision', '--data-dir', dataDir(), '--device-id', DEV]);
  assert.equal(prov.code, 0, prov.stderr);
  obs = await stage.observe(DEV);
  const tapPort = await freeUdpPort();
  const gwPort = await freeUdpPort();
  const config = { ...agentConfig(stage.broker, DEV, { central: stage.keys, policy: { liveViewMaxS: 10, heartbeatOnDutyS: 1 } }), liveView: { tapPort, linkLostS: 2 } };
  agent = await stage.startAgent({ dataDir: dataDir(), config });
  await agent.waitFor((s) => (s.ext.telemetry as { connected?: boolean } | undefined)?.connected === true, 30_000, 'connected');
  const start = (o: { maxS?: number; session: string; reason?: string }): Action => ({
    type: 'live_view_start', viewerId: 'sup-1', reason: o.reason ?? 'complaint 2026-117', maxS: o.maxS ?? 10, gatewayHost: '127.0.0.1', gatewayPort: gwPort, sessionId: o.session,
  });

  // Off duty: nothing is recorded, nothing to show.
  const off = await send(signed(start({ session: 'lv-off' })));
  assert.equal(off.accepted, false);
  assert.match(off.reason, /not recording \(OFF_DUTY\)/);

  assert.equal((await send(signed({ type: 'start_duty' }))).accepted, true);
  const rec = await agent.waitFor((s) => s.state === 'RECORDING' && s.segments >= 2, 30_000, 'recording');
  const shiftId = rec.shiftId!;
  const restartsBefore = rec.encoderRestarts;

  // Above the camera's policy maximum: refused, nothing opened.
  const tooLong = await send(signed(start({ session: 'lv-long', maxS: 20 })));
  assert.equal(tooLong.refusal, pb.Refusal.REFUSAL_INVALID_ARGUMENT, tooLong.reason);
  assert.match(tooLong.reason, /liveViewMaxS 10/);

  // 1. A session: frames decoded at the gateway, the wearer told, heartbeats say live.
  const rx1 = receiver(gwPort);
  await sleep(300); // the receiver's socket is bound before the camera sends
  const cmd1 = signed(start({ session: 'lv-1' }));
  const requested = Date.now();
  const r1 = await send(cmd1);
  assert.equal(r1.accepted, true, r1.reason);
  let hapticOn = 0;
  let ledOn = 0;
  for (let i = 0; i < 25; i++) {
    const s = await agent.status();
    if (s.outputs.haptic) hapticOn++;
    if (s.outputs.led_status) ledOn++;
    await sleep(20);
  }
  assert.ok(hapticOn >= 1, `haptic felt at start (${hapticOn} of 25 samples)`);
  assert.ok(ledOn >= 20, `led_status lit while live (${ledOn} of 25 samples)`);
  const first = await Promise.race([rx1.firstFrameAt, sleep(8000).then(() => 0)]);
  assert.ok(first > 0, 'the gateway decoded a frame');
  console.log(`# request → first frame decoded by ffmpeg at the gateway: ${first - requested} ms (includes ffmpeg's stream probing; keyframes every segment)`);
  await obs.waitFor(() => obs!.heartbeats().find((h) => h.liveView?.sessionId === 'lv-1' && h.liveView.viewerId === 'sup-1'), 10_000, 'heartbeat with live_view');
  // Replayed: the same signed bytes again.
  const replay = await send(cmd1);
  assert.equal(replay.refusal, pb.Refusal.REFUSAL_REPLAYED, replay.reason);
  // Expired.
  const expired = await send(signed(start({ session: 'lv-exp' }), { issuedAtMs: Date.now() - 600_000, ttlS: 60 }));
  assert.equal(expired.refusal, pb.Refusal.REFUSAL_EXPIRED, expired.reason);
  await sleep(1500);
  const decoded = rx1.frames.length;
  assert.ok(decoded >= 10, `${decoded} frames decoded`);
  assert.ok(distinctLevels(rx1.frames.at(-1)!) > 40, `the sim scene, not a blank picture (${distinctLevels(rx1.frames.at(-1)!)} grey levels)`);

  // The gateway dies mid-session: the recording does not notice.
  const segsAtKill = (await agent.status()).segments;
  rx1.kill();
  await rx1.exited;
  await agent.waitFor((s) => s.segments >= segsAtKill + 2, 20_000, 'two more segments after the gateway died');
  const mid = await agent.status();
  assert.equal(mid.encoderRestarts, restartsBefore, 'no encoder restart');
  assert.equal((mid.ext.liveView as { active?: boolean }).active, true, 'the session goes on (UDP: the camera cannot tell yet)');

  // 2. It ends by itself at max_s (10 s).
  const ended1 = await agent.waitFor((s) => (s.ext.liveView as { active?: boolean }).active === false, 15_000, 'session ended at max_s');
  // Back to the recording pattern: led_status off, or the fault double-blink (start_duty leaves the camera unassigned).
  let ledAfter = ended1.outputs.led_status ? 1 : 0;
  for (let i = 0; i < 9; i++) {
    await sleep(100);
    if ((await agent.status()).outputs.led_status) ledAfter++;
  }
  assert.ok(ledAfter <= 4, `led_status no longer lit steadily (${ledAfter} of 10 samples on)`);
  let lv = liveRecords(shiftId);
  assert.deepEqual(lv.map((r) => [r.event, r.cause ?? null]), [['start', null], ['end', 'max_duration']]);
  assert.equal(lv[0]!.viewer, 'sup-1');
  assert.equal(lv[0]!.reason, 'complaint 2026-117');
  assert.equal(lv[0]!.command_id, r1.commandId);
  assert.ok(Number(lv[1]!.duration_s) >= 9.5 && Number(lv[1]!.duration_s) < 12, `lasted ${String(lv[1]!.duration_s)} s`);

  // 3. live_view_stop ends it.
  const rx2 = receiver(gwPort);
  await sleep(300);
  assert.equal((await send(signed(start({ session: 'lv-2', reason: 'welfare check' })))).accepted, true);
  await rx2.firstFrameAt;
  const stop = await send(signed({ type: 'live_view_stop', sessionId: 'lv-2' }));
  assert.equal(stop.accepted, true, stop.reason);
  rx2.kill();

  // 4. A pause that begins ends it; a start during the pause is refused.
  assert.equal((await send(signed(start({ session: 'lv-3' })))).accepted, true);
  await agent.press('privacy');
  await agent.waitFor((s) => s.state === 'PAUSED', 10_000, 'paused');
  await agent.waitFor((s) => (s.ext.liveView as { active?: boolean }).active === false, 5_000, 'session ended by the pause');
  const paused = await send(signed(start({ session: 'lv-4' })));
  assert.equal(paused.accepted, false);
  assert.match(paused.reason, /paused \(PERSONAL_NEEDS\)/);
  await agent.press('privacy');
  const resumed = await agent.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning, 10_000, 'recording again');
  await agent.waitFor((s) => s.segments >= resumed.segments + 1, 20_000, 'a segment after the resume');

  lv = liveRecords(shiftId);
  assert.deepEqual(lv.map((r) => [r.session_id, r.event, r.cause ?? null]), [
    ['lv-1', 'start', null], ['lv-1', 'end', 'max_duration'],
    ['lv-2', 'start', null], ['lv-2', 'end', 'stop'],
    ['lv-3', 'start', null], ['lv-3', 'end', 'pause'],
  ]);
  const journal = shiftJournal(dataDir(), shiftId);
  const pauseSeq = journal.find((r) => r.type === 'pause')!.seq;
  assert.ok(pauseSeq < lv.at(-1)!.seq, 'the pause is journaled, then the session it ended');
  const refusedCmds = journal.filter((r) => r.type === 'command' && r.command === 'live_view_start' && r.accepted === false).map((r) => r.refusal);
  assert.deepEqual(refusedCmds, ['invalid_argument', 'replayed', 'expired', 'rejected'], 'refusals on duty journaled in the shift');

  // 5. The link to central lost (the broker stopped) for linkLostS: nobody can see or stop the session, it ends.
  assert.equal((await send(signed(start({ session: 'lv-ll' })))).accepted, true);
  await stage.broker.stop();
  await agent.waitFor((s) => (s.ext.liveView as { active?: boolean }).active === false, 15_000, 'session ended, link lost');
  await stage.broker.start();
  await agent.waitFor((s) => (s.ext.telemetry as { connected?: boolean } | undefined)?.connected === true, 30_000, 'reconnected');
  assert.deepEqual(liveRecords(shiftId).slice(6).map((r) => [r.session_id, r.event, r.cause ?? null]), [['lv-ll', 'start', null], ['lv-ll', 'end', 'link_lost']]);

  // 6. The shift's end ends an open session (and the recording: segments contiguous throughout, the shift verifies).
  assert.equal((await send(signed(start({ session: 'lv-5' })))).accepted, true);
  assert.equal((await send(signed({ type: 'end_duty' }))).accepted, true);
  await agent.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'off duty');
  assert.deepEqual(liveRecords(shiftId).slice(8).map((r) => [r.session_id, r.event, r.cause ?? null]), [['lv-5', 'start', null], ['lv-5', 'end', 'shift_end']]);
  const segs = shiftJournal(dataDir(), shiftId).filter((r) => r.type === 'segment');
  // Every boundary is seamless — consecutive PTS (one frame apart), media and wall intervals
  // continued, frames decode — except exactly one: the pause (a new encoder run after resume).
  const fps = 10;
  const breaks: string[] = [];
  let prev: { lastPts: number; end: unknown; mediaEnd: unknown } | undefined;
  for (const r of segs) {
    const p = probeSegment(join(dataDir(), 'shifts', shiftId, String(r.file)));
    assert.equal(p.decodeErrors, '', `${String(r.file)} decodes cleanly`);
    assert.equal(p.frames, r.frames, `${String(r.file)}: journal frames = decoded frames`);
    if (prev) {
      const seamless = Math.abs(p.firstPts - prev.lastPts - 1 / fps) < 0.5 / fps && r.start === prev.end && r.media_start === prev.mediaEnd;
      if (!seamless) breaks.push(String(r.file));
    }
    prev = { lastPts: p.lastPts, end: r.end, mediaEnd: r.media_end };
  }
  assert.equal(breaks.length, 1, `one break, the pause: ${breaks.join(', ')}\n${shiftJournal(dataDir(), shiftId).filter((r) => ['segment', 'pause', 'resume', 'gap'].includes(r.type)).map((r) => `${r.type} ${String(r.file ?? '')} ${String(r.start)} ${String(r.end)} ${String(r.media_start)} ${String(r.media_end)} ${String(r.run ?? '')}`).join('\n')}`);
  const all = shiftJournal(dataDir(), shiftId);
  const gapsBeforePause = all.filter((r) => r.type === 'gap' && r.seq < pauseSeq).map((g) => g.cause);
  assert.ok(gapsBeforePause.length <= 1 && gapsBeforePause.every((c) => c === 'encoder_start'), `through three sessions and a dead gateway, no gap but the shift start: ${gapsBeforePause.join(', ')}`);
  const v = await runCli(['verify', join(dataDir(), 'shifts', shiftId), '--pubkey', join(dataDir(), 'identity', 'device.pub.pem'), '--json']);
  assert.equal(v.code, 0, v.stdout.slice(0, 2000));
});
