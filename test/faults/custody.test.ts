/**
 * Custody mode (policy `custody` 1, `profiles/custody.json`) with the real agent on the sim board:
 * duty starts when the agent starts, with no gesture; a pause press (single and double) and the
 * end-of-shift hold + confirm are refused and journaled as refusals; SIGKILL of the agent's own
 * node process and a restart resume the same shift at once, with the interval journaled as a gap.
 * With 10-s periods (docs/custody-periods.md): a SIGKILL mid-period resumes the same period with
 * the gap journaled in it, rotations go on from its rotation instant, and `bodycam verify` over
 * the periods is one chain — two period dirs swapped, and another camera's period among them, are
 * named findings; a state file saved just before a rotation resumes the period that continues the
 * one it names. Confirmations that never come (a store nobody reaches) on a 96-MiB disk filled
 * below the board's minimum: the `unconfirmed_backlog` fault is raised and journaled, recording
 * goes on, no closed period is deleted; with space back, periods waiting two periods keep it raised.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startAgent, shiftJournal, cleanup, tempDataDir, runCli, REPO, type AgentProc } from '../helpers/agent.js';
import { chainProblem } from '../helpers/media.js';
import { mountTmpfs, fillLeaving, derivedBoard, type Mounted } from '../helpers/fs-limits.js';
import type { JournalRecord } from '../../agent/evidence/journal.js';
import type { PeriodsReport } from '../../agent/evidence/verify/periods.js';
import type { CustodyStatus } from '../../agent/shift/custody-status.js';

const agents: AgentProc[] = [];
const dirs: string[] = [];
const mounts: Mounted[] = [];
after(async () => {
  for (const a of agents) await a.stop();
  for (const d of dirs) cleanup(d);
  for (const m of mounts) m.umount();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CUSTODY = join(REPO, 'profiles/custody.json');

/** Polls the shift's journal until `pred` holds for some record. */
async function journaled(dataDir: string, shiftId: string, pred: (r: JournalRecord) => boolean, what: string, timeoutMs = 20_000): Promise<JournalRecord> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const r = shiftJournal(dataDir, shiftId).find(pred);
    if (r) return r;
    await sleep(100);
  }
  throw new Error(`not journaled within ${timeoutMs} ms: ${what}`);
}

test('custody profile: duty starts with the agent; pause presses and the shift-end hold are refused and journaled; the shift goes on', { timeout: 180_000 }, async () => {
  assert.equal((JSON.parse(readFileSync(CUSTODY, 'utf8')) as { policy: { custody: number } }).policy.custody, 1);
  const dataDir = tempDataDir();
  dirs.push(dataDir);
  const a = await startAgent({ dataDir, config: CUSTODY });
  agents.push(a);
  const s0 = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 40_000, 'duty on by itself');
  const shiftId = s0.shiftId!;
  const start = shiftJournal(dataDir, shiftId).find((r) => r.type === 'shift_start');
  assert.equal(start?.trigger, 'custody', 'the agent started duty itself');

  await a.press('privacy');
  const single = await journaled(dataDir, shiftId, (r) => r.type === 'gesture' && r.gesture === 'privacy_single', 'privacy_single');
  assert.equal(single.outcome, 'refused_custody_no_pauses');
  assert.equal(single.feedback, 'refused');
  await sleep(1500); // past the double-press window and the pause-budget spacing
  await a.press('privacy', { count: 2 });
  const double = await journaled(dataDir, shiftId, (r) => r.type === 'gesture' && r.gesture === 'privacy_double', 'privacy_double');
  assert.equal(double.outcome, 'refused_custody_no_pauses');

  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  const hold = await journaled(dataDir, shiftId, (r) => r.type === 'gesture' && r.gesture === 'shift_hold', 'shift_hold');
  assert.equal(hold.outcome, 'refused_custody_duty_never_ends');
  const press = await journaled(dataDir, shiftId, (r) => r.type === 'gesture' && r.gesture === 'shift_press', 'shift_press');
  assert.equal(press.outcome, 'ignored_no_end_armed', 'the confirm press finds nothing armed');

  const s1 = await a.waitFor((s) => s.segments >= s0.segments + 3, 30_000, 'still recording');
  assert.equal(s1.state, 'RECORDING');
  assert.equal(s1.shiftId, shiftId);
  const j = shiftJournal(dataDir, shiftId);
  for (const t of ['pause', 'shift_end']) assert.equal(j.filter((r) => r.type === t).length, 0, `no ${t} record`);
  assert.equal(chainProblem(join(dataDir, 'shifts', shiftId, 'journal.jsonl')), undefined);
});

test('custody profile: SIGKILL of the agent and a restart resume the same shift at once, with the interval journaled as a gap', { timeout: 180_000 }, async () => {
  const dataDir = tempDataDir();
  dirs.push(dataDir);
  const p = await runCli(['provision', '--data-dir', dataDir]);
  assert.equal(p.code, 0, p.stderr);
  const a = await startAgent({ dataDir, config: CUSTODY });
  const s0 = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 3, 40_000, 'recording');
  const shiftId = s0.shiftId!;
  await sleep(700); // mid-segment
  assert.equal(a.child.pid, a.pid);
  await a.kill('SIGKILL'); // the agent's own node process (spawned as process.execPath), no wrapper
  const killedAt = Date.now();

  const b = await startAgent({ dataDir, config: CUSTODY });
  agents.push(b);
  const s1 = await b.status();
  assert.equal(s1.shiftId, shiftId, 'the same shift');
  assert.ok(s1.state === 'RECORDING' || s1.state === 'FAULT', `on duty at once (${s1.state})`);
  await b.waitFor((s) => s.segments >= s0.segments + 3, 40_000, 'recording after the restart');
  const j = shiftJournal(dataDir, shiftId);
  assert.equal(j.filter((r) => r.type === 'shift_start').length, 1, 'one shift, resumed — not a second one');
  const gaps = j.filter((r) => r.type === 'gap' && Date.parse(String(r.end)) > killedAt - 2000);
  assert.ok(gaps.length >= 1, `a gap covers the restart: ${JSON.stringify(j.filter((r) => r.type === 'gap'))}`);
  assert.ok(gaps.some((g) => g.cause === 'agent_restart' || g.cause === 'power_loss'), `its cause says the agent went away: ${JSON.stringify(gaps)}`);
  assert.equal(chainProblem(join(dataDir, 'shifts', shiftId, 'journal.jsonl')), undefined);
  // Stopped cleanly (the shift stays open: custody duty is suspended, not ended), the open shift
  // verifies with no tampering and no uncovered time — only "not ended yet".
  assert.equal(await b.stop(), 0);
  assert.equal(shiftJournal(dataDir, shiftId).filter((r) => r.type === 'shift_end').length, 0, 'stopping the agent does not end custody duty');
  const v = await runCli(['verify', join(dataDir, 'shifts', shiftId), '--pubkey', join(dataDir, 'identity', 'device.pub.pem'), '--json']);
  const report = JSON.parse(v.stdout) as { findings: { kind: string }[] };
  const kinds = report.findings.map((f) => f.kind).filter((k) => k !== 'no_shift_end' && k !== 'unsigned_tail');
  assert.deepEqual(kinds, [], v.stdout.slice(0, 2000));
});

test('custody periods: SIGKILL mid-period resumes the same period with the gap in it; rotations go on; verify over the periods is one chain; swapped period dirs and another camera\'s period are named; a state file naming the period a rotation closed resumes its successor', { timeout: 240_000 }, async () => {
  const PERIODS = { policy: { custody: 1, periodS: 10, segmentS: 2 } };
  const [dataDir, otherDir] = [tempDataDir(), tempDataDir()];
  dirs.push(dataDir, otherDir);
  for (const d of [dataDir, otherDir]) assert.equal((await runCli(['provision', '--data-dir', d])).code, 0);
  const custody = (s: { ext: Record<string, unknown> }): CustodyStatus => s.ext.custody as CustodyStatus;
  // Another camera records alongside: its first period is the foreign one below.
  const [a, other] = await Promise.all([startAgent({ dataDir, config: PERIODS }), startAgent({ dataDir: otherDir, config: PERIODS })]);
  agents.push(other);
  const s2 = await a.waitFor((s) => custody(s)?.period === 2 && s.segments >= 2, 60_000, 'period 2 recording');
  const period2 = s2.shiftId!;
  await sleep(500); // mid-segment
  await a.kill('SIGKILL'); // the agent's own node process
  const b = await startAgent({ dataDir, config: PERIODS });
  agents.push(b);
  const r = await b.waitFor((s) => s.state === 'RECORDING' && s.segments > s2.segments, 40_000, 'recording again');
  assert.ok(r.shiftId === period2 || custody(r).period === 3, `resumed in period 2 (or already rotated out of it): ${r.shiftId}`);
  await b.waitFor((s) => custody(s)?.period === 4, 60_000, 'two more rotations');
  assert.equal(await b.stop(), 0);
  await other.stop();

  const j2 = shiftJournal(dataDir, period2);
  assert.equal(j2.filter((x) => x.type === 'shift_start').length, 1, 'period 2 resumed, not reopened');
  assert.ok(j2.some((x) => x.type === 'recovery'), 'the restart is journaled in period 2');
  assert.ok(j2.some((x) => x.type === 'gap' && (x.cause === 'agent_restart' || x.cause === 'power_loss')), `the restart's gap is in period 2: ${JSON.stringify(j2.filter((x) => x.type === 'gap'))}`);
  const end2 = j2.find((x) => x.type === 'shift_end');
  assert.equal(end2?.reason, 'period_rotation', 'period 2 still closed by rotation');

  const pub = join(dataDir, 'identity', 'device.pub.pem');
  const verify = async (args: string[]): Promise<{ code: number | null; report: PeriodsReport }> => {
    const v = await runCli(['verify', ...args, '--pubkey', pub, '--json']);
    return { code: v.code, report: JSON.parse(v.stdout) as PeriodsReport };
  };
  const shifts = join(dataDir, 'shifts');
  const all = await verify([shifts]);
  assert.equal(all.code, 0, JSON.stringify(all.report.findings) + all.report.summary);
  assert.deepEqual(all.report.periods.map((p) => p.period), [1, 2, 3, 4]);
  assert.ok((all.report.totals.gapS.agent_restart ?? all.report.totals.gapS.power_loss ?? 0) > 0, 'the restart is a gap, not a hole');
  assert.equal(all.report.totals.uncoveredS, 0);
  // The multi-period HTML report: one page, every period and every boundary.
  const html = join(dataDir, '..', `${basename(dataDir)}-periods.html`);
  dirs.push(html);
  assert.equal((await runCli(['verify', shifts, '--pubkey', pub, '--html', html])).code, 0);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<header id="verdict" data-verdict="intact">/);
  assert.equal(page.match(/<tr class="" data-period="\d"/g)?.length, 4, 'four periods, each intact');
  assert.equal(page.match(/data-ok="true"/g)?.length, 3, 'three boundaries, each chained');

  // Two period dirs swapped (each holds the other's evidence).
  const ids = readdirSync(shifts).sort();
  const swapped = join(dataDir, '..', `${ids[0]!}-swapped`);
  dirs.push(swapped);
  cpSync(shifts, swapped, { recursive: true });
  renameSync(join(swapped, ids[1]!), join(swapped, 'tmp'));
  renameSync(join(swapped, ids[2]!), join(swapped, ids[1]!));
  renameSync(join(swapped, 'tmp'), join(swapped, ids[2]!));
  const sw = await verify([swapped]);
  assert.equal(sw.code, 1);
  assert.equal(sw.report.verdict, 'tampered');
  assert.deepEqual(sw.report.findings.filter((f) => f.kind === 'period_swapped').map((f) => f.where).sort(), [ids[1], ids[2]].sort(), JSON.stringify(sw.report.findings));

  // Another camera's period among this one's.
  const foreign = join(otherDir, 'shifts', readdirSync(join(otherDir, 'shifts')).sort()[0]!);
  const fo = await verify([join(shifts, ids[0]!), foreign, join(shifts, ids[1]!)]);
  assert.equal(fo.code, 1);
  assert.ok(fo.report.findings.some((f) => f.kind === 'period_foreign' && f.where === basename(foreign)), JSON.stringify(fo.report.findings));

  // A state file saved just before a rotation names the period the rotation closed: the restart
  // resumes the period that continues it (not a new duty), with its recovery journaled there.
  const statePath = join(dataDir, 'state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { shift: { shiftId: string }; clean: boolean };
  const open = state.shift.shiftId;
  assert.equal(open, ids[3], 'the stopped agent saved the open period 4');
  writeFileSync(statePath, JSON.stringify({ ...state, shift: { ...state.shift, shiftId: ids[2] }, clean: false }));
  const c = await startAgent({ dataDir, config: PERIODS });
  agents.push(c);
  await c.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 40_000, 'recording after the restart');
  assert.equal(await c.stop(), 0);
  const j4 = shiftJournal(dataDir, open);
  assert.ok(j4.filter((x) => x.type === 'recovery').length >= 1, 'the restart is journaled in period 4, which continues the one the state file named');
  assert.equal(readdirSync(shifts).filter((id) => !shiftJournal(dataDir, id)[0]?.continues).length, 1, 'no new duty: only period 1 continues nothing');
  const dj = readFileSync(join(dataDir, 'device-journal.jsonl'), 'utf8');
  assert.match(dj, /"what":"state_names_rotated_period"/);
});

test('custody periods central never confirms: a filling disk raises unconfirmed_backlog (journaled, in status) while recording goes on and no closed period is deleted; with space back it stays raised once periods wait more than two periods', { timeout: 180_000 }, async () => {
  const m = mountTmpfs(96);
  mounts.push(m);
  const dataDir = join(m.dir, 'data');
  assert.equal((await runCli(['provision', '--data-dir', dataDir])).code, 0);
  const creds = join(m.dir, 'creds.json');
  writeFileSync(creds, JSON.stringify({ accessKeyId: 'test', secretAccessKey: 'test-secret-key' }));
  // A store nobody answers at: every period stays unconfirmed. Board minimum 40 MiB free (storage_low), floor 8.
  const board = derivedBoard('sim', m.dir, { storage: { minFreeMb: 40 } });
  const config = { policy: { custody: 1, periodS: 10, segmentS: 2, storageFloorMb: 8 }, offload: { endpoint: 'http://127.0.0.1:9', region: 'default', bucket: 'evidence', credentialsFile: creds } };
  const a = await startAgent({ dataDir, board, config });
  agents.push(a);
  const custody = (s: { ext: Record<string, unknown> }): CustodyStatus => s.ext.custody as CustodyStatus;
  await a.waitFor((s) => custody(s)?.period === 2 && s.segments >= 1, 60_000, 'period 1 closed, period 2 recording');
  assert.ok(!('unconfirmed_backlog' in (await a.status()).faults), 'one period waiting a few seconds is no alarm');

  fillLeaving(m.dir, join(m.dir, 'filler.bin'), 24 * 1024 * 1024); // below 40 MiB, above the 8-MiB floor
  const raised = await a.waitFor((s) => 'unconfirmed_backlog' in s.faults, 20_000, 'unconfirmed_backlog raised');
  assert.ok('storage_low' in raised.faults, 'the storage guard sees the disk low');
  assert.match(raised.faults.unconfirmed_backlog!, /^\d+ closed periods? \(\d+ MiB\) not confirmed by central, oldest \S+ closed \S+; the disk is filling: nothing unconfirmed is deleted/);
  const fault = shiftJournal(dataDir, raised.shiftId!).find((r) => r.type === 'fault' && r.fault === 'unconfirmed_backlog');
  assert.ok(fault, 'journaled in the open period (and so sent to central as a fault event)');
  const goesOn = await a.waitFor((s) => s.segments >= raised.segments + 2 && s.state === 'RECORDING', 20_000, 'recording goes on');
  assert.ok('unconfirmed_backlog' in goesOn.faults, 'still raised while nothing is confirmed');

  rmSync(join(m.dir, 'filler.bin'));
  const stalled = await a.waitFor((s) => / no confirmation for more than 20 s \(2 periods\)$/.test(s.faults.unconfirmed_backlog ?? ''), 40_000, 'raised for stopped confirmations');
  assert.ok(!('storage_low' in stalled.faults), 'space is back');
  assert.equal(await a.stop(), 0);

  // Nothing unconfirmed was deleted: every period but the open one is closed and still has its media.
  const periods = readdirSync(join(dataDir, 'shifts')).sort();
  assert.ok(periods.length >= 3, `periods: ${periods.join(', ')}`);
  for (const id of periods) {
    const j = shiftJournal(dataDir, id);
    const sealed = j.filter((r) => r.type === 'segment').map((r) => String(r.file));
    assert.ok(sealed.length > 0 && sealed.every((f) => existsSync(join(dataDir, 'shifts', id, f))), `${id}: every sealed segment still there`);
  }
});

test('custody periods: a periodS changed mid-period (and the agent SIGKILLed and restarted on the new config) applies from the next period; the open one keeps the length its shift_start journaled', { timeout: 180_000 }, async () => {
  const dataDir = tempDataDir();
  dirs.push(dataDir);
  const custody = (s: { ext: Record<string, unknown> }): CustodyStatus => s.ext.custody as CustodyStatus;
  const a = await startAgent({ dataDir, config: { policy: { custody: 1, periodS: 10, segmentS: 2 } } });
  const s1 = await a.waitFor((s) => custody(s)?.period === 1 && s.segments >= 1, 40_000, 'period 1 recording');
  await a.kill('SIGKILL'); // the agent's own node process
  const b = await startAgent({ dataDir, config: { policy: { custody: 1, periodS: 20, segmentS: 2 } } });
  agents.push(b);
  const back = await b.waitFor((s) => s.state === 'RECORDING', 30_000, 'recording again');
  if (back.shiftId === s1.shiftId) assert.equal(custody(back).periodS, 10, 'status: the open period keeps its own length');
  const s3 = await b.waitFor((s) => custody(s)?.period === 3, 60_000, 'period 3');
  assert.equal(custody(s3).periodS, 20, 'status: a period opened after the change has the new length');
  assert.equal(await b.stop(), 0);
  const [p1, p2, p3] = readdirSync(join(dataDir, 'shifts')).sort();
  const startOf = (id: string): JournalRecord => shiftJournal(dataDir, id).find((r) => r.type === 'shift_start')!;
  assert.equal(startOf(p1!).period, 1);
  const len1 = (Date.parse(String((startOf(p2!).continues as { rotated_at: string }).rotated_at)) - Date.parse(startOf(p1!).at)) / 1000;
  const len2 = (Date.parse(String((startOf(p3!).continues as { rotated_at: string }).rotated_at)) - Date.parse(String((startOf(p2!).continues as { rotated_at: string }).rotated_at))) / 1000;
  assert.ok(len1 < 15, `period 1 kept its 10 s across the restart on the new config (${len1} s)`);
  assert.ok(len2 > 15, `period 2 has the new 20 s (${len2} s)`);
  assert.equal((startOf(p2!).policy as { periodS: number }).periodS, 20, 'period 2 journaled the new policy');
});
