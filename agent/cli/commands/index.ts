/** The registry of `bodycam` commands. Each command lives in its own file and adds one line here. */
import type { Command } from '../command.js';
import { keygenCentralCommand } from './keygen-central.js';
import { decryptCommand } from './decrypt.js';
import { verifyCommand } from './verify.js';
import { provisionCommand } from './provision.js';

export const COMMANDS: readonly Command[] = [
  provisionCommand,
  verifyCommand,
  decryptCommand,
  keygenCentralCommand,
];
