/**
 * The device registry: a directory of `<deviceId>/device.pub.pem`, filled at provisioning (the
 * file `bodycam provision` prints is copied here, by a human or a provisioning script). Read on
 * every shift, not cached: a camera registered while the service runs is known at once, and a
 * key replaced after a repair is the one that counts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { loadPublicKey } from '../../agent/evidence/crypto.js';
import { describe } from '../../agent/lib/errors.js';

const DEVICE_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const DEVICE_KEY_FILE = 'device.pub.pem';

export type RegistryLookup =
  | { readonly found: true; readonly publicKey: KeyObject; readonly path: string }
  | { readonly found: false; readonly reason: 'unknown_device' | 'bad_key'; readonly detail: string };

export class DeviceRegistry {
  constructor(readonly dir: string) {}

  keyPath(deviceId: string): string {
    return join(this.dir, deviceId, DEVICE_KEY_FILE);
  }

  lookup(deviceId: string): RegistryLookup {
    // The id comes from the network: never let it walk out of the registry directory.
    if (!DEVICE_ID.test(deviceId) || deviceId === '.' || deviceId === '..') return { found: false, reason: 'unknown_device', detail: `'${deviceId}' is not a device id` };
    const path = this.keyPath(deviceId);
    if (!existsSync(path)) return { found: false, reason: 'unknown_device', detail: `device ${deviceId} is not in the registry (no ${path})` };
    try {
      return { found: true, publicKey: loadPublicKey(path, 'ed25519', `registered key of ${deviceId}`), path };
    } catch (e) {
      // Present but unusable (not PEM, not Ed25519, unreadable): a registry fault, said as such.
      return { found: false, reason: 'bad_key', detail: describe(e) };
    }
  }
}
