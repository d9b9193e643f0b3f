/**
 * The gpsd backend: a client of gpsd's JSON protocol on TCP (default 127.0.0.1:2947). It sends
 * `?WATCH={"enable":true,"json":true}` and reads TPV/SKY reports. When gpsd goes away (stopped,
 * restarted, crashed) the link is reported down, the fix becomes 'none' at once (a stale position
 * must not be reported as current) and the client reconnects, paced by the shared backoff.
 *
 * gpsd staying up says nothing about the receiver: one that stops reporting (a loose antenna
 * cable, a hung chip) leaves the last TPV standing. So a fix older than `maxFixAgeMs` becomes
 * 'none' (`receiver: 'silent'`), and a DEVICE report without `activated` (gpsd closed the device)
 * or a DEVICES list without any makes it 'none' at once (`receiver: 'gone'`).
 */
import { connect, type Socket } from 'node:net';
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import { Backoff } from '../../agent/lib/backoff.js';
import { createLogger } from '../../agent/lib/log.js';
import { LineSplitter, parseGpsdLine } from './gpsd-parse.js';
import type { Gnss, GnssEvents, GnssFix, GnssSatellites, GnssState } from './types.js';

export interface GpsdOptions {
  readonly host?: string;
  readonly port?: number;
  /** Reconnect pacing; tests shorten it. */
  readonly backoff?: { initialMs: number; maxMs: number };
  /**
   * A fix older than this is no fix (ms; default 3000): receivers report at 1 Hz or faster, and
   * gpsd forwards each report, so three missed reports mean the receiver has gone quiet.
   */
  readonly maxFixAgeMs?: number;
}

const NO_FIX = (): GnssFix => ({ mode: 'none', lat: null, lon: null, altM: null, accuracyM: null, speedMps: null, fixTime: null, receivedAt: Date.now(), receivedMono: performance.now() });

const WATCH = '?WATCH={"enable":true,"json":true};\n';

export class GpsdGnss extends TypedEmitter<GnssEvents> implements Gnss {
  readonly kind = 'gpsd';
  private readonly log = createLogger('gnss');
  private readonly host: string;
  private readonly port: number;
  private readonly backoff: Backoff;
  private socket: Socket | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = true;
  private connected = false;
  private fix: GnssFix | undefined;
  private lastPosition: GnssFix | undefined;
  private satellites: GnssSatellites | undefined;
  private receiver: GnssState['receiver'];
  private stale: NodeJS.Timeout | undefined;
  private readonly maxFixAgeMs: number;

  constructor(o: GpsdOptions = {}) {
    super();
    this.maxFixAgeMs = o.maxFixAgeMs ?? 3000;
    this.host = o.host ?? '127.0.0.1';
    this.port = o.port ?? 2947;
    this.backoff = new Backoff({ initialMs: o.backoff?.initialMs ?? 500, maxMs: o.backoff?.maxMs ?? 10_000, jitter: 0.3 });
  }

  /** Never waits for gpsd: a receiver that is not there yet is reported, not fatal. */
  async start(): Promise<void> {
    this.stopped = false;
    this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    clearTimeout(this.stale);
    this.socket?.destroy();
    this.socket = undefined;
  }

  state(): GnssState {
    return { connected: this.connected, fix: this.fix, lastPosition: this.lastPosition, satellites: this.satellites, ...(this.receiver ? { receiver: this.receiver } : {}) };
  }

  private open(): void {
    const lines = new LineSplitter();
    const s = connect({ host: this.host, port: this.port });
    this.socket = s;
    s.setEncoding('utf8');
    s.on('connect', () => {
      s.write(WATCH);
    });
    s.on('data', (chunk: string) => {
      for (const l of lines.push(chunk)) this.onLine(l);
    });
    s.on('error', () => undefined); // 'close' follows and says it
    s.on('close', () => {
      if (this.socket !== s) return;
      this.socket = undefined;
      this.lost(this.connected ? 'gpsd connection closed' : `gpsd not reachable at ${this.host}:${this.port}`);
      if (this.stopped) return;
      const delay = this.backoff.next();
      this.retry = setTimeout(() => {
        this.retry = undefined;
        if (!this.stopped) this.open();
      }, delay);
    });
  }

  private onLine(line: string): void {
    const r = parseGpsdLine(line);
    if (!r) return;
    if (!this.connected) {
      // The first report proves gpsd answers: pacing starts over for the next outage.
      this.connected = true;
      this.backoff.reset();
      this.log.info('gpsd connected', { host: this.host, port: this.port });
      this.emit('link', true, 'gpsd connected');
    }
    if (r.class === 'SKY') this.satellites = r.satellites;
    else if (r.class === 'DEVICE') {
      if (!r.active) this.noFix('gone', `gpsd closed ${r.path || 'the receiver'}`);
    } else if (r.class === 'DEVICES') {
      if (r.count === 0) this.noFix('gone', 'gpsd has no receiver');
    } else if (r.class === 'TPV') {
      const fix: GnssFix = {
        mode: r.mode,
        lat: r.lat,
        lon: r.lon,
        altM: r.altM,
        accuracyM: r.accuracyM,
        speedMps: r.speedMps,
        fixTime: r.time,
        receivedAt: Date.now(),
        receivedMono: performance.now(),
      };
      this.fix = fix;
      this.receiver = undefined;
      if (fix.mode !== 'none') this.lastPosition = fix;
      this.emit('fix', fix);
      this.armStale();
    }
  }

  /** Every report re-arms the age limit; when it runs out the fix is no longer current. */
  private armStale(): void {
    clearTimeout(this.stale);
    this.stale = setTimeout(() => this.noFix('silent', `no report from the receiver for ${this.maxFixAgeMs} ms`), this.maxFixAgeMs);
    this.stale.unref();
  }

  /** The receiver (not gpsd) is quiet or gone: the position is no longer known. */
  private noFix(why: 'silent' | 'gone', detail: string): void {
    clearTimeout(this.stale);
    if (this.receiver === why && this.fix?.mode === 'none') return;
    this.receiver = why;
    this.log.warn('gnss receiver lost while gpsd is up', { why, detail });
    if (this.fix && this.fix.mode !== 'none') {
      this.fix = NO_FIX();
      this.emit('fix', this.fix);
    }
  }

  /** The link is gone: the position is no longer known (reported as 'none', never the old one). */
  private lost(detail: string): void {
    const was = this.connected;
    this.connected = false;
    this.satellites = undefined;
    this.receiver = undefined;
    clearTimeout(this.stale);
    if (this.fix && this.fix.mode !== 'none') {
      this.fix = NO_FIX();
      this.emit('fix', this.fix);
    }
    if (was) {
      this.log.warn('gpsd link lost; reconnecting', { detail });
      this.emit('link', false, detail);
    }
  }
}
