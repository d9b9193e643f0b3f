/**
 * The policy central set by a signed `set_policy`, kept across restarts in `<dataDir>/policy.json`.
 * Without it a camera would fall back to its config file's policy at every restart and silently
 * undo central's decision (e.g. a shorter personal-needs pause) until central sent it again.
 *
 * The file holds the whole policy, written atomically (temp → fsync → rename → fsync dir): a power
 * cut leaves the old or the new policy, never half of one. On load it is checked with the same
 * parser and bounds as the config file; a damaged or invalid file is reported and ignored (the
 * configured policy applies), never a reason not to start recording.
 */
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../lib/atomic.js';
import { describe } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { parsePolicy, type Policy } from './policy.js';

const log = createLogger('policy');

export interface PersistedPolicy {
  readonly policy: Policy;
  /** Who set it, as journaled then (e.g. `command:<nonce hex>`). */
  readonly source: string;
  /** When it was saved (ISO 8601, device clock). */
  readonly at: string;
}

export class PolicyStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'policy.json');
  }

  /**
   * The saved policy laid over `base` (fields a newer firmware added take their base value), or
   * undefined when none was saved or the file is unusable (logged).
   */
  load(base: Policy): PersistedPolicy | undefined {
    let raw: unknown;
    try {
      raw = readJsonIfExists(this.path);
    } catch (e) {
      log.error('persisted policy unreadable; ignored, the configured policy applies', { path: this.path, error: describe(e) });
      return undefined;
    }
    if (raw === undefined) return undefined;
    const obj = raw as { policy?: unknown; source?: unknown; at?: unknown };
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || typeof obj.source !== 'string' || typeof obj.at !== 'string') {
      log.error('persisted policy malformed (needs policy, source, at); ignored, the configured policy applies', { path: this.path });
      return undefined;
    }
    const { policy, issues } = parsePolicy(obj.policy, '/policy', base);
    if (obj.policy === undefined) issues.push({ where: '/policy', message: 'missing' });
    if (issues.length) {
      log.error('persisted policy invalid; ignored, the configured policy applies', { path: this.path, issues: issues.map((i) => `${i.where}: ${i.message}`) });
      return undefined;
    }
    return { policy, source: obj.source, at: obj.at };
  }

  /** Saves durably before returning; throws when it cannot (the caller must not apply the policy then). */
  save(policy: Policy, source: string): void {
    writeJsonAtomic(this.path, { policy, source, at: new Date().toISOString() }, 0o640);
  }
}
