/**
 * Who this camera is in its records: the config's deviceId, else the provisioned identity's, else
 * `unprovisioned-<hostname>`. Journals are signed only when the identity is the device's own: a
 * config that names another device must not sign in that identity's name.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { loadIdentity } from './identity.js';
import { JournalSigner } from '../evidence/signer.js';
import type { AgentConfig } from '../config/agent-config.js';
import type { Policy } from '../config/policy.js';
import type { Logger } from '../lib/log.js';

export function deviceIdentity(dataDir: string, config: AgentConfig, policy: Policy, log: Logger): { deviceId: string; signer: JournalSigner | undefined } {
  const identity = loadIdentity(dataDir);
  const deviceId = config.deviceId ?? identity?.deviceId ?? `unprovisioned-${hostname()}`;
  let signer: JournalSigner | undefined;
  if (!identity) log.warn('no device identity: run `bodycam provision`; journals will not be signed', { deviceId });
  else if (identity.deviceId === deviceId) signer = new JournalSigner(identity, policy.signEverySegments, policy.checkpointS);
  else log.warn('config deviceId differs from the provisioned identity: journals will not be signed', { config: deviceId, identity: identity.deviceId });
  return { deviceId, signer };
}

/** This boot's id: a restart on the same boot is an agent crash, on another one a power loss. */
export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}
