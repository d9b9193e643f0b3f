/**
 * A V4L2 camera: `v4l2-ctl` probes the node (driver, capabilities, formats) and checks the
 * configured format and size before the encoder opens it, so a wrong board config or a swapped
 * sensor fails with a message instead of an ffmpeg stderr tail. `present()` is a stat, cheap
 * enough for the encoder supervisor to call on every failure: a node that vanished (unplugged
 * USB camera, unbound driver) is camera loss, a node that is back is the cue to re-probe.
 */
import { existsSync, readdirSync } from 'node:fs';
import { DeviceError } from '../../agent/lib/errors.js';
import type { Camera, CameraInfo } from '../types.js';
import { runToolOk } from '../util/exec.js';
import { chooseFormat, ffmpegFormat, parseFormats, parseInfo } from './v4l2-parse.js';

export interface V4l2CameraConfig {
  readonly device: string;
  readonly inputFormat?: string | undefined;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

export class V4l2Camera implements Camera {
  readonly source = 'v4l2' as const;
  private node: string | undefined;

  constructor(private readonly cfg: V4l2CameraConfig) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Candidate nodes for 'auto', in numeric order. */
  static listNodes(dir = '/dev'): string[] {
    return readdirSync(dir)
      .filter((n) => /^video\d+$/.test(n))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
      .map((n) => `${dir}/${n}`);
  }

  private async probeNode(dev: string): Promise<CameraInfo> {
    const info = parseInfo(await runToolOk('v4l2-ctl', ['-d', dev, '--info'], { device: dev }));
    if (!info.caps.includes('Video Capture') && !info.caps.includes('Video Capture Multiplanar')) {
      throw new DeviceError(dev, `not a capture device (${info.driver}/${info.card}: ${info.caps.join(', ') || 'no capabilities'})`);
    }
    const formats = parseFormats(await runToolOk('v4l2-ctl', ['-d', dev, '--list-formats-ext'], { device: dev }));
    const choice = chooseFormat(formats, this.cfg);
    if (!choice.ok) throw new DeviceError(dev, `${info.driver}/${info.card}: ${choice.problem ?? 'format not offered'}`);
    return {
      device: dev,
      driver: info.driver,
      card: info.card,
      formats: formats.map((f) => ffmpegFormat(f.fourcc) ?? f.fourcc),
      inputFormat: choice.inputFormat,
    };
  }

  async probe(): Promise<CameraInfo> {
    if (this.cfg.device !== 'auto') {
      if (!existsSync(this.cfg.device)) throw new DeviceError(this.cfg.device, 'camera node does not exist');
      const i = await this.probeNode(this.cfg.device);
      this.node = i.device;
      return i;
    }
    const tried: string[] = [];
    for (const dev of V4l2Camera.listNodes()) {
      try {
        const i = await this.probeNode(dev);
        this.node = i.device;
        return i;
      } catch (e) {
        tried.push((e as Error).message);
      }
    }
    this.node = undefined;
    throw new DeviceError('camera', `no usable capture device for ${this.cfg.width}x${this.cfg.height} (${tried.join('; ') || 'no /dev/video* nodes'})`);
  }

  present(): boolean {
    const n = this.node ?? (this.cfg.device === 'auto' ? undefined : this.cfg.device);
    return n !== undefined && existsSync(n);
  }

  devicePath(): string | undefined {
    return this.node ?? (this.cfg.device === 'auto' ? undefined : this.cfg.device);
  }
}
