/** Outputs for the sim board: remembered, and visible in `bodycam status`. */
import type { OutputName, Outputs } from '../types.js';

export class SimOutputs implements Outputs {
  private readonly v: Record<OutputName, boolean> = { led_rec: false, led_status: false, haptic: false, buzzer: false };
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  set(name: OutputName, on: boolean): void {
    this.v[name] = on;
  }
  get(name: OutputName): boolean {
    return this.v[name];
  }
  has(): boolean {
    return true;
  }
}
