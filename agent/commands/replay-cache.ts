/**
 * Nonces of commands already received, kept until their expiry, persisted (atomic write) before a
 * command is acted on: a command captured on the wire cannot be replayed, not even after an
 * agent restart or reboot. Bounded: commands live at most `central.maxTtlS`, and the cache has a
 * hard entry cap (oldest expiry dropped first, which only matters under a flood of validly signed
 * commands, i.e. from central itself).
 *
 * Forgetting a nonce is safe only while the clock never goes back: a nonce dropped once its
 * command expired would make that command valid again after a backward step (an RTC that lost
 * power, an NTP correction). So the cache keeps a floor — the latest expiry it ever forgot — and
 * a command that expires at or before it counts as possibly seen, whatever the clock says now.
 *
 * It also keeps, per kind of command whose last word must win (`set_policy`, `schedule_duty`),
 * the issue time of the last one applied: delivery order is not issue order (an outbox, a dock
 * replay), and an older policy delivered late must not undo a newer one.
 */
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../lib/atomic.js';
import { createLogger } from '../lib/log.js';

const log = createLogger('commands.replay');

export class ReplayCache {
  private readonly entries = new Map<string, number>();
  /** The latest expiry of a nonce this cache has forgotten (ms; 0: none). Persisted. */
  private floorMs = 0;
  /** Issue time (central's ms) of the last applied command per ordered kind. Persisted. */
  private readonly issued = new Map<string, number>();
  readonly path: string;

  constructor(dir: string, private readonly maxEntries = 10_000) {
    this.path = join(dir, 'replay-cache.json');
  }

  load(nowMs: number): void {
    let v: unknown;
    try {
      v = readJsonIfExists(this.path);
    } catch (e) {
      // A corrupt cache must not stop commands; it is rebuilt. Replays of commands accepted before
      // the corruption are still bounded by their expiry (at most maxTtlS).
      log.warn('replay cache unreadable, starting empty', { path: this.path, error: e });
      return;
    }
    const file = v as { nonces?: Record<string, unknown>; floor_ms?: unknown; issued?: Record<string, unknown> } | undefined;
    if (typeof file?.floor_ms === 'number' && Number.isFinite(file.floor_ms)) this.floorMs = file.floor_ms;
    if (file?.issued && typeof file.issued === 'object') {
      for (const [kind, ms] of Object.entries(file.issued)) if (typeof ms === 'number' && Number.isFinite(ms)) this.issued.set(kind, ms);
    }
    const obj = file?.nonces;
    if (!obj || typeof obj !== 'object') return;
    for (const [id, exp] of Object.entries(obj)) {
      if (typeof exp !== 'number' || !/^[0-9a-f]{32}$/.test(id)) continue;
      if (exp > nowMs) this.entries.set(id, exp);
      else this.forgot(exp);
    }
  }

  /** Was this command (nonce, expiry) received — or could it have been, and been forgotten? */
  has(id: string, expiresAtMs?: number): boolean {
    return this.entries.has(id) || (expiresAtMs !== undefined && expiresAtMs <= this.floorMs);
  }

  /** Issue time of the last applied command of this kind (undefined: none yet). */
  lastIssued(kind: string): number | undefined {
    return this.issued.get(kind);
  }

  /** A command of an ordered kind was applied: later deliveries issued before it are refused. Persisted. */
  noteIssued(kind: string, issuedAtMs: number): void {
    if ((this.issued.get(kind) ?? -Infinity) >= issuedAtMs) return;
    this.issued.set(kind, issuedAtMs);
    this.save();
  }

  /** The latest expiry forgotten: commands expiring at or before it are refused whatever the clock. */
  get floor(): number {
    return this.floorMs;
  }

  /** Records a nonce and persists the cache (fsynced) before returning. */
  add(id: string, expiresAtMs: number, nowMs: number): void {
    for (const [k, exp] of this.entries) {
      if (exp > nowMs) continue;
      this.entries.delete(k);
      this.forgot(exp);
    }
    this.entries.set(id, expiresAtMs);
    if (this.entries.size > this.maxEntries) {
      const sorted = [...this.entries].sort((a, b) => a[1] - b[1]);
      for (const [k, exp] of sorted.slice(0, this.entries.size - this.maxEntries)) {
        this.entries.delete(k);
        this.forgot(exp);
      }
    }
    this.save();
  }

  private save(): void {
    writeJsonAtomic(this.path, { nonces: Object.fromEntries(this.entries), floor_ms: this.floorMs, issued: Object.fromEntries(this.issued) }, 0o600);
  }

  private forgot(expiresAtMs: number): void {
    if (expiresAtMs > this.floorMs) this.floorMs = expiresAtMs;
  }

  get size(): number {
    return this.entries.size;
  }
}
