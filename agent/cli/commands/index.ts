/** The registry of `bodycam` commands. Each command lives in its own file and adds one line here. */
import type { Command } from '../command.js';

export const COMMANDS: readonly Command[] = [];
