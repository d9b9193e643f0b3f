/**
 * `bodycam status [--json]`: the running agent's state through its control socket. `--json` is the
 * StatusSnapshot as it is; the text is for a person: one labelled line per subject, every
 * extension section in words (no JSON), one clock line (the source heartbeats carry, the
 * daemon behind it in parentheses) instead of the two clock reports the snapshot holds.
 */
import type { Command } from '../command.js';
import { parseArgs, dataDirFrom, DATA_DIR_FLAG } from '../args.js';
import { UsageError, BodycamError } from '../../lib/errors.js';
import { controlRequest } from '../../control/client.js';
import type { StatusSnapshot } from '../../status.js';
import type { OffloadStatus } from '../../offload/extension.js';
import type { LiveOffloadStatus } from '../../offload/types.js';
import type { DutyStatus } from '../../duty/controller.js';

const FLAGS = { ...DATA_DIR_FLAG, json: { type: 'boolean', help: 'print the status as JSON' } } as const;

function fmtBytes(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

function fmtDuration(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** An ISO time as the UTC clock time a person reads (the date only when it is not today's). */
function fmtTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const day = t.toISOString().slice(0, 10);
  const clock = t.toISOString().slice(11, 19);
  return day === new Date(now).toISOString().slice(0, 10) ? `${clock} UTC` : `${day} ${clock} UTC`;
}

const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const PAUSE_WORDS: Record<string, string> = { PERSONAL_NEEDS: 'personal needs', SENSITIVE_SITE: 'sensitive site' };

/** One line: the source heartbeats report (ext.clock, else the sysfs report), the daemon in parentheses, RTC, problems. */
function clockLine(s: StatusSnapshot): string {
  const wire = obj(s.ext.clock);
  const sys = obj(obj(s.ext.power)?.clock);
  const source = str(wire?.source) ?? str(sys?.source) ?? 'unknown';
  const synced = typeof wire?.synced === 'boolean' ? wire.synced : undefined;
  const daemon = str(wire?.daemon);
  const parts = [`${source}${synced === undefined ? '' : synced ? ', synced' : ', not synced'}${daemon && daemon !== source ? ` (${daemon})` : ''}`];
  const offset = num(wire?.offsetS);
  if (offset !== undefined) parts.push(`offset ${offset} s`);
  const rtc = obj(wire?.rtc) ?? obj(sys?.rtc);
  if (rtc && rtc.present !== false) parts.push(`RTC ${str(rtc.device) ?? ''}${num(rtc.driftS) !== undefined ? ` drift ${String(rtc.driftS)} s` : ''}`.trim());
  else parts.push('no RTC');
  const problems = Array.isArray(sys?.problems) ? (sys.problems as unknown[]).map(String) : [];
  if (problems.length) parts.push(`PROBLEM: ${problems.join('; ')}`);
  return parts.join('; ');
}

function wearerOf(w: unknown): string | undefined {
  const o = obj(w);
  return o ? `${str(o.name) ?? '?'} (${str(o.id) ?? '?'})` : undefined;
}

function dutyLine(d: DutyStatus): string {
  const parts = [d.startTrigger ? `started by ${d.startTrigger}` : 'no shift started by duty'];
  if (d.scheduledStart || d.scheduledEnd) parts.push(`scheduled ${fmtTime(d.scheduledStart)} – ${fmtTime(d.scheduledEnd)}`);
  const t = d.triggers;
  parts.push(`triggers: dock start ${t.dockStart ? 'on' : 'off'}, dock end ${t.dockEnd ? 'on' : 'off'}, central ${t.central ? 'on' : 'off'}`);
  if (d.batteryShort) parts.push('battery short of the expected shift');
  return parts.join('; ');
}

function locationLine(l: Record<string, unknown>): string {
  const fix = str(l.fix) ?? 'none';
  const sats = num(l.satellites) !== undefined ? `, ${String(l.satellites)}${num(l.satellitesVisible) !== undefined ? `/${String(l.satellitesVisible)}` : ''} satellites` : '';
  const via = `${str(l.backend) ?? '?'}${l.connected === false ? ', receiver not connected' : ''}`;
  if (fix === 'none' || num(l.lat) === undefined || num(l.lon) === undefined) return `no fix${sats} (${via})`;
  const acc = num(l.accuracyM) !== undefined ? ` ±${String(l.accuracyM)} m` : '';
  const age = num(l.ageS) !== undefined ? `, ${String(l.ageS)} s old` : '';
  return `${fix} fix ${(l.lat as number).toFixed(5)}, ${(l.lon as number).toFixed(5)}${acc}${sats}${age} (${via})`;
}

function offloadLine(o: OffloadStatus): string {
  const parts = [`${o.state}${o.reason ? ` (${o.reason})` : ''}`, `${o.pendingShifts} shift(s) pending, ${fmtBytes(o.pendingBytes)}`];
  if (o.current) {
    const c = o.current;
    parts.push(`uploading ${c.shiftId} ${c.bytesTotal ? Math.floor((c.bytesDone / c.bytesTotal) * 100) : 0}%`);
  }
  if (o.awaitingConfirmation.length) parts.push(`${o.awaitingConfirmation.length} awaiting central's confirmation`);
  if (o.lastError) parts.push(`last error: ${o.lastError}`);
  return parts.join('; ') + " (details: 'bodycam offload')";
}

/** Sections shown in words above (or folded into another line); anything else gets a generic line. */
/** Live offload of the recording shift: state, lag against its target, backlog, what is stored through when. */
function liveLine(l: LiveOffloadStatus): string {
  const parts = [`${l.state}${l.reason ? ` (${l.reason})` : ''}`, `lag ${l.lagS} s (target ${l.lagTargetS} s)`, `backlog ${l.backlogSegments} segment(s), ${fmtBytes(l.backlogBytes)}`];
  parts.push(`uploaded through ${l.uploadedThrough ?? '-'}`);
  if (l.journalUploadedThroughLine !== null) parts.push(`journal through line ${l.journalUploadedThroughLine} (signed ${l.journalUploadedThrough ?? '-'})`);
  return parts.join('; ');
}

const SHOWN = new Set(['power', 'clock', 'duty', 'location', 'latency', 'encoder', 'storageGuard', 'transition', 'obstruction', 'offload', 'telemetry', 'commands']);

/** A section no formatter knows yet: flat `key value` words, nested values summarised, never raw JSON. */
function genericLine(sec: Record<string, unknown>): string {
  return Object.entries(sec)
    .map(([k, v]) => `${k} ${v === null ? '-' : Array.isArray(v) ? `${v.length} item(s)` : typeof v === 'object' ? `{${Object.keys(v).join(', ')}}` : String(v)}`)
    .join(', ');
}

export function formatStatus(s: StatusSnapshot): string {
  const ext = s.ext;
  const power = obj(ext.power);
  const transition = obj(ext.transition);
  const owed = num(transition?.owedEffects) ?? 0;
  const duty = obj(ext.duty) as DutyStatus | undefined;
  const rows: Array<[string, string]> = [
    ['device', `${s.deviceId} (board ${s.board}, firmware ${s.firmware}, agent up ${fmtDuration(s.uptimeS)})`],
    ['state', s.state + (owed ? ` (${owed} effect(s) of the last transition still owed, retrying)` : '')],
    ['shift', s.shiftId ? `${s.shiftId}${s.shiftStartedAt ? `, started ${fmtTime(s.shiftStartedAt)}` : ''}` : '-'],
    ['pause', s.pauseReason ? `${PAUSE_WORDS[s.pauseReason] ?? s.pauseReason}, ${s.pauseLeftS ?? '?'} s left` : '-'],
  ];
  if (s.pauseUse) {
    const u = s.pauseUse;
    const per = Object.entries(u.reasons).map(([k, v]) => `${k} ${v.pauses}/${v.maxPauses} (${v.pausedS}s${v.refused ? `, ${v.refused} refused` : ''})`);
    rows.push(['pause budget', `${per.join(', ')}; paused ${u.pausedS}s of ${u.maxPausedS}s`]);
  }
  if (duty) {
    const next = wearerOf(duty.nextWearer);
    rows.push(['wearer', `${wearerOf(duty.wearer) ?? 'none assigned'}${next ? `; next: ${next}` : ''}`]);
    rows.push(['duty', dutyLine(duty)]);
  }
  rows.push(
    ['segments', `${s.segments} (${fmtBytes(s.bytes)}, ${s.mediaS}s of media)`],
    ['last segment', fmtTime(s.lastSegmentAt)],
    ['encoder', `${s.encoderRunning ? 'running' : 'stopped'}, ${s.fps} fps, ${s.droppedFrames} dropped, ${s.encoderRestarts} restarts${s.degradeLevel ? `, degraded level ${s.degradeLevel}` : ''}`],
    ['battery', s.battery ? `${s.battery.percent}% ${s.battery.voltageV.toFixed(2)} V${s.battery.charging ? ' charging' : ''}${s.battery.runtimeMin != null ? `, ~${s.battery.runtimeMin} min left` : ''}${str(obj(power?.battery)?.level) && obj(power?.battery)?.level !== 'ok' ? `, ${String(obj(power?.battery)?.level)}` : ''}` : '-'],
    ['temperature', s.temperatureC != null ? `${s.temperatureC} °C${num(power?.thermalLevel) ? `, thermal level ${String(power?.thermalLevel)}` : ''}` : '-'],
    ['storage', s.storage ? `${fmtBytes(s.storage.freeBytes)} free of ${fmtBytes(s.storage.totalBytes)}${num(obj(ext.storageGuard)?.episodes) ? `; ${String(obj(ext.storageGuard)?.episodes)} storage-full episode(s)` : ''}` : '-'],
    ['docked', s.docked == null ? '-' : s.docked ? 'yes' : 'no'],
    ['clock', clockLine(s)],
  );
  const loc = obj(ext.location);
  if (loc) rows.push(['location', locationLine(loc)]);
  const ob = obj(ext.obstruction);
  if (ob) {
    const active = Array.isArray(ob.active) ? (ob.active as Array<Record<string, unknown>>) : [];
    const now = active.length ? active.map((a) => `${String(a.kind)} since ${fmtTime(str(a.since))}`).join(', ') : ob.detecting ? 'none (detecting)' : 'not detecting';
    rows.push(['obstruction', `${now}; ${String(ob.intervals ?? 0)} interval(s) this shift`]);
  }
  rows.push(
    ['outputs', Object.entries(s.outputs).map(([k, v]) => `${k} ${v ? 'on' : 'off'}`).join(', ')],
    ['faults', Object.keys(s.faults).length ? Object.entries(s.faults).map(([k, v]) => `${k}: ${v}`).join('; ') : 'none'],
  );
  const wd = obj(power?.watchdog);
  if (wd && Array.isArray(wd.kinds) && wd.kinds.length) rows.push(['watchdog', `${(wd.kinds as unknown[]).join(', ')}: ${wd.petting ? 'petted' : 'NOT petted (recording stalled)'}`]);
  const tel = obj(ext.telemetry);
  if (tel) {
    rows.push(['telemetry', `${tel.connected ? 'connected' : 'not connected'}; outbox ${String(tel.outboxDepth ?? 0)} event(s)${num(tel.outboxDropped) ? `, ${String(tel.outboxDropped)} dropped` : ''}; ${String(tel.heartbeats ?? 0)} heartbeat(s) sent${str(tel.lastError) ? `; last error: ${String(tel.lastError)}` : ''}`]);
  }
  const cmds = obj(ext.commands);
  if (cmds) rows.push(['commands', `${String(cmds.accepted ?? 0)} accepted, ${String(cmds.refused ?? 0)} refused`]);
  if (ext.offload) rows.push(['offload', offloadLine(ext.offload as unknown as OffloadStatus)]);
  const live = (ext.offload as unknown as OffloadStatus | undefined)?.live;
  if (live) rows.push(['live offload', liveLine(live)]);
  for (const [name, sec] of Object.entries(ext)) if (!SHOWN.has(name)) rows.push([name, genericLine(sec)]);
  rows.push(['journal head', s.journalHead ?? '-']);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

export const statusCommand: Command = {
  name: 'status',
  summary: "show the running agent's state",
  usage: `usage: bodycam status [--json] [--data-dir DIR]

One labelled line per subject: state, shift, pause, wearer, duty, recording, battery, storage,
clock, location, obstruction, faults, telemetry, offload, live offload. Times are UTC. --json prints the full
status snapshot (what heartbeats are built from).`,
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
