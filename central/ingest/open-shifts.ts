/**
 * Ingest's side of shifts still recording (docs/live-offload.md): which shifts are on duty (every
 * worker hears every camera's heartbeat through its own, non-shared subscription), one pass over
 * them every `liveScanS` — each followed as far as its live chunks go (live.ts) — and then the
 * live alerts (live-alerts.ts: a camera gone dark on duty, verification lagging). The service
 * (service.ts) owns the broker and the store listing; this owns everything about open shifts.
 */
import { describe } from '../../agent/lib/errors.js';
import type { Logger } from '../../agent/lib/log.js';
import { pb } from '../../agent/telemetry/proto.js';
import type { IngestConfig } from './config.js';
import { ALERT_FORMAT, alertTopic } from './confirm.js';
import { LiveWatch } from './live-alerts.js';
import { LiveFollower, type LivePass } from './live.js';
import type { IngestMetrics } from './metrics.js';
import type { DeviceRegistry } from './registry.js';
import { SHIFT_ID, type EvidenceStore, type ShiftRef } from './store.js';

export const refKey = (r: ShiftRef): string => `${r.deviceId}/${r.shiftId}`;

export interface OpenShiftsOptions {
  readonly cfg: IngestConfig;
  readonly store: EvidenceStore;
  readonly registry: DeviceRegistry;
  readonly metrics: IngestMetrics;
  readonly log: Logger;
  readonly publish: (topic: string, payload: Buffer) => Promise<void>;
  /** This worker decided the shift (ended, verified or refused): not followed live any more. */
  readonly isDone: (r: ShiftRef) => boolean;
  /** Shifts seen in the last store listing (candidates with live chunks). */
  readonly recent: () => readonly ShiftRef[];
}

export class OpenShifts {
  private readonly live: LiveFollower;
  private readonly watch: LiveWatch;
  private scan: Promise<LivePass[]> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly o: OpenShiftsOptions) {
    const alert = (p: Record<string, unknown>): Promise<void> => this.publishAlert(p);
    const { cfg, store, registry, metrics, log } = o;
    this.live = new LiveFollower({ store, registry, workerId: cfg.workerId, metrics, log, alert });
    this.watch = new LiveWatch({ store, darkAfterS: cfg.darkAfterS, workerId: cfg.workerId, readLive: (r) => this.live.readLive(r), isEnded: (r) => this.live.isEnded(r) || o.isDone(r), alert });
  }

  /** A heartbeat from the liveness subscription: who is on duty and when each camera was last heard. */
  heartbeat(topic: string, payload: Buffer): void {
    const root = this.o.cfg.mqtt.topicRoot;
    if (!topic.startsWith(root) || !topic.endsWith('/heartbeat')) return;
    const deviceId = topic.slice(root.length, -'/heartbeat'.length);
    try {
      const hb = pb.Heartbeat.decode(payload);
      if (hb.deviceId !== deviceId || (hb.shiftId && !SHIFT_ID.test(hb.shiftId))) return;
      this.watch.heartbeat(deviceId, { at: hb.at, state: hb.state, shiftId: hb.shiftId });
    } catch {
      /* the shared subscription's copy logs undecodable heartbeats */
    }
  }

  /** Shifts the cameras' heartbeats say are on duty. */
  onDuty(): ShiftRef[] {
    return this.watch.onDuty();
  }

  /**
   * One pass over open shifts: the shifts heartbeats name and recent shifts with live chunks are
   * verified as far as their chunks go, then the live alerts are evaluated. Passes never overlap:
   * a call during one returns that one.
   */
  pass(): Promise<LivePass[]> {
    if (!this.scan) this.scan = this.passOnce().finally(() => (this.scan = undefined));
    return this.scan;
  }

  /**
   * Open shifts are looked at more often than the store is listed: verified-through must not lag
   * by a whole `rescanS`, or live_lagging would be raised by the scan cadence alone.
   */
  schedule(): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      void this.pass().finally(() => this.schedule());
    }, this.o.cfg.liveScanS * 1000);
  }

  stop(): void {
    this.stopping = true;
    clearTimeout(this.timer);
  }

  private async passOnce(): Promise<LivePass[]> {
    const { metrics, log, cfg } = this.o;
    const passes: LivePass[] = [];
    const cands = new Map<string, ShiftRef>();
    for (const r of this.watch.onDuty()) cands.set(refKey(r), r);
    for (const r of this.o.recent()) if (!this.o.isDone(r) && !this.live.isEnded(r)) cands.set(refKey(r), r);
    for (const r of cands.values()) {
      try {
        if (!this.watch.onDuty().some((x) => refKey(x) === refKey(r)) && !(await this.live.hasChunks(r))) continue;
        passes.push(await this.live.follow(r));
      } catch (e) {
        metrics.errors++;
        log.warn('open shift pass failed; the next scan tries again', { worker: cfg.workerId, device: r.deviceId, shift: r.shiftId, err: describe(e) });
      }
    }
    metrics.liveFollowed = passes.filter((p) => p.record?.open).length;
    try {
      await this.watch.check();
    } catch (e) {
      log.warn('live alert check failed', { err: describe(e) });
    }
    metrics.flush();
    return passes;
  }

  private async publishAlert(p: Record<string, unknown>): Promise<void> {
    const { cfg, metrics, log } = this.o;
    await this.o.publish(alertTopic(cfg.mqtt.topicRoot), Buffer.from(JSON.stringify({ format: ALERT_FORMAT, ...p, worker: cfg.workerId, at: new Date().toISOString() })));
    const kind = String(p.kind);
    metrics.liveAlerts[kind] = (metrics.liveAlerts[kind] ?? 0) + 1;
    log.warn('live alert', { worker: cfg.workerId, ...p });
  }
}
