/**
 * One interface per device kind. Backends live beside each interface (`sim`, `gpio-cdev`,
 * `gpio-sysfs`, `max17048`, …) and are chosen from the board config by `createHal`.
 * Policy code (agent/) imports these interfaces only, never a backend.
 * Constructors do no I/O; `start()` opens devices, `stop()` releases them.
 */
import type { TypedEmitter } from '../agent/lib/typed-emitter.js';

export type ButtonName = 'shift' | 'privacy';
export type OutputName = 'led_rec' | 'led_status' | 'haptic' | 'buzzer';

export interface Lifecycle {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ButtonEdge {
  readonly button: ButtonName;
  readonly pressed: boolean;
  /** Monotonic ms (performance.now() timebase) of the edge, as close to the interrupt as the backend can. */
  readonly atMono: number;
}

export interface ButtonEvents extends Record<string, unknown[]> {
  edge: [ButtonEdge];
  /** The device vanished or failed (e.g. gpiochip removed). */
  error: [Error];
}

export interface Buttons extends Lifecycle, TypedEmitter<ButtonEvents> {
  /** True on boards whose buttons are virtual (sim): `bodycam press` is allowed only then. */
  readonly virtual: boolean;
  /** Current level (pressed?) of a button, read from the device. */
  read(button: ButtonName): Promise<boolean>;
}

/** Virtual buttons additionally accept injected edges. */
export interface VirtualButtons extends Buttons {
  inject(button: ButtonName, pressed: boolean): void;
}

export interface Outputs extends Lifecycle {
  set(name: OutputName, on: boolean): void;
  /** Last value set (sim and tests read it back; real backends report what they drove). */
  get(name: OutputName): boolean;
  has(name: OutputName): boolean;
}

export interface GaugeReading {
  /** State of charge, 0–100. */
  readonly percent: number;
  readonly voltageV: number;
  readonly charging: boolean;
  /** Average current in mA (negative = discharging), when the gauge measures it. */
  readonly currentMa: number | undefined;
  /** Estimated minutes left at the current drain, when it can be estimated. */
  readonly runtimeMin: number | undefined;
}

export interface Gauge extends Lifecycle {
  readonly kind: string;
  read(): Promise<GaugeReading>;
}

export interface DockEvents extends Record<string, unknown[]> {
  change: [docked: boolean];
  error: [Error];
}
export interface Dock extends Lifecycle, TypedEmitter<DockEvents> {
  docked(): boolean;
}

export interface Thermal extends Lifecycle {
  /** Temperature in °C, or undefined when not readable. */
  readC(): Promise<number | undefined>;
}

export interface CameraInfo {
  readonly device: string;
  readonly driver: string;
  readonly card: string;
  readonly formats: readonly string[];
  /** The ffmpeg -input_format the probe checked and chose (v4l2 only). */
  readonly inputFormat?: string | undefined;
}

/** The capture source as the encoder sees it (ffmpeg input args are built from this). */
export interface Camera extends Lifecycle {
  readonly source: 'lavfi' | 'v4l2' | 'rtsp';
  /** Resolves the device node (for 'auto') and checks the configured format is offered. */
  probe(): Promise<CameraInfo>;
  /** Is the device present right now (cheap: a stat)? */
  present(): boolean;
  /** The node ffmpeg should open (after probe). */
  devicePath(): string | undefined;
  /**
   * Network cameras only: the URL ffmpeg opens, credentials included (after probe). It goes into
   * the encoder's argv and nowhere else.
   */
  streamUrl?(): string | undefined;
  /**
   * Network cameras only: does the camera answer right now? A real round trip, not a cached
   * answer — it decides whether an encoder run that ended was camera loss.
   */
  reachable?(): Promise<boolean>;
  /** Removes the camera's secrets from a text about to be logged or journaled (ffmpeg's stderr). */
  redact?(text: string): string;
}
