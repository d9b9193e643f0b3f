#!/usr/bin/env node
/**
 * `bodycam` — the command line. Exit codes (agent/cli/exit-codes.ts, shown in every --help):
 * 0 ok, 1 the command's own "no" (the agent refused, verify found tampering), 2 usage or unusable
 * input, 3 no agent answers on the control socket.
 */
import { COMMANDS } from './commands/index.js';
import { EXIT_CODES_HELP, EXIT_NO, EXIT_NO_AGENT, EXIT_OK, EXIT_USAGE, exitCodesHelp } from './exit-codes.js';
import { isBodycamError, isConfigError, isUsageError, describe } from '../lib/errors.js';
import { AgentUnreachableError } from '../control/client.js';
import { FIRMWARE_VERSION } from '../version.js';

async function help(): Promise<string> {
  const cmds = await Promise.all(COMMANDS.map((c) => c.load()));
  const w = Math.max(...cmds.map((c) => c.name.length));
  return [
    'usage: bodycam <command> [options]',
    '       bodycam --version',
    '',
    'commands:',
    ...cmds.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    "'bodycam <command> --help' for a command's options.",
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}

/** The firmware version (agent/version.ts: package.json or $BODYCAM_FIRMWARE_VERSION) and the Node running it. */
function versionText(): string {
  return `bodycam ${FIRMWARE_VERSION} (node ${process.version})`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    if (rest.length) {
      console.error(`bodycam: --version takes no arguments, got '${rest[0]}'`);
      return EXIT_USAGE;
    }
    console.log(versionText());
    return EXIT_OK;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name ? EXIT_OK : EXIT_USAGE;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    console.error(`bodycam: unknown command '${name}'\n\n${await help()}`);
    return EXIT_USAGE;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${cmd.usage}\n\n${exitCodesHelp(cmd.name)}`);
    return EXIT_OK;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (isUsageError(e)) {
      console.error(`bodycam: ${e.message}\n\n${cmd.usage}`);
      return EXIT_USAGE;
    }
    if (isConfigError(e)) {
      console.error(`bodycam ${name}: invalid configuration\n${e.message}`);
      return EXIT_USAGE;
    }
    if (e instanceof AgentUnreachableError) {
      console.error(`bodycam ${name}: ${e.message}`);
      return EXIT_NO_AGENT;
    }
    if (isBodycamError(e)) {
      console.error(`bodycam ${name}: ${e.message}`);
      return e.code === 'USAGE' || e.code === 'CONFIG' ? EXIT_USAGE : EXIT_NO;
    }
    console.error(`bodycam ${name}: unexpected error: ${describe(e)}`);
    if (process.env.BODYCAM_LOG === 'debug' && e instanceof Error) console.error(e.stack);
    return EXIT_NO;
  }
}

process.exitCode = await main(process.argv.slice(2));
