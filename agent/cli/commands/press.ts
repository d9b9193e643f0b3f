/** `bodycam press shift|privacy [--hold S] [--count N]`: virtual buttons (sim boards only). */
import type { Command } from '../command.js';
import { parseArgs, dataDirFrom, DATA_DIR_FLAG } from '../args.js';
import { UsageError, BodycamError } from '../../lib/errors.js';
import { controlRequest } from '../../control/client.js';

const FLAGS = {
  ...DATA_DIR_FLAG,
  hold: { type: 'number', help: 'seconds to hold the button (default 0.1)' },
  count: { type: 'number', help: 'number of presses (default 1)' },
} as const;

export const pressCommand: Command = {
  name: 'press',
  summary: 'press a virtual button (shift or privacy) on a sim board',
  usage: 'usage: bodycam press shift|privacy [--hold SECONDS] [--count N] [--data-dir DIR]',
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'press');
    const [button, extra] = positionals;
    if (button !== 'shift' && button !== 'privacy') throw new UsageError(`press: button must be 'shift' or 'privacy'${button ? `, got '${button}'` : ''}`);
    if (extra) throw new UsageError(`press: unexpected argument '${extra}'`);
    const holdS = flags.hold ?? 0.1;
    const count = flags.count ?? 1;
    if (holdS < 0 || holdS > 30) throw new UsageError('press: --hold must be between 0 and 30 seconds');
    if (!Number.isInteger(count) || count < 1 || count > 5) throw new UsageError('press: --count must be an integer from 1 to 5');
    const r = await controlRequest(dataDirFrom(flags['data-dir']), { op: 'press', button, holdS, count }, (holdS * count + 10) * 1000);
    if (!r.ok) throw new BodycamError('STATE', r.error ?? 'agent refused the press');
    console.log(String(r.pressed));
    return 0;
  },
};
