/**
 * Live view from the console end to end (issue 23): real Janus (Debian's, streaming plugin, RTP in),
 * real Chromium (playwright-core) on `bodycam central console` over HTTPS, real mosquitto with the
 * shipped mTLS config and ACL, a real agent on the sim board.
 *   - a supervisor asks for live view on the camera page: the page's video shows decoded frames of
 *     the sim scene (pixels read back through a canvas); the wearer is told (haptic, led_status lit);
 *     the camera's journal has start and end with the supervisor and the reason;
 *   - a viewer's request is refused by the server (403);
 *   - Janus SIGKILLed mid-session: the recording goes on (no encoder restart, no gap, every segment
 *     boundary seamless); the session still ends by itself at its maximum;
 *   - refused by the camera during a privacy pause (its reason shown on the page), and for the
 *     console's own command replayed or an expired one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { shiftJournal } from '../helpers/agent.js';
import { startJanus } from '../helpers/janus.js';
import { login } from './harness.js';
import { framePixels, live, startLiveViewRig, type LiveViewRig } from './live-view-rig.js';
import { probeSegment } from '../helpers/media.js';
import { sleep } from '../mqtt/fixtures.js';
import { buildCommand, signCommand } from '../../agent/commands/commands.js';
import { pb } from '../../agent/telemetry/proto.js';

const CAM = 'cam-lv';
const MAX_S = 12;
let rig: LiveViewRig;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

before(async () => {
  rig = await startLiveViewRig({ cam: CAM, maxS: MAX_S });
});

after(async () => {
  await rig?.stop();
});

void test('live view: supervisor watches decoded frames within seconds, wearer told, journal start/end with viewer and reason; viewer 403; Janus killed mid-session leaves the recording untouched; ends at max; refused while paused, replayed, expired', { timeout: 180_000 }, async () => {
  const { agent, browser, central, cmds, keys, dir } = rig;
  const consoleProc = rig.console;
  await agent.press('shift', { holdS: 2.1 });
  const rec = await agent.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1 && (s.ext.telemetry as { connected?: boolean } | undefined)?.connected === true, 30_000, 'recording, connected');
  const shiftId = rec.shiftId!;
  const restarts = rec.encoderRestarts;

  // The console knows the camera once it has heard from it.
  const { page } = await login(browser, consoleProc, 'ana');
  await page.goto(`${consoleProc.base}/camera/${CAM}`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.waitForSelector('#live:not([hidden])');
  await page.fill('#live-reason', 'complaint 2026-117');
  const t0 = Date.now();
  await page.click('#live-start');
  // The wearer is told at once: led_status lit steadily, a haptic pulse train.
  let haptic = 0;
  const ledUntil = Date.now() + 3000;
  let sawLive = false;
  while (Date.now() < ledUntil) {
    const s = await agent.status();
    if (live(s)) sawLive = true;
    if (sawLive && s.outputs.haptic) haptic++;
    if (sawLive && haptic > 0) break;
    await sleep(15);
  }
  const px = await framePixels(page, 10_000);
  const firstFrameMs = Date.now() - t0;
  assert.ok(px, 'the video shows decoded frames of the sim scene');
  console.log(`# click → first decoded sim frame in the page: ${firstFrameMs} ms (${px.w}x${px.h}, ${px.colours} colours)`);
  assert.deepEqual([px.w, px.h], [320, 180]);
  assert.ok(haptic > 0, 'haptic felt at the start');
  const during = await agent.status();
  assert.equal(during.outputs.led_status, true, 'led_status lit while watched');
  const start = shiftJournal(agent.dataDir, shiftId).find((r) => r.type === 'live_view' && r.event === 'start');
  assert.ok(start, 'live_view start journaled');
  assert.equal(start.viewer, 'ana');
  assert.equal(start.reason, 'complaint 2026-117');
  assert.match(String(start.command_id), /^[0-9a-f]{32}$/);

  // A viewer may not: the server refuses (403), whatever the page shows.
  const vic = await login(browser, consoleProc, 'vic');
  await vic.page.goto(`${consoleProc.base}/camera/${CAM}`);
  await vic.page.waitForSelector('body[data-ready="1"]');
  assert.equal(await vic.page.locator('#live').isHidden(), true, 'no live view controls for a viewer');
  const forbidden = await vic.page.evaluate(async (cam) => {
    const token = (await (await fetch('/api/csrf')).json() as { token: string }).token;
    const r = await fetch(`/api/camera/${cam}/live`, { method: 'POST', headers: { 'content-type': 'application/json', 'csrf-token': token }, body: JSON.stringify({ reason: 'curious' }) });
    return r.status;
  }, CAM);
  assert.equal(forbidden, 403);

  // The console's start command, replayed by someone who captured it: refused.
  const sent = cmds.find((c) => { const cmd = pb.Command.decode(pb.SignedCommand.decode(c).command); return cmd.action === 'liveViewStart'; })!;
  assert.ok(sent, 'the console published a signed live_view_start');
  await new Promise<void>((r) => central.publish(`bodycam/v1/${CAM}/cmd`, sent, { qos: 1 }, () => r()));
  const replay = await waitResult(sha(sent), 1);
  assert.equal(replay.refusal, pb.Refusal.REFUSAL_REPLAYED, replay.reason);
  // ...and an expired one.
  const old = signCommand(buildCommand({ deviceId: CAM, action: { type: 'live_view_start', viewerId: 'ana', reason: 'x', maxS: 10, gatewayHost: '127.0.0.1', gatewayPort: 9, sessionId: 'lv-old' }, issuedAtMs: Date.now() - 600_000, ttlS: 60 }), keys.privatePem);
  await new Promise<void>((r) => central.publish(`bodycam/v1/${CAM}/cmd`, Buffer.from(old), { qos: 1 }, () => r()));
  assert.equal((await waitResult(sha(old))).refusal, pb.Refusal.REFUSAL_EXPIRED);

  // Janus dies mid-session: nothing changes in the recording.
  const segsAtKill = (await agent.status()).segments;
  await rig.janus.kill();
  await agent.waitFor((s) => s.segments >= segsAtKill + 2, 20_000, 'two more segments after Janus died');
  assert.equal((await agent.status()).encoderRestarts, restarts, 'no encoder restart');
  // The session ends by itself at its maximum.
  await agent.waitFor((s) => !live(s), (MAX_S + 5) * 1000, 'the session ended at its maximum');
  const lv = shiftJournal(agent.dataDir, shiftId).filter((r) => r.type === 'live_view');
  assert.deepEqual(lv.map((r) => [r.event, r.cause ?? null, r.viewer, r.reason]), [['start', null, 'ana', 'complaint 2026-117'], ['end', 'max_duration', 'ana', 'complaint 2026-117']]);

  // During a privacy pause the camera refuses, and the console hears why.
  rig.janus = await startJanus(dir, { apiSecret: rig.janus.apiSecret, adminKey: rig.janus.adminKey, port: Number(new URL(rig.janus.url).port) });
  await agent.press('privacy');
  await agent.waitFor((s) => s.state === 'PAUSED', 10_000, 'paused');
  // From the page, as the supervisor does it: the camera's refusal is shown there.
  await page.reload();
  await page.waitForSelector('#live:not([hidden])');
  await page.fill('#live-reason', 'again');
  await page.click('#live-start');
  await page.waitForSelector('body[data-live-refused]', { timeout: 20_000 });
  assert.match(await page.locator('#live-status').innerText(), /refused by the camera: paused \(PERSONAL_NEEDS\)/);
  const pausedResult = await waitResult(await page.evaluate('document.body.dataset.livePayload') as string);
  assert.equal(pausedResult.accepted, false);
  assert.match(pausedResult.reason, /paused \(PERSONAL_NEEDS\)/);
  await agent.press('privacy');
  const resumed = await agent.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning, 10_000, 'recording again');
  await agent.waitFor((s) => s.segments >= resumed.segments + 1, 20_000, 'a segment after the resume');

  // The recording through all of it: one break only (the pause), every other boundary seamless.
  const journal = shiftJournal(agent.dataDir, shiftId);
  const pauseSeq = journal.find((r) => r.type === 'pause')!.seq;
  const segs = journal.filter((r) => r.type === 'segment' && r.seq < pauseSeq);
  let prev: { lastPts: number; end: unknown; mediaEnd: unknown } | undefined;
  for (const r of segs) {
    const p = probeSegment(join(agent.dataDir, 'shifts', shiftId, String(r.file)));
    assert.equal(p.decodeErrors, '', `${String(r.file)} decodes`);
    if (prev) {
      assert.ok(Math.abs(p.firstPts - prev.lastPts - 0.1) < 0.05, `${String(r.file)}: PTS ${prev.lastPts} → ${p.firstPts}`);
      assert.equal(r.start, prev.end, `${String(r.file)}: wall interval continues`);
      assert.equal(r.media_start, prev.mediaEnd, `${String(r.file)}: media interval continues`);
    }
    prev = { lastPts: p.lastPts, end: r.end, mediaEnd: r.media_end };
  }
  // At most the shift's own start (an encoder_start gap is journaled only when the first frame came measurably late).
  const gaps = journal.filter((r) => r.type === 'gap' && r.seq < pauseSeq).map((g) => g.cause);
  assert.ok(gaps.length <= 1 && gaps.every((c) => c === 'encoder_start'), `no gap but the shift start: ${gaps.join(', ')}`);
});

async function waitResult(payloadSha: string, nth = 0): Promise<{ accepted: boolean; refusal: number; reason: string }> {
  const until = Date.now() + 15_000;
  for (;;) {
    const rs = rig.results.filter((r) => r.payloadSha256 === payloadSha);
    if (rs.length > nth) return rs[nth]!;
    if (Date.now() > until) throw new Error(`no result #${nth} for ${payloadSha.slice(0, 12)} (${rig.results.length} results)`);
    await sleep(50);
  }
}
