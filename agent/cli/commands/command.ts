/**
 * `bodycam command --file F [--data-dir D]`: hands a signed command file (from `bodycam central
 * sign`) to the running agent through its control socket — the dock path, for cameras that
 * cannot reach the broker. The agent checks it exactly as one from MQTT and journals it.
 * Exit 0 accepted, 1 refused, 2 usage, 3 no agent (agent/cli/exit-codes.ts).
 */
import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseArgs, dataDirFrom, DATA_DIR_FLAG } from '../args.js';
import { BodycamError, UsageError, describe } from '../../lib/errors.js';
import { controlRequest } from '../../control/client.js';

const FLAGS = { ...DATA_DIR_FLAG, file: { type: 'string', help: "signed command file ('-' for stdin)" }, json: { type: 'boolean' } } as const;

export const commandCommand: Command = {
  name: 'command',
  summary: 'deliver a signed command file to the running agent (dock)',
  usage: `usage: bodycam command --file FILE|- [--data-dir DIR] [--json]

FILE holds a SignedCommand as written by 'bodycam central sign' (binary, or base64 text).`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'command');
    if (positionals.length) throw new UsageError(`command: unexpected argument '${positionals[0]}'`);
    if (!flags.file) throw new UsageError('command: --file is required');
    let raw: Buffer;
    try {
      raw = readFileSync(flags.file === '-' ? 0 : flags.file);
    } catch (e) {
      throw new BodycamError('USAGE', `command: cannot read ${flags.file}: ${describe(e)}`);
    }
    const text = raw.toString('latin1');
    const payload = /^[A-Za-z0-9+/=\s]+$/.test(text) && text.trim().length % 4 === 0 ? Buffer.from(text, 'base64') : raw;
    // No agent: AgentUnreachableError, exit 3 (main.ts).
    const r = await controlRequest(dataDirFrom(flags['data-dir']), { op: 'command', payload: payload.toString('base64') });
    if (!r.ok) throw new BodycamError('PROTOCOL', `agent refused the request: ${r.error}`);
    const res = r as unknown as { accepted: boolean; action: string; refusal: string; reason: string; commandId: string };
    if (flags.json) console.log(JSON.stringify(res));
    else console.log(`${res.accepted ? 'accepted' : 'refused'}: ${res.action || 'command'}${res.commandId ? ` ${res.commandId}` : ''} — ${res.reason}${res.accepted ? '' : ` (${res.refusal})`}`);
    return res.accepted ? 0 : 1;
  },
};
