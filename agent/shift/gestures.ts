/**
 * Gesture recogniser: raw button edges in, wearer gestures out. Pure logic over a Clock, so tests
 * drive it with FakeClock. Thresholds come from policy at the moment of the press.
 *
 * - `shift` held for the threshold (2 s off duty, 3 s on duty) → `shift_hold`, emitted when the
 *   threshold is reached (the wearer feels the haptic while still holding), not on release.
 * - `shift` released before the threshold → `shift_press` (the confirm press when an end is armed).
 * - `privacy` while recording: one press → `privacy_single` once the double-press window has passed
 *   with no second press; a second press inside the window → `privacy_double` at once.
 * - `privacy` while paused → `privacy_single` at once: resuming never waits for a window.
 * Edges closer than the debounce are dropped (mechanical bounce).
 */
import type { Clock, Timer } from '../lib/clock.js';
import type { ButtonEdge, ButtonName } from '../../hal/types.js';

export type GestureKind = 'shift_hold' | 'shift_press' | 'privacy_single' | 'privacy_double';

export interface Gesture {
  readonly kind: GestureKind;
  /** Wall-clock ms when the gesture was recognised. */
  readonly at: number;
  /** How long the button was held (s), for holds and presses. */
  readonly heldS?: number;
}

export interface GestureContext {
  onDuty: boolean;
  paused: boolean;
  shiftStartHoldS: number;
  shiftEndHoldS: number;
  doublePressS: number;
}

export class GestureRecogniser {
  private shiftDownAt: number | undefined;
  private shiftHoldFired = false;
  private holdTimer: Timer | undefined;
  private privacyPresses = 0;
  private privacyTimer: Timer | undefined;
  private readonly lastEdge: Record<ButtonName, number> = { shift: -Infinity, privacy: -Infinity };
  private readonly level: Record<ButtonName, boolean> = { shift: false, privacy: false };

  constructor(
    private readonly clock: Clock,
    private readonly context: () => GestureContext,
    private readonly emit: (g: Gesture) => void,
    private readonly debounceMs = 20,
  ) {}

  edge(e: Pick<ButtonEdge, 'button' | 'pressed'>): void {
    const now = this.clock.mono();
    if (this.level[e.button] === e.pressed) return; // duplicate level: not an edge
    if (now - this.lastEdge[e.button] < this.debounceMs) return;
    this.lastEdge[e.button] = now;
    this.level[e.button] = e.pressed;
    if (e.button === 'shift') this.shiftEdge(e.pressed, now);
    else if (e.pressed) this.privacyPress();
  }

  private shiftEdge(pressed: boolean, now: number): void {
    const ctx = this.context();
    if (pressed) {
      this.shiftDownAt = now;
      this.shiftHoldFired = false;
      const holdS = ctx.onDuty ? ctx.shiftEndHoldS : ctx.shiftStartHoldS;
      this.holdTimer?.cancel();
      this.holdTimer = this.clock.setTimer(holdS * 1000, () => {
        this.shiftHoldFired = true;
        this.emit({ kind: 'shift_hold', at: this.clock.now(), heldS: holdS });
      });
      return;
    }
    this.holdTimer?.cancel();
    this.holdTimer = undefined;
    if (this.shiftDownAt === undefined) return;
    const heldS = (now - this.shiftDownAt) / 1000;
    this.shiftDownAt = undefined;
    if (!this.shiftHoldFired) this.emit({ kind: 'shift_press', at: this.clock.now(), heldS });
  }

  private privacyPress(): void {
    const ctx = this.context();
    if (ctx.paused || !ctx.onDuty) {
      this.privacyTimer?.cancel();
      this.privacyPresses = 0;
      this.emit({ kind: 'privacy_single', at: this.clock.now() });
      return;
    }
    this.privacyPresses++;
    if (this.privacyPresses >= 2) {
      this.privacyTimer?.cancel();
      this.privacyTimer = undefined;
      this.privacyPresses = 0;
      this.emit({ kind: 'privacy_double', at: this.clock.now() });
      return;
    }
    this.privacyTimer = this.clock.setTimer(ctx.doublePressS * 1000, () => {
      this.privacyTimer = undefined;
      this.privacyPresses = 0;
      this.emit({ kind: 'privacy_single', at: this.clock.now() });
    });
  }

  /** Drops pending windows (shutdown). */
  reset(): void {
    this.holdTimer?.cancel();
    this.privacyTimer?.cancel();
    this.holdTimer = this.privacyTimer = undefined;
    this.privacyPresses = 0;
    this.shiftDownAt = undefined;
  }
}
