/**
 * Gesture recognised → first frame, the figure a wearer waits for, read from the agent's own log
 * lines: the same reading for the sim board (test/bench/core.ts) and the HIL board
 * (test/hil/main/30-agent, which leaves it at HIL_FIRST_FRAME for `make bench`).
 */

/** Where the last `make hil` leaves the HIL board's figures (the main boot's results share). */
export const HIL_FIRST_FRAME = '.cache/hil/out/main/first-frame.json';

export interface HilFirstFrame {
  readonly board: string;
  readonly camera: string;
  /** How the VM ran: TCG emulation or KVM. */
  readonly accel: string;
  readonly at: string;
  readonly start: number[];
  readonly resume: number[];
}

/**
 * Gesture recognised → first frame from the agent's log lines (wall ms): each `first frame` line
 * paired with the last `gesture` line before it that asked for it (shift_hold starts,
 * privacy_single resumes).
 */
export function fromGesture(logs: string): { start: number[]; resume: number[] } {
  const out = { start: [] as number[], resume: [] as number[] };
  let lastGesture: { kind: string; t: number } | undefined;
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    let o: { t?: string; msg?: string; gesture?: string; reason?: string };
    try {
      o = JSON.parse(line) as typeof o;
    } catch {
      continue;
    }
    const t = Date.parse(o.t ?? '');
    if (o.msg === 'gesture' && (o.gesture === 'shift_hold' || o.gesture === 'privacy_single')) lastGesture = { kind: o.gesture, t };
    if (o.msg === 'first frame' && lastGesture) {
      const want = o.reason === 'resume' ? 'privacy_single' : 'shift_hold';
      if (lastGesture.kind === want) (o.reason === 'resume' ? out.resume : out.start).push(t - lastGesture.t);
      lastGesture = undefined;
    }
  }
  return out;
}

