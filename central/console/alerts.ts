/**
 * Alerts that need a person: raised by the fleet (LOST, gone dark, pause budget, obstruction,
 * battery forecast, evidence central has not confirmed piling up on a camera) and by ingest (`central/alert`), acknowledged by a named supervisor with a
 * note. Kept in `<stateDir>/alerts.json`, rewritten atomically (temp → fsync → rename → fsync dir)
 * on every change, so a restarted console shows exactly what it showed. Each alert has a key
 * (e.g. `lost:<device>:<run id>`): the same condition seen again — a retained status re-read at
 * restart, a heartbeat repeating an obstruction — raises nothing new.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../../agent/lib/atomic.js';
import { TypedEmitter } from '../../agent/lib/typed-emitter.js';

export type AlertKind = 'lost' | 'dark' | 'pause_budget' | 'obstruction' | 'battery_forecast' | 'ingest_refused' | 'unconfirmed_backlog';

export interface Ack {
  readonly by: string;
  readonly at: string;
  readonly note: string;
}

export interface Alert {
  readonly id: string;
  readonly key: string;
  readonly kind: AlertKind;
  readonly deviceId: string;
  readonly title: string;
  readonly detail: string;
  readonly at: string;
  ack?: Ack;
}

interface AlertsFile {
  format: 'bodycam-console-alerts/1';
  alerts: Alert[];
}

/** Acknowledged alerts kept (oldest dropped first); unacknowledged ones are never dropped. */
const KEEP_ACKED = 2000;

export class AlertStore extends TypedEmitter<{ alert: [Alert] }> {
  private alerts: Alert[] = [];
  readonly path: string;

  constructor(dir: string) {
    super();
    this.path = join(dir, 'alerts.json');
  }

  load(): void {
    const v = readJsonIfExists(this.path) as AlertsFile | undefined;
    this.alerts = v?.format === 'bodycam-console-alerts/1' && Array.isArray(v.alerts) ? v.alerts : [];
  }

  private save(): void {
    const acked = this.alerts.filter((a) => a.ack);
    if (acked.length > KEEP_ACKED) {
      const drop = new Set(acked.slice(0, acked.length - KEEP_ACKED).map((a) => a.id));
      this.alerts = this.alerts.filter((a) => !drop.has(a.id));
    }
    writeJsonAtomic(this.path, { format: 'bodycam-console-alerts/1', alerts: this.alerts } satisfies AlertsFile, 0o600);
  }

  /** Raises an alert unless one with this key exists already; returns it when new. */
  raise(a: Omit<Alert, 'id' | 'at' | 'ack'> & { at?: string }): Alert | undefined {
    if (this.alerts.some((x) => x.key === a.key)) return undefined;
    const alert: Alert = { ...a, id: randomUUID(), at: a.at ?? new Date().toISOString() };
    this.alerts.push(alert);
    this.save();
    this.emit('alert', alert);
    return alert;
  }

  ack(id: string, by: string, note: string): Alert | undefined {
    const a = this.alerts.find((x) => x.id === id);
    if (!a || a.ack) return undefined;
    a.ack = { by, at: new Date().toISOString(), note };
    this.save();
    this.emit('alert', a);
    return a;
  }

  get(id: string): Alert | undefined {
    return this.alerts.find((x) => x.id === id);
  }

  /** Unacknowledged first, newest first within each. */
  list(deviceId?: string): Alert[] {
    const all = deviceId ? this.alerts.filter((a) => a.deviceId === deviceId) : this.alerts;
    const by = (x: Alert, y: Alert): number => y.at.localeCompare(x.at);
    return [...all.filter((a) => !a.ack).sort(by), ...all.filter((a) => a.ack).sort(by)];
  }
}
