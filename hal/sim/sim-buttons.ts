/** Virtual buttons for the sim board: edges come from `bodycam press` through the control socket. */
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import type { ButtonEvents, ButtonName, VirtualButtons } from '../types.js';

export class SimButtons extends TypedEmitter<ButtonEvents> implements VirtualButtons {
  readonly virtual = true;
  private readonly level: Record<ButtonName, boolean> = { shift: false, privacy: false };
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async read(button: ButtonName): Promise<boolean> {
    return this.level[button];
  }
  inject(button: ButtonName, pressed: boolean): void {
    if (this.level[button] === pressed) return;
    this.level[button] = pressed;
    this.emit('edge', { button, pressed, atMono: performance.now() });
  }
}
