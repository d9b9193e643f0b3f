/**
 * The sim camera: ffmpeg's lavfi test source. Always present.
 *
 * Its scene can be obstructed for real while the recording ffmpeg runs: the lavfi graph (built in
 * hal/encoder/args.ts) has a `streamselect` between the moving testsrc2, a black field and still
 * bars, and a `volume` on the tone, each commanded through ffmpeg's `zmq`/`azmq` filter on a unix
 * socket. `sendSceneCommand` speaks just enough ZMTP 3.0 (a REQ socket, NULL mechanism) to send
 * one command — no zeromq addon needed on the device or in CI.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Camera, CameraInfo } from '../types.js';
import { SCENE_AUDIO_FILTER, SCENE_MAP, SCENE_VIDEO_FILTER, sceneEndpointUsable, type ScenePicture } from '../encoder/args.js';

export class LavfiCamera implements Camera {
  readonly source = 'lavfi' as const;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async probe(): Promise<CameraInfo> {
    return { device: 'lavfi:testsrc2', driver: 'lavfi', card: 'ffmpeg test source', formats: ['yuv420p'] };
  }
  present(): boolean {
    return true;
  }
  devicePath(): string | undefined {
    return undefined;
  }
}

/** The sim scene's sockets: under the data dir, so parallel agents never share one. */
export function sceneEndpoints(dataDir: string): { video: string; audio: string } {
  return { video: join(dataDir, 'sim-scene-video.zmq'), audio: join(dataDir, 'sim-scene-audio.zmq') };
}

/**
 * The scene a new lavfi run starts in (the sim world's), with its sockets; undefined — a plain
 * testsrc2, not switchable — when the data dir's path cannot carry a socket into the filtergraph
 * (recording must never fail for the sim's sake).
 */
export function sceneFor(dataDir: string, state: { picture: ScenePicture; mic: 'live' | 'silent' }): { video: { endpoint: string; picture: ScenePicture }; audio: { endpoint: string; silent: boolean } } | undefined {
  const e = sceneEndpoints(dataDir);
  if (!sceneEndpointUsable(e.video) || !sceneEndpointUsable(e.audio)) return undefined;
  return { video: { endpoint: e.video, picture: state.picture }, audio: { endpoint: e.audio, silent: state.mic === 'silent' } };
}

/** The zmq command that puts the lavfi picture into `picture`. */
export const pictureCommand = (picture: ScenePicture): string => `${SCENE_VIDEO_FILTER} map ${SCENE_MAP[picture]}`;
/** The azmq command that mutes or unmutes the tone. */
export const soundCommand = (silent: boolean): string => `${SCENE_AUDIO_FILTER} volume ${silent ? 0 : 1}`;

const GREETING = (() => {
  const g = Buffer.alloc(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3; // ZMTP 3.0
  g[11] = 0;
  g.write('NULL', 12, 'ascii');
  return g;
})();

function frame(body: Buffer, flags: number): Buffer {
  if (body.length > 255) throw new Error('zmq frame too long for a short frame');
  return Buffer.concat([Buffer.from([flags, body.length]), body]);
}

function readyCommand(): Buffer {
  const name = Buffer.from('Socket-Type');
  const value = Buffer.from('REQ');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(value.length);
  return frame(Buffer.concat([Buffer.from([5]), Buffer.from('READY'), Buffer.from([name.length]), name, len, value]), 0x04);
}

/**
 * Sends one command to an ffmpeg `zmq`/`azmq` filter and resolves with its reply ("0 Success").
 * The filter polls once per frame, so the reply comes within a frame interval while ffmpeg runs.
 */
export function sendSceneCommand(endpoint: string, command: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: endpoint });
    let buf = Buffer.alloc(0);
    let greeted = false;
    let sawDelimiter = false;
    const done = (err: Error | undefined, reply?: string): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply ?? '');
    };
    const timer = setTimeout(() => done(new Error(`no reply from ${endpoint} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (e) => done(e));
    sock.on('connect', () => sock.write(GREETING));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!greeted) {
        if (buf.length < 64) return;
        greeted = true;
        buf = buf.subarray(64);
        // REQ: an empty delimiter frame, then the command as the last frame.
        sock.write(Buffer.concat([readyCommand(), frame(Buffer.alloc(0), 0x01), frame(Buffer.from(command), 0x00)]));
      }
      while (buf.length >= 2) {
        const flags = buf[0]!;
        const long = (flags & 0x02) !== 0;
        const head = long ? 9 : 2;
        if (buf.length < head) return;
        const size = long ? Number(buf.readBigUInt64BE(1)) : buf[1]!;
        if (buf.length < head + size) return;
        const body = buf.subarray(head, head + size);
        buf = buf.subarray(head + size);
        if (flags & 0x04) continue; // READY (or another command) from the peer
        if (!sawDelimiter && size === 0) {
          sawDelimiter = true;
          continue;
        }
        if (!(flags & 0x01)) return done(undefined, body.toString('utf8'));
      }
    });
  });
}
