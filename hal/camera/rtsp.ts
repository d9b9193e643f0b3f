/**
 * An IP camera on the network, read by ffmpeg over RTSP (RTP interleaved on the RTSP TCP
 * connection: UDP loses packets silently on a busy LAN, and TCP makes a dead camera a socket error
 * or a timeout instead of a picture that merely stops).
 *
 * Whether the camera is there is asked the camera itself: an RTSP OPTIONS request, answered by
 * any live RTSP server before authentication — so a refused connection, a reset or silence past
 * `timeoutS` is loss, and any RTSP status line is presence. `probe()` does that and (re)reads the
 * credentials file at every connect, so a changed password needs no restart. `present()` is the
 * last answer (cheap, for code that cannot wait); `reachable()` asks again.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { statSync } from 'node:fs';
import { URL } from 'node:url';
import { ConfigError, DeviceError } from '../../agent/lib/errors.js';
import { readJsonConfig } from '../../agent/config/json-file.js';
import type { Camera, CameraInfo } from '../types.js';
import { credentialsProblems, redactor, urlWithCredentials, type RtspCredentials } from './rtsp-url.js';

export { RTSP_TIMEOUT_S, RTSP_RECONNECT_MAX_S } from './rtsp-url.js';

export interface RtspCameraConfig {
  /** rtsp://HOST[:PORT]/PATH, without credentials (checked by the board validator). */
  readonly url: string;
  readonly credentialsFile?: string | undefined;
  readonly timeoutS: number;
}

/** A camera that does not answer (refused, reset, silent): loss, not misconfiguration. */
export class CameraUnreachableError extends DeviceError {}

export class RtspCamera implements Camera {
  readonly source = 'rtsp' as const;
  private creds: RtspCredentials | undefined;
  private scrub: (t: string) => string = (t) => t;
  private lastAnswer = false;

  constructor(private readonly cfg: RtspCameraConfig) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Reads the credentials file; every problem is a ConfigError naming the file. */
  private readCredentials(): RtspCredentials | undefined {
    const path = this.cfg.credentialsFile;
    if (!path) return undefined;
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch (e) {
      throw new ConfigError(path, [{ where: path, message: `camera credentials: ${(e as Error).message}` }]);
    }
    // Like ssh with a private key: a password others can read is refused, not used.
    if (mode & 0o007) throw new ConfigError(path, [{ where: path, message: `camera credentials are readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 or 640` }]);
    const v = readJsonConfig(path);
    const problems = credentialsProblems(v);
    if (problems.length) throw new ConfigError(path, problems.map((message) => ({ where: path, message })));
    return v as RtspCredentials;
  }

  async probe(): Promise<CameraInfo> {
    this.creds = this.readCredentials();
    this.scrub = redactor(this.creds);
    const server = await this.options();
    return { device: this.cfg.url, driver: 'rtsp', card: server, formats: [] };
  }

  present(): boolean {
    return this.lastAnswer;
  }

  devicePath(): string | undefined {
    return undefined;
  }

  streamUrl(): string | undefined {
    return urlWithCredentials(this.cfg.url, this.creds);
  }

  async reachable(): Promise<boolean> {
    try {
      await this.options();
      return true;
    } catch {
      return false;
    }
  }

  redact(text: string): string {
    return this.scrub(text);
  }

  /**
   * One RTSP OPTIONS round trip; resolves with the server's name (or 'RTSP server'), rejects with
   * a CameraUnreachableError. Only the status line is read: presence is all it decides.
   */
  private options(): Promise<string> {
    const u = new URL(this.cfg.url);
    const secure = u.protocol === 'rtsps:';
    const port = Number(u.port || (secure ? 322 : 554));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const where = `${u.protocol}//${u.host}`;
    const ms = this.cfg.timeoutS * 1000;
    return new Promise<string>((resolve, reject) => {
      const request = `OPTIONS ${this.cfg.url} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: bodycam-agent\r\n\r\n`;
      // A camera's certificate is usually self-signed: this round trip only asks "are you there?",
      // ffmpeg's own connection is the one that carries the media.
      const sock: Socket = secure ? tlsConnect({ host, port, rejectUnauthorized: false }, () => sock.write(request)) : tcpConnect({ host, port }, () => sock.write(request));
      let got = '';
      let done = false;
      const finish = (err: Error | undefined, server?: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        this.lastAnswer = err === undefined;
        if (err) reject(err);
        else resolve(server ?? 'RTSP server');
      };
      const timer = setTimeout(() => finish(new CameraUnreachableError(where, `no RTSP answer within ${this.cfg.timeoutS} s`)), ms);
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => {
        got += d;
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) {
          if (got.length > 16384) finish(new CameraUnreachableError(where, 'answer to OPTIONS is not RTSP'));
          return;
        }
        const head = got.slice(0, end).split('\r\n');
        if (!/^RTSP\/\d\.\d \d{3}/.test(head[0] ?? '')) return finish(new CameraUnreachableError(where, `answer to OPTIONS is not RTSP: '${(head[0] ?? '').slice(0, 60)}'`));
        const server = head.find((l) => /^server:/i.test(l))?.replace(/^server:\s*/i, '');
        finish(undefined, server);
      });
      sock.on('error', (e) => finish(new CameraUnreachableError(where, e.message, { cause: e })));
      sock.on('close', () => finish(new CameraUnreachableError(where, 'connection closed before an RTSP answer')));
    });
  }
}
