/**
 * Alerts for a camera on duty that stops delivering (docs/live-offload.md), on `<root>central/alert`
 * beside `shift_refused` (confirm.ts), JSON:
 *   { "format": "bodycam-ingest-alert/1", "kind": "camera_dark" | "live_lagging", "deviceId", "shiftId",
 *     "verifiedThrough" (RFC 3339 or null), "lastHeartbeat" (the camera's own `at`), "state",
 *     "silentS" | "lagS", "darkAfterS", "report" (result key of report.json), "worker", "at" }
 * - camera_dark: the camera's last heartbeat named a shift on duty (RECORDING, PAUSED, CLOSING) and
 *   no heartbeat came for longer than `darkAfterS`;
 * - live_lagging: its heartbeats still come and say RECORDING, and the shift's verified-through
 *   (live.json) is older than `darkAfterS` (before any, the shift's start from its id).
 * One alert per episode: raised when the condition begins, not again until it has cleared (a
 * heartbeat came back; verified-through caught up). Every worker receives every heartbeat (a
 * plain subscription, not the shared one): a worker that saw only some would think a camera dark.
 * Workers agree on the episode through a marker `alert-<kind>.json` under the shift's result prefix:
 * whoever finds the episode already marked open stays silent.
 */
import { pb } from '../../agent/telemetry/proto.js';
import type { EvidenceStore, ShiftRef } from './store.js';
import type { LiveRecord } from './live.js';

export type LiveAlertKind = 'camera_dark' | 'live_lagging';

const ON_DUTY = new Set<number>([pb.ShiftState.SHIFT_STATE_RECORDING, pb.ShiftState.SHIFT_STATE_PAUSED, pb.ShiftState.SHIFT_STATE_CLOSING]);
const STATE_NAME: Record<number, string> = {
  [pb.ShiftState.SHIFT_STATE_RECORDING]: 'RECORDING', [pb.ShiftState.SHIFT_STATE_PAUSED]: 'PAUSED', [pb.ShiftState.SHIFT_STATE_CLOSING]: 'CLOSING',
};

interface Seen {
  /** Receipt time here (ms): what "stopped for longer than" is measured on. */
  readonly lastMs: number;
  /** The heartbeat's own `at`: the same for every worker, so it names a dark episode. */
  readonly at: string;
  readonly state: number;
  readonly shiftId: string;
}

/** Shift ids begin with their UTC start: `20261122T170059Z-…`. */
const shiftStartMs = (shiftId: string): number | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(shiftId);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
};

export interface LiveWatchDeps {
  readonly store: EvidenceStore;
  readonly darkAfterS: number;
  readonly workerId: string;
  readonly readLive: (r: ShiftRef) => Promise<LiveRecord | undefined>;
  /** The shift has a result or a manifest: it is no longer open. */
  readonly isEnded: (r: ShiftRef) => boolean;
  readonly alert: (payload: Record<string, unknown>) => Promise<void>;
}

export class LiveWatch {
  private readonly seen = new Map<string, Seen>();
  /** `<kind>/<device>/<shift>` → the episode raised and not cleared. */
  private readonly raised = new Map<string, string>();

  constructor(private readonly d: LiveWatchDeps) {}

  heartbeat(deviceId: string, hb: { at: string; state: number; shiftId: string }, nowMs = Date.now()): void {
    this.seen.set(deviceId, { lastMs: nowMs, at: hb.at, state: hb.state, shiftId: hb.shiftId });
  }

  /** Shifts the cameras' last heartbeats say are on duty. */
  onDuty(): ShiftRef[] {
    return [...this.seen].filter(([, s]) => s.shiftId && ON_DUTY.has(s.state)).map(([deviceId, s]) => ({ deviceId, shiftId: s.shiftId }));
  }

  /** Evaluates every camera on duty; returns the alerts published by this call. */
  async check(nowMs = Date.now()): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    const limit = this.d.darkAfterS * 1000;
    for (const [deviceId, s] of this.seen) {
      if (!s.shiftId || !ON_DUTY.has(s.state)) continue;
      const ref = { deviceId, shiftId: s.shiftId };
      if (this.d.isEnded(ref)) continue;
      const silent = nowMs - s.lastMs;
      const dark = silent > limit;
      let lagMs: number | undefined;
      let live: LiveRecord | undefined;
      if (dark || s.state === pb.ShiftState.SHIFT_STATE_RECORDING) {
        live = await this.d.readLive(ref);
        const vt = live?.verifiedThrough ? Date.parse(live.verifiedThrough) : shiftStartMs(s.shiftId);
        if (vt !== undefined) lagMs = nowMs - vt;
      }
      const lagging = !dark && s.state === pb.ShiftState.SHIFT_STATE_RECORDING && lagMs !== undefined && lagMs > limit;
      const base = {
        deviceId, shiftId: s.shiftId, verifiedThrough: live?.verifiedThrough ?? null, lastHeartbeat: s.at, state: STATE_NAME[s.state] ?? String(s.state),
        darkAfterS: this.d.darkAfterS, report: this.d.store.resultKey(ref, 'report.json'),
      };
      const a1 = await this.episode('camera_dark', ref, dark, s.at, { ...base, silentS: Math.round(silent / 1000) });
      const a2 = await this.episode('live_lagging', ref, lagging, 'lagging', { ...base, lagS: lagMs === undefined ? null : Math.round(lagMs / 1000) });
      for (const a of [a1, a2]) if (a) out.push(a);
    }
    return out;
  }

  private async episode(kind: LiveAlertKind, ref: ShiftRef, on: boolean, episode: string, payload: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const k = `${kind}/${ref.deviceId}/${ref.shiftId}`;
    const marker = this.d.store.resultKey(ref, `alert-${kind}.json`);
    if (!on) {
      if (this.raised.has(k)) {
        this.raised.delete(k);
        await this.d.store.put(marker, JSON.stringify({ kind, episode, open: false, worker: this.d.workerId, at: new Date().toISOString() }) + '\n', 'application/json');
      }
      return undefined;
    }
    if (this.raised.get(k) === episode) return undefined;
    const prev = await this.d.store.get(marker);
    const m = prev ? (JSON.parse(prev.toString('utf8')) as { episode?: string; open?: boolean }) : undefined;
    this.raised.set(k, episode);
    if (m?.open && m.episode === episode) return undefined; // another worker raised this one
    const a = { kind, ...payload };
    await this.d.alert(a);
    await this.d.store.put(marker, JSON.stringify({ kind, episode, open: true, worker: this.d.workerId, at: new Date().toISOString() }) + '\n', 'application/json');
    return a;
  }
}
