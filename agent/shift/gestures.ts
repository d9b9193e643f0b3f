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
 *
 * Every `privacy` press on duty is acknowledged at once through `ack` (a haptic tick), even while
 * the double-press window is still open: the wearer knows the press was felt, and recording goes
 * on until the gesture resolves (its `pressedAt` tells the journal when the press was).
 *
 * One-key boards (`buttons.layout: "one-key"`, both logical buttons on one key; README "Gestures"):
 *   long hold (2 s off duty)                  → `shift_hold`   (start)
 *   long hold (3 s on duty)                   → `shift_hold`   (arm the end)
 *   short press while the end is armed        → `shift_press`  (confirm the end), at once
 *   short press while recording               → `privacy_single` once the double-press window passed
 *   second press inside that window           → `privacy_double` at once (SENSITIVE_SITE)
 *   short press while paused                  → `privacy_single` at once (resume)
 *   short press off duty                      → `shift_press`  (ignored, `refused`)
 * A short press counts at its release (only then is it known not to be a hold). The HAL reports
 * the one key's edges under both button names: the mirrored edge is a duplicate level, dropped.
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
  /** Wall-clock ms of the first press of a privacy gesture (it resolves up to a window later). */
  readonly pressedAt?: number;
}

export interface GestureOptions {
  /** One key serves both logical buttons (board `buttons.layout: "one-key"`). */
  readonly oneKey?: boolean;
  /** Called at the moment of a privacy press on duty (before it resolves): the haptic ack. */
  readonly ack?: () => void;
}

export interface GestureContext {
  onDuty: boolean;
  paused: boolean;
  /** The end of shift is armed and awaits its confirm press (one-key boards need to know). */
  endArmed?: boolean;
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
  private privacyFirstAt = 0;
  /** One-key: this press already resolved (a double press) — its release is not a short press. */
  private keyConsumed = false;
  private readonly lastEdge: Record<ButtonName, number> = { shift: -Infinity, privacy: -Infinity };
  private readonly level: Record<ButtonName, boolean> = { shift: false, privacy: false };

  constructor(
    private readonly clock: Clock,
    private readonly context: () => GestureContext,
    private readonly emit: (g: Gesture) => void,
    private readonly debounceMs = 20,
    private readonly opts: GestureOptions = {},
  ) {}

  edge(e: Pick<ButtonEdge, 'button' | 'pressed'>): void {
    const now = this.clock.mono();
    // One key: both names are the same key, tracked as one level.
    const button: ButtonName = this.opts.oneKey ? 'shift' : e.button;
    if (this.level[button] === e.pressed) return; // duplicate level: not an edge
    if (now - this.lastEdge[button] < this.debounceMs) return;
    this.lastEdge[button] = now;
    this.level[button] = e.pressed;
    if (this.opts.oneKey) this.keyEdge(e.pressed, now);
    else if (button === 'shift') this.shiftEdge(e.pressed, now);
    else if (e.pressed) this.privacyPress();
  }

  /** One-key boards: holds are shift gestures, short presses privacy gestures (or the confirm). */
  private keyEdge(pressed: boolean, now: number): void {
    const ctx = this.context();
    if (pressed) {
      this.keyConsumed = false;
      if (ctx.onDuty) this.opts.ack?.();
      if (ctx.onDuty && !ctx.paused && !ctx.endArmed && this.privacyPresses > 0) {
        // Second press inside the window: the double press resolves now, this press is spent.
        this.keyConsumed = true;
        this.resolvePrivacy('privacy_double');
        return;
      }
      this.shiftEdge(true, now);
      return;
    }
    this.holdTimer?.cancel();
    this.holdTimer = undefined;
    const downAt = this.shiftDownAt;
    this.shiftDownAt = undefined;
    if (this.keyConsumed || this.shiftHoldFired || downAt === undefined) return;
    const heldS = (now - downAt) / 1000;
    if (!ctx.onDuty || ctx.endArmed) {
      this.emit({ kind: 'shift_press', at: this.clock.now(), heldS });
      return;
    }
    if (ctx.paused) {
      this.emit({ kind: 'privacy_single', at: this.clock.now(), pressedAt: this.clock.now() - heldS * 1000 });
      return;
    }
    this.privacyPresses = 1;
    this.privacyFirstAt = this.clock.now() - heldS * 1000;
    this.privacyTimer = this.clock.setTimer(ctx.doublePressS * 1000, () => this.resolvePrivacy('privacy_single'));
  }

  private resolvePrivacy(kind: 'privacy_single' | 'privacy_double'): void {
    this.privacyTimer?.cancel();
    this.privacyTimer = undefined;
    this.privacyPresses = 0;
    this.emit({ kind, at: this.clock.now(), pressedAt: this.privacyFirstAt });
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
    if (ctx.onDuty) this.opts.ack?.();
    if (ctx.paused || !ctx.onDuty) {
      this.privacyTimer?.cancel();
      this.privacyPresses = 0;
      this.emit({ kind: 'privacy_single', at: this.clock.now() });
      return;
    }
    this.privacyPresses++;
    if (this.privacyPresses >= 2) return this.resolvePrivacy('privacy_double');
    this.privacyFirstAt = this.clock.now();
    this.privacyTimer = this.clock.setTimer(ctx.doublePressS * 1000, () => this.resolvePrivacy('privacy_single'));
  }

  /** Drops pending windows (shutdown). */
  reset(): void {
    this.holdTimer?.cancel();
    this.privacyTimer?.cancel();
    this.holdTimer = this.privacyTimer = undefined;
    this.privacyPresses = 0;
    this.shiftDownAt = undefined;
    this.keyConsumed = false;
  }
}
