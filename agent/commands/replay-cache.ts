/**
 * Nonces of commands already received, kept until their expiry, persisted (atomic write) before a
 * command is acted on: a command captured on the wire cannot be replayed, not even after an
 * agent restart or reboot. Bounded: commands live at most `central.maxTtlS`, and the cache has a
 * hard entry cap (oldest expiry dropped first, which only matters under a flood of validly signed
 * commands, i.e. from central itself).
 */
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../lib/atomic.js';
import { createLogger } from '../lib/log.js';

const log = createLogger('commands.replay');

export class ReplayCache {
  private readonly entries = new Map<string, number>();
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
    const obj = (v as { nonces?: Record<string, unknown> } | undefined)?.nonces;
    if (!obj || typeof obj !== 'object') return;
    for (const [id, exp] of Object.entries(obj)) if (typeof exp === 'number' && exp > nowMs && /^[0-9a-f]{32}$/.test(id)) this.entries.set(id, exp);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Records a nonce and persists the cache (fsynced) before returning. */
  add(id: string, expiresAtMs: number, nowMs: number): void {
    for (const [k, exp] of this.entries) if (exp <= nowMs) this.entries.delete(k);
    this.entries.set(id, expiresAtMs);
    if (this.entries.size > this.maxEntries) {
      const sorted = [...this.entries].sort((a, b) => a[1] - b[1]);
      for (const [k] of sorted.slice(0, this.entries.size - this.maxEntries)) this.entries.delete(k);
    }
    writeJsonAtomic(this.path, { nonces: Object.fromEntries(this.entries) }, 0o600);
  }

  get size(): number {
    return this.entries.size;
  }
}
