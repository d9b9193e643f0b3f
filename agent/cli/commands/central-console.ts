/**
 * `bodycam central console --config FILE` (the supervisor's console, central/console/) and
 * `bodycam central console-user add NAME --role ROLE [--password-file F] --users FILE|--config FILE`.
 * Loaded at run time from central/ like ingest (central-ingest.ts): the camera's package never
 * ships or loads it.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from '../args.js';
import { BodycamError, UsageError, errnoCode } from '../../lib/errors.js';

export const CONSOLE_USAGE = `  console [--config FILE]
      The supervisor's console (HTTPS; docs/central-console.md). FILE defaults to
      /etc/bodycam/console.json.
  console-user add NAME --role viewer|supervisor|admin (--config FILE | --users FILE) [--password-file F]
      Adds (or replaces) an operator account; the password is read from F's first line, or
      prompted for (twice, not echoed) on a terminal, or read from stdin's first line.`;

const CENTRAL_CONSOLE = new URL('../../../central/console/', import.meta.url);

async function load<T>(file: string): Promise<T> {
  try {
    return (await import(new URL(file, CENTRAL_CONSOLE).href)) as T;
  } catch (e) {
    if (errnoCode(e) !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new BodycamError('STATE', 'the central console is not part of this install (the camera package ships dist/agent and dist/hal only): run it from a central install of this repository');
  }
}

interface ConfigModule {
  loadConsoleConfig(path: string): { usersFile: string };
}
interface ServiceModule {
  ConsoleService: new (cfg: never) => { start(): Promise<void>; stop(): Promise<void> };
}
interface UsersModule {
  ROLES: readonly string[];
  UserStore: new (path: string) => { put(name: string, role: string, password: string): Promise<'added' | 'replaced'> };
}

export async function consoleServe(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { config: { type: 'string' } }, 'central console');
  if (positionals.length) throw new UsageError(`central console: unexpected argument '${positionals[0]}'`);
  const { loadConsoleConfig } = await load<ConfigModule>('config.js');
  const { ConsoleService } = await load<ServiceModule>('service.js');
  const svc = new ConsoleService(loadConsoleConfig(flags.config ?? '/etc/bodycam/console.json') as never);
  await svc.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await svc.stop();
  return 0;
}

/** A line from a terminal without echo (the prompt goes to stderr). */
function ask(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void };
    process.stderr.write(prompt);
    out._writeToOutput = () => {};
    rl.question('', (a) => {
      rl.close();
      process.stderr.write('\n');
      resolve(a);
    });
  });
}

async function stdinLine(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += String(chunk);
  return s.split('\n')[0] ?? '';
}

export async function consoleUser(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { role: { type: 'string' }, 'password-file': { type: 'string' }, config: { type: 'string' }, users: { type: 'string' } }, 'central console-user');
  const [verb, name, ...extra] = positionals;
  if (verb !== 'add') throw new UsageError(verb ? `central console-user: unknown verb '${verb}' (known: add)` : 'central console-user: a verb is required (add)');
  if (!name || extra.length) throw new UsageError('central console-user add: exactly one NAME');
  const { ROLES, UserStore } = await load<UsersModule>('users.js');
  if (!flags.role || !ROLES.includes(flags.role)) throw new UsageError(`central console-user add: --role must be one of ${ROLES.join(', ')}`);
  if (!flags.users === !flags.config) throw new UsageError('central console-user add: exactly one of --config, --users');
  const usersFile = flags.users ?? (await load<ConfigModule>('config.js')).loadConsoleConfig(flags.config!).usersFile;
  let password: string;
  if (flags['password-file']) password = readFileSync(flags['password-file'], 'utf8').split('\n')[0] ?? '';
  else if (process.stdin.isTTY) {
    password = await ask(`password for ${name}: `);
    if ((await ask('again: ')) !== password) throw new UsageError('central console-user add: the passwords differ');
  } else password = await stdinLine();
  const how = await new UserStore(usersFile).put(name, flags.role, password);
  console.log(`${how} ${name} (${flags.role}) in ${usersFile}`);
  return 0;
}
