/**
 * `bodycam offload [--now] [--shift ID] [--json]`: the offload queue of the running agent; `--now`
 * starts uploading every closed shift at once (without waiting for the dock or an approved
 * network), `--shift ID` that shift first. `--confirm ID --manifest-sha256 HEX` stands in for
 * central's confirmation on boards with virtual buttons (sim, tests); real cameras accept it only
 * as central's signed command.
 */
import type { Command } from '../command.js';
import { parseArgs, dataDirFrom, DATA_DIR_FLAG } from '../args.js';
import { UsageError, BodycamError } from '../../lib/errors.js';
import { controlRequest } from '../../control/client.js';
import type { OffloadStatus, ConfirmResult } from '../../offload/extension.js';

const FLAGS = {
  ...DATA_DIR_FLAG,
  now: { type: 'boolean', help: 'start uploading now, docked or not' },
  shift: { type: 'string', help: 'offload this shift (first)' },
  confirm: { type: 'string', help: 'confirm receipt of this shift (sim boards only)' },
  'manifest-sha256': { type: 'string', help: 'the manifest hash central received (with --confirm)' },
  json: { type: 'boolean', help: 'print JSON' },
} as const;

const USAGE = `usage: bodycam offload [--now] [--shift ID] [--json] [--data-dir DIR]
       bodycam offload --confirm SHIFT_ID --manifest-sha256 HEX   (sim boards only)

Shows the offload queue; --now starts uploading closed shifts without waiting for the dock or an
approved network; --shift ID offloads that shift first.`;

function fmtBytes(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

export function formatOffload(s: OffloadStatus): string {
  const lines = [
    `offload     ${s.state}${s.reason ? ` (${s.reason})` : ''}${s.lastError ? `; last error: ${s.lastError}` : ''}`,
    `docked      ${s.docked == null ? '-' : s.docked ? 'yes' : 'no'}; approved network ${s.approvedNetwork ? 'yes' : 'no'}`,
    `pending     ${s.pendingShifts} shift(s), ${fmtBytes(s.pendingBytes)}`,
  ];
  if (s.current) {
    const c = s.current;
    const pct = c.bytesTotal ? Math.floor((c.bytesDone / c.bytesTotal) * 100) : 0;
    lines.push(`uploading   ${c.shiftId}: ${fmtBytes(c.bytesDone)} of ${fmtBytes(c.bytesTotal)} (${pct}%), file ${c.filesDone}/${c.filesTotal}, ${fmtBytes(c.rateBps)}/s, ETA ${c.etaS == null ? '-' : `${c.etaS}s`}`);
  }
  if (s.queue.length) {
    lines.push('queue');
    for (const q of s.queue) lines.push(`  ${q.shiftId}  ${q.state.padEnd(9)}  ${fmtBytes(q.bytes).padStart(10)}${q.manifestSha256 ? `  manifest ${q.manifestSha256}` : ''}${q.error ? `  error: ${q.error}` : ''}`);
  } else lines.push('queue       empty');
  return lines.join('\n');
}

export const offloadCommand: Command = {
  name: 'offload',
  summary: 'show the offload queue; start uploading closed shifts now',
  usage: USAGE,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'offload');
    if (positionals.length) throw new UsageError(`offload: unexpected argument '${positionals[0]}'`);
    const req: Record<string, unknown> = { op: 'offload' };
    if (flags.confirm !== undefined || flags['manifest-sha256'] !== undefined) {
      if (flags.confirm === undefined || flags['manifest-sha256'] === undefined) throw new UsageError('offload: --confirm and --manifest-sha256 go together');
      if (flags.now || flags.shift !== undefined) throw new UsageError('offload: --confirm cannot be combined with --now or --shift');
      req.confirm = { shiftId: flags.confirm, manifestSha256: flags['manifest-sha256'] };
    }
    if (flags.now) req.now = true;
    if (flags.shift !== undefined) req.shift = flags.shift;
    const r = await controlRequest(dataDirFrom(flags['data-dir']), req);
    if (!r.ok) throw new BodycamError('STATE', r.error ?? 'agent refused');
    if (r.offload === undefined) throw new BodycamError('STATE', 'offload is not configured on this agent (no "offload" config section)');
    const confirm = r.confirm as ConfirmResult | undefined;
    if (flags.json) console.log(JSON.stringify({ offload: r.offload, ...(confirm ? { confirm } : {}) }, null, 2));
    else {
      if (confirm) console.log(`confirmation ${confirm.accepted ? 'accepted' : 'REJECTED'}: ${confirm.reason}`);
      console.log(formatOffload(r.offload as OffloadStatus));
    }
    return confirm && !confirm.accepted ? 1 : 0;
  },
};
