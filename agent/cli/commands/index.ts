/**
 * The registry of `bodycam` commands. Each command lives in its own file and adds one line here.
 * Commands load lazily: `bodycam press` must not pay for the AWS SDK, mqtt.js and the daemon
 * (eager loading made every call take ~0.6 s on this machine).
 */
import type { Command } from '../command.js';

export interface CommandEntry {
  readonly name: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'agent', load: async () => (await import('./agent.js')).agentCommand },
  { name: 'status', load: async () => (await import('./status.js')).statusCommand },
  { name: 'press', load: async () => (await import('./press.js')).pressCommand },
  { name: 'sim', load: async () => (await import('./sim.js')).simCommand },
  { name: 'offload', load: async () => (await import('./offload.js')).offloadCommand },
  { name: 'selftest', load: async () => (await import('./selftest.js')).selftestCommand },
  { name: 'board', load: async () => (await import('./board.js')).boardCommand },
  { name: 'provision', load: async () => (await import('./provision.js')).provisionCommand },
  { name: 'verify', load: async () => (await import('./verify.js')).verifyCommand },
  { name: 'decrypt', load: async () => (await import('./decrypt.js')).decryptCommand },
  { name: 'keygen-central', load: async () => (await import('./keygen-central.js')).keygenCentralCommand },
  { name: 'central', load: async () => (await import('./central.js')).centralCommand },
  { name: 'command', load: async () => (await import('./command.js')).commandCommand },
  { name: 'update', load: async () => (await import('./update.js')).updateCommand },
];
