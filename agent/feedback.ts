/**
 * What the wearer sees and feels. A base pattern per state on the LEDs plus one-shot haptic
 * sequences for gestures. Every pattern is named; the journal records the name, the README
 * documents what each looks like.
 *
 * | pattern        | led_rec          | led_status           | haptic                    |
 * |----------------|------------------|----------------------|---------------------------|
 * | off_duty       | off              | on 100 ms every 3 s  | –                         |
 * | recording      | on               | off                  | –                         |
 * | shift_started  | on               | off                  | one long pulse (400 ms)   |
 * | paused         | off              | 1 Hz blink           | two short pulses          |
 * | pause_warning  | off              | 4 Hz blink           | three pulses              |
 * | end_armed      | 4 Hz blink       | off                  | two short pulses          |
 * | shift_ended    | off              | off                  | two long pulses           |
 * | refused        | (unchanged)      | (unchanged)          | one short buzz (80 ms)    |
 * | ack            | (unchanged)      | (unchanged)          | one tick (100 ms), at once|
 * | fault          | (state's)        | double blink / 2 s   | –                         |
 * | offloading     | off              | 0.5 Hz slow blink    | –                         |
 * | identify       | (state's)        | 5 Hz blink + buzzer  | –                         |
 * | obstruction    | (state's)        | (fault's)            | three long pulses, again every obstructionNagS |
 * | live_view      | (state's)        | on, steady, while a supervisor watches | four short pulses at start, one long (600 ms) at end |
 */
import type { Outputs, OutputName } from '../hal/types.js';
import type { FeedbackPattern } from './shift/machine.js';

type Base = 'off_duty' | 'recording' | 'paused' | 'pause_warning' | 'end_armed' | 'offloading';
type Blink = { on: number; off: number } | 'on' | 'off' | { seq: number[] };

const BASE: Record<Base, { led_rec: Blink; led_status: Blink }> = {
  off_duty: { led_rec: 'off', led_status: { on: 100, off: 2900 } },
  recording: { led_rec: 'on', led_status: 'off' },
  paused: { led_rec: 'off', led_status: { on: 500, off: 500 } },
  pause_warning: { led_rec: 'off', led_status: { on: 125, off: 125 } },
  end_armed: { led_rec: { on: 125, off: 125 }, led_status: 'off' },
  offloading: { led_rec: 'off', led_status: { on: 1000, off: 1000 } },
};

/** Haptic sequences: alternating on/off durations in ms. */
const HAPTIC: Partial<Record<FeedbackPattern, number[]>> = {
  shift_started: [400],
  paused: [120, 120, 120],
  pause_warning: [200, 150, 200, 150, 200],
  end_armed: [120, 120, 120],
  shift_ended: [400, 200, 400],
  refused: [80],
};

/** Live view: four quick pulses (nothing else feels like it) at start, one long pulse at end. */
const LIVE_VIEW_START = [80, 80, 80, 80, 80, 80, 80];
const LIVE_VIEW_END = [600];

/** The obstruction nag: long enough (1.3 s) to be felt through a uniform, unlike a gesture's ack. */
const OBSTRUCTION_NAG = [300, 200, 300, 200, 300];
/** Short, but long enough for a vibration motor to spin up and be felt (~50–100 ms for an ERM). */
const ACK_MS = 100;

export class Feedback {
  private base: Base = 'off_duty';
  private fault = false;
  private live = false;
  private timers: NodeJS.Timeout[] = [];
  private hapticTimers: NodeJS.Timeout[] = [];
  private identifyTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly out: Outputs) {}

  /** A named pattern from the state machine. */
  play(p: FeedbackPattern): void {
    const seq = HAPTIC[p];
    if (seq) this.haptic(seq);
    switch (p) {
      case 'recording':
      case 'shift_started':
        return this.setBase('recording');
      case 'paused':
        return this.setBase('paused');
      case 'pause_warning':
        return this.setBase('pause_warning');
      case 'end_armed':
        return this.setBase('end_armed');
      case 'shift_ended':
        return this.setBase('off_duty');
      case 'refused':
        return;
    }
  }

  /**
   * The press was felt: a 100 ms tick driven synchronously, not from a timer, so it reaches the
   * motor while a privacy press still waits out its double-press window. A pattern that follows
   * (paused, refused…) replaces it.
   */
  ack(): void {
    if (this.stopped || !this.out.has('haptic')) return;
    for (const t of this.hapticTimers) clearTimeout(t);
    this.out.set('haptic', true);
    this.hapticTimers = [setTimeout(() => this.out.set('haptic', false), ACK_MS)];
  }

  setBase(b: Base): void {
    this.base = b;
    this.apply();
  }

  get baseName(): Base {
    return this.base;
  }

  setFault(on: boolean): void {
    if (this.fault === on) return;
    this.fault = on;
    this.apply();
  }

  /** Nags the wearer: the lens, picture or microphone is obstructed (agent/obstruction). */
  nag(): void {
    this.haptic(OBSTRUCTION_NAG);
  }

  /**
   * A supervisor watches (agent/live-view): led_status stays lit for the whole session (the
   * recording base has it off), and the haptic says when it starts and when it ends.
   */
  liveView(on: boolean): void {
    if (this.live === on) return;
    this.live = on;
    this.haptic(on ? LIVE_VIEW_START : LIVE_VIEW_END);
    this.apply();
  }

  /** Central's "identify": blink the status LED and the buzzer for `seconds`. */
  identify(seconds: number): void {
    if (this.identifyTimer) clearTimeout(this.identifyTimer);
    this.clearTimers();
    this.drive('led_status', { on: 100, off: 100 });
    if (this.out.has('buzzer')) this.drive('buzzer', { on: 100, off: 400 });
    this.identifyTimer = setTimeout(() => {
      this.identifyTimer = undefined;
      if (this.out.has('buzzer')) this.out.set('buzzer', false);
      this.apply();
    }, Math.max(1, Math.min(60, seconds)) * 1000);
  }

  private apply(): void {
    if (this.stopped) return;
    this.clearTimers();
    const b = BASE[this.base];
    this.drive('led_rec', b.led_rec);
    this.drive('led_status', this.live ? 'on' : this.fault && b.led_status === 'off' ? { seq: [100, 150, 100, 1650] } : b.led_status);
  }

  private drive(name: OutputName, blink: Blink): void {
    if (!this.out.has(name)) return;
    if (blink === 'on' || blink === 'off') {
      this.out.set(name, blink === 'on');
      return;
    }
    const seq = 'seq' in blink ? blink.seq : [blink.on, blink.off];
    let i = 0;
    const step = (): void => {
      this.out.set(name, i % 2 === 0);
      const t = setTimeout(step, seq[i % seq.length]);
      t.unref();
      this.timers.push(t);
      if (this.timers.length > 16) this.timers.splice(0, this.timers.length - 16);
      i++;
    };
    step();
  }

  private haptic(seq: number[]): void {
    if (!this.out.has('haptic')) return;
    for (const t of this.hapticTimers) clearTimeout(t);
    this.hapticTimers = [];
    let at = 0;
    seq.forEach((d, i) => {
      const on = i % 2 === 0;
      this.hapticTimers.push(setTimeout(() => this.out.set('haptic', on), at));
      at += d;
    });
    this.hapticTimers.push(setTimeout(() => this.out.set('haptic', false), at));
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    for (const t of this.hapticTimers) clearTimeout(t);
    if (this.identifyTimer) clearTimeout(this.identifyTimer);
    for (const n of ['led_rec', 'led_status', 'haptic', 'buzzer'] as const) if (this.out.has(n)) this.out.set(n, false);
  }
}
