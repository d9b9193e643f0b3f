/**
 * The IP-camera backend's edges, without a camera: bad stream URLs and credentials files are clear
 * errors (all listed), the credentials never survive redaction, ffmpeg reads RTSP over TCP with a
 * timeout, and the reachability check tells a refused or non-RTSP port from a live server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BOARD_DIR, validateBoard } from '../../agent/config/board.js';
import { ConfigError, DeviceError } from '../../agent/lib/errors.js';
import { credentialsProblems, redactor, rtspUrlProblems, urlWithCredentials } from '../../hal/camera/rtsp-url.js';
import { RtspCamera } from '../../hal/camera/rtsp.js';
import { buildRecordingArgs } from '../../hal/encoder/args.js';
import { freePort } from '../helpers/net.js';

const CLI = resolve(new URL('../../agent/cli/main.js', import.meta.url).pathname);
const ipcam = (): Record<string, Record<string, unknown>> => JSON.parse(readFileSync(join(BOARD_DIR, 'ipcam-generic.json'), 'utf8')) as Record<string, Record<string, unknown>>;

const issuesOf = (value: unknown): { where: string; message: string }[] => {
  try {
    validateBoard(value, 'test');
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return [...e.issues];
  }
};

test('rtsp URLs: a usable URL passes; each bad one is named with what is wrong', () => {
  assert.deepEqual(rtspUrlProblems('rtsp://192.0.2.10:554/stream1'), []);
  assert.deepEqual(rtspUrlProblems('rtsps://cam-3.suite.local/h264?channel=1'), []);
  assert.match(rtspUrlProblems('192.0.2.10/stream1').join(), /not a URL/);
  assert.match(rtspUrlProblems('http://192.0.2.10/stream1').join(), /scheme 'http' is not rtsp or rtsps/);
  assert.match(rtspUrlProblems('rtsp://admin:hunter2@192.0.2.10/s').join(), /credentialsFile/);
  assert.ok(!rtspUrlProblems('rtsp://admin:hunter2@192.0.2.10/s').join().includes('hunter2'), 'the password is not echoed back');
  assert.match(rtspUrlProblems('rtsp://192.0.2.10:99999/s').join(), /not a URL/);
  assert.match(rtspUrlProblems('rtsp://192.0.2.10/s#x').join(), /fragment/);
});

test('board check: an rtsp camera needs a usable url and an absolute credentials path; rtsp keys on another source are refused; every problem is listed', () => {
  assert.deepEqual(issuesOf(ipcam()), []);
  const noUrl = ipcam();
  delete noUrl.camera!.url;
  assert.deepEqual(issuesOf(noUrl).map((i) => i.where), ['/camera/url']);
  const bad = ipcam();
  bad.camera = { ...bad.camera, url: 'rtsp://u:p@cam/x', credentialsFile: 'creds.json', device: '/dev/video0' };
  const issues = issuesOf(bad);
  assert.deepEqual(issues.map((i) => i.where).sort(), ['/camera', '/camera/credentialsFile', '/camera/url']);
  const v4l2 = ipcam();
  v4l2.camera = { source: 'v4l2', device: 'auto', width: 640, height: 360, fps: 30, url: 'rtsp://cam/x' };
  assert.deepEqual(issuesOf(v4l2).map((i) => `${i.where}: ${i.message}`), ["/camera/url: only for source 'rtsp' (this camera is 'v4l2')"]);
  // The CLI says it too, and exits 2.
  const dir = mkdtempSync(join(tmpdir(), 'rtsp-board-'));
  const f = join(dir, 'bad.json');
  writeFileSync(f, JSON.stringify(bad));
  const r = spawnSync(process.execPath, [CLI, 'board', 'check', f], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /credentialsFile/);
});

test('credentials: the URL ffmpeg opens carries them percent-encoded; redaction removes every form of them', () => {
  const c = { username: 'op', password: 'p@ss:w/rd?#%' };
  const u = urlWithCredentials('rtsp://127.0.0.1:8554/cam', c);
  assert.equal(u, `rtsp://op:${encodeURIComponent(c.password)}@127.0.0.1:8554/cam`);
  const scrub = redactor(c);
  const line = `${u}: Connection refused; raw ${c.password}; encoded ${encodeURIComponent(c.password)}`;
  const clean = scrub(line);
  assert.ok(!clean.includes(c.password) && !clean.includes(encodeURIComponent(c.password)), clean);
  assert.match(clean, /rtsp:\/\/\*\*\*@127\.0\.0\.1:8554\/cam: Connection refused/);
  assert.deepEqual(credentialsProblems({ username: 'a', password: 'b' }), []);
  assert.deepEqual(credentialsProblems({ username: '', pass: 'b' }), ["'username' must be a non-empty string", "'password' must be a non-empty string", "unknown key 'pass'"]);
  assert.deepEqual(credentialsProblems(['a']), ['expected a JSON object {"username": "...", "password": "..."}']);
});

test('ffmpeg reads the IP camera over TCP with a socket timeout, scaled to the board size', () => {
  const argv = buildRecordingArgs({
    video: { kind: 'rtsp', url: 'rtsp://op:pw@127.0.0.1:8554/cam', timeoutS: 2, width: 320, height: 180, fps: 15 },
    audio: { kind: 'none', sampleRate: 48000, channels: 1 },
    encoder: { video: 'libx264', preset: 'veryfast', videoKbps: 800, audioKbps: 64, fps: 15 },
    burnIn: undefined,
    segmentS: 2,
    startNumber: 1,
    outDir: '/tmp/x',
  });
  const i = argv.indexOf('-i');
  assert.deepEqual(argv.slice(argv.indexOf('-rtsp_transport'), i + 2), ['-rtsp_transport', 'tcp', '-timeout', '2000000', '-thread_queue_size', '512', '-i', 'rtsp://op:pw@127.0.0.1:8554/cam']);
  assert.ok(!argv.includes('-re'), 'a live camera paces itself');
  assert.equal(argv[argv.indexOf('-vf') + 1], 'scale=320:180');
});

/** A plain TCP server on loopback; `close()` ends its connections too (a test must not hang on them). */
const listen = (port: number, onConn: (s: Socket) => void): Promise<{ close(): Promise<void> }> =>
  new Promise((r) => {
    const socks = new Set<Socket>();
    const srv: Server = createServer((s) => {
      socks.add(s);
      s.on('error', () => undefined);
      s.on('close', () => socks.delete(s));
      onConn(s);
    });
    srv.listen(port, '127.0.0.1', () =>
      r({
        close: () =>
          new Promise<void>((done) => {
            for (const s of socks) s.destroy();
            srv.close(() => done());
          }),
      }),
    );
  });

test('reachability: a refused port and a port that is not RTSP are lost; an RTSP answer is presence; a credentials file others can read is refused', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rtsp-cam-'));
  const creds = join(dir, 'c.json');
  writeFileSync(creds, JSON.stringify({ username: 'a', password: 'b' }));
  chmodSync(creds, 0o600);
  const cam = new RtspCamera({ url: `rtsp://127.0.0.1:${port}/cam`, credentialsFile: creds, timeoutS: 1 });
  assert.equal(await cam.reachable(), false);
  await assert.rejects(cam.probe(), (e: unknown) => e instanceof DeviceError);
  assert.equal(cam.present(), false);

  let srv = await listen(port, (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await assert.rejects(cam.probe(), /not RTSP/);
  await srv.close();

  srv = await listen(port, (s) => s.once('data', () => s.write('RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nServer: test-cam/1.0\r\n\r\n')));
  const info = await cam.probe();
  assert.equal(info.card, 'test-cam/1.0');
  assert.equal(cam.present(), true);
  assert.equal(cam.streamUrl(), `rtsp://a:b@127.0.0.1:${port}/cam`);
  chmodSync(creds, 0o644);
  await assert.rejects(cam.probe(), (e: unknown) => e instanceof ConfigError && /readable by others/.test(e.message + JSON.stringify(e.issues)));
  await srv.close();
});
