#!/usr/bin/env node
/**
 * `bodycam` — the command line. Exit codes: 0 ok, 1 the command's own failure (e.g. verify found
 * tampering), 2 usage or unusable input, 3 the agent is not reachable.
 */
import { COMMANDS } from './commands/index.js';
import { isBodycamError, isConfigError, isUsageError, describe } from '../lib/errors.js';

async function help(): Promise<string> {
  const cmds = await Promise.all(COMMANDS.map((c) => c.load()));
  const w = Math.max(...cmds.map((c) => c.name.length));
  return ['usage: bodycam <command> [options]', '', 'commands:', ...cmds.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`), '', "'bodycam <command> --help' for a command's options."].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name ? 0 : 2;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    console.error(`bodycam: unknown command '${name}'\n\n${await help()}`);
    return 2;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (isUsageError(e)) {
      console.error(`bodycam: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    if (isConfigError(e)) {
      console.error(`bodycam ${name}: invalid configuration\n${e.message}`);
      return 2;
    }
    if (isBodycamError(e)) {
      console.error(`bodycam ${name}: ${e.message}`);
      return e.code === 'USAGE' || e.code === 'CONFIG' ? 2 : 1;
    }
    console.error(`bodycam ${name}: unexpected error: ${describe(e)}`);
    if (process.env.BODYCAM_LOG === 'debug' && e instanceof Error) console.error(e.stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
