/**
 * The IP-camera backend (`camera.source: rtsp`) against a real RTSP server on loopback (GStreamer's
 * gst-rtsp-server, behind Basic authentication): the agent logs in with the credentials file and
 * records; the server is stopped for real for 10 s → one `camera_lost` gap of about that length,
 * recording resumes by itself when the camera is back, `bodycam verify` passes, and the password
 * appears in no log line and no journal record.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, shiftJournal, cleanup, tempDataDir, runCli, REPO, type AgentProc } from '../helpers/agent.js';
import { chainProblem } from '../helpers/media.js';
import { freePort } from '../helpers/net.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp.js';

const agents: AgentProc[] = [];
const servers: RtspServer[] = [];
const dirs: string[] = [];
after(async () => {
  for (const a of agents) await a.stop();
  for (const s of servers) await s.stop();
  for (const d of dirs) cleanup(d);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
// Characters that must be percent-encoded in a URL's user-info: the login proves they are.
const USER = 'cam-op';
const PASSWORD = 'S3cr@t:/pw?#%x';
const OUTAGE_MS = 10_000;

test('rtsp camera: records over TCP; the server stopped for 10 s is one camera_lost gap of about that length; recording resumes by itself; verify passes; the password is never logged', { timeout: 240_000 }, async () => {
  const port = await freePort();
  const start = (): Promise<RtspServer> => startRtspServer({ port, path: 'cam', username: USER, password: PASSWORD }).then((s) => (servers.push(s), s));
  let server = await start();

  const dataDir = tempDataDir();
  dirs.push(dataDir);
  const credentials = join(dataDir, '..', `${dataDir.split('/').pop()}-cam.json`);
  writeFileSync(credentials, JSON.stringify({ username: USER, password: PASSWORD }));
  chmodSync(credentials, 0o600);
  const board = JSON.parse(readFileSync(join(REPO, 'board-configs/ipcam-generic.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  board.camera = { ...board.camera, url: server.url, credentialsFile: credentials, width: 320, height: 180, fps: 15 };
  board.storage = { minFreeMb: 64 };
  delete board.$schema;
  const boardFile = join(dataDir, '..', `${dataDir.split('/').pop()}-board.json`);
  writeFileSync(boardFile, JSON.stringify(board));

  const p = await runCli(['provision', '--data-dir', dataDir]);
  assert.equal(p.code, 0, p.stderr);
  const a = await startAgent({ dataDir, board: boardFile, env: { BODYCAM_LOG: 'debug' } });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  const before = await a.waitFor((s) => s.segments >= 3, 60_000, '3 segments from the IP camera');

  await server.stop();
  const stoppedAt = Date.now();
  // While the camera is gone: the fault is raised, the agent stays on duty.
  const during = await a.waitFor((s) => 'camera_lost' in s.faults, 15_000, 'camera_lost fault');
  assert.equal(during.state, 'FAULT', 'on duty, recording wanted, no encoder: a lost camera never ends the shift');
  assert.equal(during.shiftId, before.shiftId);
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
  server = await start();
  const backAt = Date.now();
  const resumed = await a.waitFor((s) => s.segments >= before.segments + 3 && !('camera_lost' in s.faults), 60_000, 'recording after the camera is back');
  console.log(`# outage ${backAt - stoppedAt} ms; segments before ${before.segments}, after ${resumed.segments}`);

  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'shift end');
  const code = await a.stop();
  assert.equal(code, 0);

  const shiftId = before.shiftId!;
  const dir = join(dataDir, 'shifts', shiftId);
  assert.equal(chainProblem(join(dir, 'journal.jsonl')), undefined);
  const j = shiftJournal(dataDir, shiftId);
  const lost = j.filter((r) => r.type === 'gap' && r.cause === 'camera_lost');
  assert.equal(lost.length, 1, `exactly one camera_lost gap: ${JSON.stringify(j.filter((r) => r.type === 'gap'))}`);
  const gapMs = Date.parse(String(lost[0]!.end)) - Date.parse(String(lost[0]!.start));
  const outage = backAt - stoppedAt;
  console.log(`# camera_lost gap ${gapMs} ms for an outage of ${outage} ms`);
  // About the real length: it cannot be much shorter than the time the camera was gone, and it
  // outlasts it by at most a reconnect wait (reconnectMaxS 2 s), the connect and the first keyframe.
  assert.ok(gapMs >= outage - 1500, `gap ${gapMs} ms shorter than the outage ${outage} ms`);
  assert.ok(gapMs <= outage + 8000, `gap ${gapMs} ms much longer than the outage ${outage} ms`);
  const others = j.filter((r) => r.type === 'gap' && r.cause !== 'camera_lost' && r.cause !== 'encoder_start' && r.cause !== 'encoder_stop');
  assert.deepEqual(others, [], 'no other interruption');
  assert.ok(j.some((r) => r.type === 'fault' && r.fault === 'camera_lost'), 'camera_lost fault journaled');
  assert.ok(j.some((r) => r.type === 'recovery' && r.fault === 'camera_lost'), 'the fault is cleared by fresh media');
  const segs = j.filter((r) => r.type === 'segment');
  const i = segs.findIndex((r) => r.start === lost[0]!.end);
  assert.ok(i > 0, 'the gap ends where the first segment after the outage starts');
  assert.equal(segs[i - 1]!.end, lost[0]!.start, 'the gap starts where the last segment before the outage ends');
  const onDisk = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
  assert.deepEqual(onDisk, segs.map((r) => String(r.file)).sort(), 'files on disk = journaled files');

  const v = await runCli(['verify', dir, '--pubkey', join(dataDir, 'identity', 'device.pub.pem'), '--probe']);
  assert.equal(v.code, 0, `verify: ${v.stdout}${v.stderr}`);

  // The secret is nowhere: not in the agent's log (debug level, ffmpeg stderr tails included), not in the journal.
  const encoded = encodeURIComponent(PASSWORD);
  for (const [what, text] of [['agent log', a.logs()], ['journal', readFileSync(join(dir, 'journal.jsonl'), 'utf8')]] as const) {
    assert.ok(!text.includes(PASSWORD) && !text.includes(encoded), `the password appears in the ${what}`);
  }
  assert.match(a.logs(), /rtsp:\/\/127\.0\.0\.1/, 'the URL itself (without credentials) is logged');
});
