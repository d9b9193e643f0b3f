/** The registry of `bodycam` commands. Each command lives in its own file and adds one line here. */
import type { Command } from '../command.js';
import { provisionCommand } from './provision.js';
import { verifyCommand } from './verify.js';
import { decryptCommand } from './decrypt.js';
import { keygenCentralCommand } from './keygen-central.js';
import { agentCommand } from './agent.js';
import { statusCommand } from './status.js';
import { pressCommand } from './press.js';
import { centralCommand } from './central.js';
import { commandCommand } from './command.js';
import { offloadCommand } from './offload.js';
import { selftestCommand } from './selftest.js';
import { boardCommand } from './board.js';

export const COMMANDS: readonly Command[] = [
  agentCommand,
  statusCommand,
  pressCommand,
  offloadCommand,
  selftestCommand,
  boardCommand,
  provisionCommand,
  verifyCommand,
  decryptCommand,
  keygenCentralCommand,
  centralCommand,
  commandCommand,
];
