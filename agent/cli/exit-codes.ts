/**
 * One exit-code convention for every `bodycam` command, written once and shown in `bodycam
 * --help` and each command's --help:
 *   0  ok
 *   1  the command's own "no": the agent refused, verify found tampering, a selftest check failed
 *      (and any unexpected failure, its message printed)
 *   2  usage error or unusable input (nothing was done)
 *   3  no agent answers on the control socket (commands that talk to the running agent)
 *  78  `agent` only: no board configured (EX_CONFIG; the systemd unit does not restart on it)
 * 3 stays apart from 1 so a script can tell "the camera said no" from "nothing is running here".
 */
export const EXIT_OK = 0;
export const EXIT_NO = 1;
export const EXIT_USAGE = 2;
export const EXIT_NO_AGENT = 3;

interface ExitDoc {
  /** What exit 1 means for this command. */
  readonly no: string;
  /** Codes only this command has, with what they mean. */
  readonly more?: readonly string[];
  /** The command talks to the running agent through its control socket: it can exit 3. */
  readonly agent?: boolean;
}

const DOCS: Readonly<Record<string, ExitDoc>> = {
  agent: { no: 'the agent stopped on a fatal error, or another agent holds this data dir', more: ['78  no board configured (--board empty: set BODYCAM_BOARD in /etc/default/bodycam-agent); the unit does not restart'] },
  status: { no: 'the agent answered with an error', agent: true },
  press: { no: 'the agent refused the press (e.g. a board with real buttons)', agent: true },
  sim: { no: 'the agent refused (e.g. a board that simulates nothing)', agent: true },
  offload: { no: 'the agent refused the request', agent: true },
  command: { no: 'the agent refused the command (the reason is printed)', agent: true },
  selftest: { no: 'a device failed its check (named in the table)' },
  board: { no: 'an unexpected failure (an invalid board file is exit 2)' },
  provision: { no: 'provisioning failed (e.g. an identity already exists)' },
  verify: { no: 'tampered or incomplete evidence' },
  decrypt: { no: 'a segment is damaged' },
  'keygen-central': { no: 'a key exists and was not overwritten' },
  central: { no: 'publish: refused or no result; ingest: an upload refused or failed' },
};

/** The exit-code block of one command's --help. */
export function exitCodesHelp(command: string): string {
  const d = DOCS[command] ?? { no: 'the command failed (the reason is printed)' };
  return [
    'exit codes:',
    '  0  ok',
    `  1  ${d.no}; also any unexpected failure`,
    '  2  usage error or unusable input (nothing done)',
    ...(d.agent ? ['  3  no agent answers on the control socket (is \'bodycam agent\' running with this --data-dir?)'] : []),
    ...(d.more ?? []).map((m) => ` ${m}`),
  ].join('\n');
}

/** The block of `bodycam --help`. */
export const EXIT_CODES_HELP = `exit codes (every command):
  0  ok
  1  the command's own "no": the agent refused, verify found tampering, a selftest check
     failed; also any unexpected failure
  2  usage error or unusable input (nothing done)
  3  no agent answers on the control socket (status, press, sim, offload, command)
 78  agent: no board configured (BODYCAM_BOARD unset)`;
