/**
 * The policy room: which policy is in force and why. Precedence, newest intent first: a policy
 * central set by signed command (persisted in policy.json, so it outlives restarts), then the
 * config file's (the base, and SIGHUP re-reads it). The source is journaled with every change.
 */
import { PolicyStore, type PersistedPolicy } from '../config/policy-store.js';
import type { Policy } from '../config/policy.js';
import type { JournalSigner } from '../evidence/signer.js';
import type { Core } from '../parts.js';

export interface PolicyRoomDeps {
  readonly signer: () => JournalSigner | undefined;
  /** Runs in the machine's queue: a reload never lands in the middle of a transition. */
  readonly serialize: (fn: () => Promise<void>) => Promise<void>;
}

export class PolicyRoom {
  private readonly store: PolicyStore;
  private policy: Policy;
  private source = 'config';
  private persisted: PersistedPolicy | undefined;

  constructor(
    private readonly c: Core,
    private readonly d: PolicyRoomDeps,
  ) {
    this.store = new PolicyStore(c.dataDir);
    this.policy = c.config.policy;
  }

  get current(): Policy {
    return this.policy;
  }

  /** Central's last signed policy outlives restarts (policy.json); the config's is the base. */
  start(): void {
    this.persisted = this.store.load(this.c.config.policy);
    if (this.persisted) {
      this.policy = this.persisted.policy;
      this.source = `persisted:${this.persisted.source}`;
    }
  }

  /** Once the device journal is open: the persisted policy that applies is on the record. */
  journalLoaded(): void {
    if (this.persisted) this.c.evidence.deviceJournal.append('policy', { source: this.source, policy: this.policy, saved_at: this.persisted.at });
  }

  /**
   * SIGHUP: the config file's policy applies again — unless central set one by signed command
   * since (that is newer intent and persists until central changes it).
   */
  reloadConfigPolicy(p: Policy): void {
    void this.d.serialize(async () => {
      if (this.source.startsWith('command:') || this.source.startsWith('persisted:')) {
        this.c.log.warn('SIGHUP: the policy set by central stays in force; config policy not applied', { source: this.source });
        this.c.journal('note', { what: 'sighup', applied: false, reason: `policy from ${this.source} stays in force` });
        return;
      }
      this.setPolicy(p, 'config_reload');
    });
  }

  setPolicy(p: Policy, source: string): void {
    // Saved before applied: a policy that cannot be persisted is refused, not half-applied.
    if (source.startsWith('command:')) this.store.save(p, source);
    this.source = source;
    this.policy = p;
    this.d.signer()?.setSignEverySegments(p.signEverySegments);
    this.d.signer()?.setCheckpointS(p.checkpointS);
    this.c.journal('policy', { source, policy: p });
    this.c.bus.fire('policy', p);
  }
}
