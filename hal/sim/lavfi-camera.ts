/** The sim camera: ffmpeg's lavfi test source. Always present. */
import type { Camera, CameraInfo } from '../types.js';

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
