/** `bodycam provision [--data-dir D] [--device-id ID] [--force]`: creates the device identity. */
import type { Command } from '../command.js';
import { parseArgs, dataDirFrom, DATA_DIR_FLAG } from '../args.js';
import { UsageError } from '../../lib/errors.js';
import { provisionIdentity } from '../../identity/identity.js';

const FLAGS = {
  ...DATA_DIR_FLAG,
  'device-id': { type: 'string', help: 'device id (default: cam-<random hex>)' },
  force: { type: 'boolean', help: 'replace an existing identity (the old key then signs nothing new)' },
} as const;

export const provisionCommand: Command = {
  name: 'provision',
  summary: "create the device identity (device id, Ed25519 signing key) and print the public key's path",
  usage: `usage: bodycam provision [--data-dir DIR] [--device-id ID] [--force]

Creates DIR/identity/: device.json, device.key (Ed25519 private key, mode 0600: the agent only)
and device.pub.pem (give this to central: verifiers check signatures against it).
Refuses to overwrite an existing identity unless --force is given.`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'provision');
    if (positionals.length) throw new UsageError(`provision: unexpected argument '${positionals[0]}'`);
    const id = provisionIdentity(dataDirFrom(flags['data-dir']), { deviceId: flags['device-id'], force: flags.force ?? false });
    console.error(`provisioned device ${id.deviceId} (key id ${id.keyId})`);
    console.log(id.publicKeyPath);
    return 0;
  },
};
