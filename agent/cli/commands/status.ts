/** `bodycam status [--json]`: the running agent's state through its control socket. */
import type { Command } from '../command.js';
import { parseArgs, dataDirFrom, DATA_DIR_FLAG } from '../args.js';
import { UsageError, BodycamError } from '../../lib/errors.js';
import { controlRequest } from '../../control/client.js';
import type { StatusSnapshot } from '../../status.js';
import { formatOffload } from './offload.js';
import type { OffloadStatus } from '../../offload/extension.js';

const FLAGS = { ...DATA_DIR_FLAG, json: { type: 'boolean', help: 'print the status as JSON' } } as const;

function fmtBytes(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

export function formatStatus(s: StatusSnapshot): string {
  const rows: Array<[string, string]> = [
    ['device', `${s.deviceId} (board ${s.board}, firmware ${s.firmware})`],
    ['state', s.state + (s.pauseReason ? ` — ${s.pauseReason}, ${s.pauseLeftS}s left` : '')],
    ['shift', s.shiftId ?? '-'],
    ['segments', `${s.segments} (${fmtBytes(s.bytes)}, ${s.mediaS}s of media)`],
    ['last segment', s.lastSegmentAt ?? '-'],
    ['encoder', `${s.encoderRunning ? 'running' : 'stopped'}, ${s.fps} fps, ${s.droppedFrames} dropped, ${s.encoderRestarts} restarts${s.degradeLevel ? `, degraded level ${s.degradeLevel}` : ''}`],
    ['battery', s.battery ? `${s.battery.percent}% ${s.battery.voltageV.toFixed(2)} V${s.battery.charging ? ' charging' : ''}${s.battery.runtimeMin != null ? `, ~${s.battery.runtimeMin} min left` : ''}` : '-'],
    ['temperature', s.temperatureC != null ? `${s.temperatureC} °C` : '-'],
    ['storage', s.storage ? `${fmtBytes(s.storage.freeBytes)} free of ${fmtBytes(s.storage.totalBytes)}` : '-'],
    ['docked', s.docked == null ? '-' : s.docked ? 'yes' : 'no'],
    ['outputs', Object.entries(s.outputs).map(([k, v]) => `${k}=${v ? 'on' : 'off'}`).join(' ')],
    ['faults', Object.keys(s.faults).length ? Object.entries(s.faults).map(([k, v]) => `${k}: ${v}`).join('; ') : 'none'],
    ['journal head', s.journalHead ?? '-'],
  ];
  if (s.pauseUse) {
    const u = s.pauseUse;
    const per = Object.entries(u.reasons).map(([k, v]) => `${k} ${v.pauses}/${v.maxPauses} (${v.pausedS}s${v.refused ? `, ${v.refused} refused` : ''})`);
    rows.push(['pause budget', `${per.join(', ')}; paused ${u.pausedS}s of ${u.maxPausedS}s`]);
  }
  for (const [name, sec] of Object.entries(s.ext)) {
    if (name === 'latency' || name === 'encoder' || name === 'offload') continue;
    rows.push([name, Object.entries(sec).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ')]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  const text = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
  return s.ext.offload ? `${text}\n${formatOffload(s.ext.offload as unknown as OffloadStatus)}` : text;
}

export const statusCommand: Command = {
  name: 'status',
  summary: "show the running agent's state",
  usage: 'usage: bodycam status [--json] [--data-dir DIR]',
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'status');
    if (positionals.length) throw new UsageError(`status: unexpected argument '${positionals[0]}'`);
    const r = await controlRequest(dataDirFrom(flags['data-dir']), { op: 'status' });
    if (!r.ok) throw new BodycamError('STATE', r.error ?? 'agent refused');
    const s = r.status as StatusSnapshot;
    console.log(flags.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    return 0;
  },
};
