/**
 * `bodycam update BUNDLE [--allow-downgrade]` — an engineer at the bench hands the running agent a
 * RAUC bundle. RAUC checks its signature against the image's keyring; the agent checks the version
 * rule and installs only off duty, docked and charging (it says so and waits otherwise).
 * Exit 0: accepted (installing or waiting), 1: refused (the reason is printed), 2: usage.
 */
import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { parseArgs, dataDirFrom, DATA_DIR_FLAG } from '../args.js';
import { UsageError, BodycamError } from '../../lib/errors.js';
import { controlRequest } from '../../control/client.js';

const FLAGS = {
  ...DATA_DIR_FLAG,
  'allow-downgrade': { type: 'boolean', help: 'accept a bundle older than the running firmware' },
  json: { type: 'boolean', help: 'print the answer as JSON' },
} as const;

export const updateCommand: Command = {
  name: 'update',
  summary: 'install a signed RAUC bundle through the running agent (off duty, docked, charging)',
  usage: 'usage: bodycam update BUNDLE.raucb [--allow-downgrade] [--json] [--data-dir DIR]',
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'update');
    const [bundle, extra] = positionals;
    if (!bundle) throw new UsageError('update: a bundle file is required');
    if (extra) throw new UsageError(`update: unexpected argument '${extra}'`);
    // Signature check and download of a large bundle take a while under RAUC: a long timeout.
    const r = await controlRequest(dataDirFrom(flags['data-dir']), { op: 'update', bundle: resolve(bundle), allowDowngrade: flags['allow-downgrade'] === true }, 15 * 60_000);
    if (!r.ok) throw new BodycamError('STATE', r.error ?? 'the agent refused the update');
    const answer = { accepted: r.accepted === true, reason: String(r.reason ?? '') };
    if (flags.json) console.log(JSON.stringify(answer));
    else console.log(`${answer.accepted ? 'accepted' : 'refused'}: ${answer.reason}`);
    return answer.accepted ? 0 : 1;
  },
};
