/** Buttons and dock detect on GPIO inputs: thin adapters from a GpioInputSet to the HAL interfaces. */
import type { GpioLine } from '../../agent/generated/board-config.js';
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';
import type { ButtonEvents, ButtonName, Buttons, Dock, DockEvents } from '../types.js';
import { createInputs, type GpioBackendName, type GpioInputSet } from './inputs.js';

export class GpioButtons extends TypedEmitter<ButtonEvents> implements Buttons {
  readonly virtual = false;
  private readonly inputs: GpioInputSet;

  constructor(backend: GpioBackendName, lines: Record<ButtonName, GpioLine>, debounceMs: number) {
    super();
    this.inputs = createInputs(backend, [{ key: 'shift', line: lines.shift }, { key: 'privacy', line: lines.privacy }], debounceMs);
    this.inputs.on('change', (key, level, atMono) => this.emit('edge', { button: key as ButtonName, pressed: level, atMono }));
    this.inputs.on('error', (e) => this.emit('error', e));
  }
  start(): Promise<void> {
    return this.inputs.start();
  }
  stop(): Promise<void> {
    return this.inputs.stop();
  }
  async read(button: ButtonName): Promise<boolean> {
    return this.inputs.level(button);
  }
  describe(): Record<string, string> {
    return this.inputs.describe();
  }
}

export class GpioDock extends TypedEmitter<DockEvents> implements Dock {
  private readonly inputs: GpioInputSet;
  constructor(backend: GpioBackendName, line: GpioLine, debounceMs: number) {
    super();
    this.inputs = createInputs(backend, [{ key: 'dock', line }], debounceMs);
    this.inputs.on('change', (_k, level) => this.emit('change', level));
    this.inputs.on('error', (e) => this.emit('error', e));
  }
  start(): Promise<void> {
    return this.inputs.start();
  }
  stop(): Promise<void> {
    return this.inputs.stop();
  }
  docked(): boolean {
    return this.inputs.level('dock');
  }
  describe(): Record<string, string> {
    return this.inputs.describe();
  }
}
