/**
 * GNSS end to end: a real gpsd (started by gpsfake from Debian's gpsd-clients) replays
 * test/fixtures/walk.nmea — a walk north with no fix from 12:00:23 to 12:00:32 — to the real
 * agent during a shift; gpsd is then stopped (gpsfake and its gpsd ended) and comes back (a
 * second gpsfake).
 * Checked: the journal's `location` records are the log's positions at most once per interval,
 * the fix loss and the receiver's loss and return are journaled, recording never stops, heartbeats
 * through a real mosquitto carry the position, the verifier lists the track and the HTML report
 * draws it (pixels in headless Chromium). The sim backend's scripted track shows in `bodycam
 * status` and heartbeats.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { REPO, startAgent, shiftJournal, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startMosquitto, freePort, type Broker } from '../helpers/mosquitto.js';
import { Observer, agentConfig, lightBoard } from '../mqtt/fixtures.js';
import { bodycam } from '../integrity/tamper.js';
import { countColour, decodePng } from '../integrity/png.js';
import { PALETTE } from '../../agent/evidence/report-timeline.js';
import type { JournalRecord } from '../../agent/evidence/journal.js';

const WALK = join(REPO, 'test/fixtures/walk.nmea');
const INTERVAL_S = 2;

let root: string;
let broker: Broker;
let browser: Browser;
const agents: AgentProc[] = [];
const feeders: ChildProcess[] = [];
const observers: Observer[] = [];

/** Index of the last element matching, or -1. */
const lastIndex = <T>(xs: readonly T[], pred: (x: T) => boolean): number => {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i]!)) return i;
  return -1;
};

/** The log's position per fix time (RMC with status A), from the NMEA itself. */
function walkFixes(): Map<string, { lat: number; lon: number }> {
  const out = new Map<string, { lat: number; lon: number }>();
  for (const l of readFileSync(WALK, 'utf8').split('\n')) {
    const f = l.split('*')[0]!.split(',');
    if (f[0] !== '$GPRMC' || f[2] !== 'A') continue;
    const deg = (v: string, w: number): number => Number(v.slice(0, w)) + Number(v.slice(w)) / 60;
    const t = f[1]!;
    const d = f[9]!;
    const iso = `20${d.slice(4, 6)}-${d.slice(2, 4)}-${d.slice(0, 2)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4, 6)}.000Z`;
    out.set(iso, { lat: deg(f[3]!, 2), lon: deg(f[5]!, 3) });
  }
  return out;
}

/**
 * gpsfake starts its own gpsd on `port` and feeds it the log once (3 sentences a fix, 0.1 s
 * apart). It is its own process group (gpsd runs beneath it): `stop` ends both, as a gpsd
 * stopped on a device would.
 */
function gpsfake(port: number): { stop: () => Promise<void> } {
  const child = spawn('gpsfake', ['-1', '-q', '-P', String(port), '-c', '0.1', WALK], { stdio: 'ignore', detached: true });
  feeders.push(child);
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    stop: async () => {
      if (child.exitCode !== null || !child.pid) return;
      process.kill(-child.pid, 'SIGTERM');
      // gpsfake can hang on its dead gpsd instead of exiting: the group is then killed.
      const t = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}

function provision(dataDir: string, deviceId: string): string {
  const r = bodycam(['provision', '--data-dir', dataDir, '--device-id', deviceId]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

function boardWith(gnss: Record<string, unknown>, name: string): string {
  const path = lightBoard(root);
  const b = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  b.gnss = gnss;
  const out = join(root, `${name}.json`);
  writeFileSync(out, JSON.stringify(b));
  return out;
}

const until = async (pred: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bodycam-gnss-'));
  broker = await startMosquitto(join(root, 'broker'));
  browser = await launchChromium();
});

after(async () => {
  for (const f of feeders) {
    try {
      if (f.exitCode === null && f.pid) process.kill(-f.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const o of observers) o.end();
  for (const a of agents) {
    await a.stop().catch(() => undefined);
    rmSync(a.dataDir, { recursive: true, force: true });
    rmSync(`${a.dataDir}-config.json`, { force: true });
  }
  await browser?.close();
  await broker?.stop();
  rmSync(root, { recursive: true, force: true });
});

void test('gpsd via gpsfake: location records are the log’s fixes at most once per interval, fix loss and gpsd stop/restart journaled, recording uninterrupted, heartbeats carry the position, verifier lists the track, HTML draws it', { timeout: 150_000 }, async () => {
  const port = await freePort();
  const deviceId = `cam-gnss-${randomBytes(2).toString('hex')}`;
  const dataDir = tempDataDir('bodycam-gnss-');
  const pub = provision(dataDir, deviceId);
  const obs = await Observer.start(broker, deviceId);
  observers.push(obs);
  const a = await startAgent({
    dataDir,
    // Reconnect attempts at most 0.5 s apart, so the agent is watching before much of the log is fed.
    board: boardWith({ backend: 'gpsd', port, reconnectMaxMs: 500 }, 'gpsd'),
    config: agentConfig(broker, deviceId, { policy: { locationIntervalS: INTERVAL_S, locationMinMoveM: 1, heartbeatOnDutyS: 1 } }),
  });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  const { shiftId } = await a.waitFor((s) => s.state === 'RECORDING', 20_000, 'RECORDING');
  const journal = (): JournalRecord[] => shiftJournal(dataDir, shiftId!);
  const locations = (): JournalRecord[] => journal().filter((r) => r.type === 'location');

  // First gpsd: the whole walk, then gpsd is stopped.
  const first = gpsfake(port);
  await obs.waitFor(() => obs.heartbeats().find((h) => h.location && h.location.fix === '3d'), 30_000, 'a heartbeat with a 3d fix');
  await a.waitFor((s) => (s.ext.location as { fixTime?: string } | undefined)?.fixTime === '2026-03-14T12:00:47.000Z', 40_000, 'the log’s last fix');
  await first.stop();
  // The shift began before gpsd was up: its first record already says receiver_lost. This is the next one.
  await until(() => locations().filter((r) => r.cause === 'receiver_lost').length >= 2, 15_000, 'location record: receiver_lost');
  // gpsd back: the agent reconnects by itself (shared backoff) and journals the return.
  const second = gpsfake(port);
  await until(() => {
    const l = locations();
    const lost = lastIndex(l, (r) => r.cause === 'receiver_lost');
    return lost > 0 && l.slice(lost + 1).some((r) => r.fix === '3d');
  }, 30_000, 'a 3d fix after gpsd came back');
  await second.stop();

  const st = await a.status();
  assert.equal(st.state, 'RECORDING', 'recording went on through the GNSS losses');
  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'OFF_DUTY');
  await a.stop();

  const recs = journal();
  const locs = recs.filter((r) => r.type === 'location');
  const log = walkFixes();
  // Every journaled position is the log's position at the fix time it names: nothing invented.
  for (const r of locs.filter((x) => x.fix !== 'none')) {
    // gpsd may report a position before the sentence with the date (RMC) of that second: no
    // fix time then, and the position must still be one of the log's.
    const want = r.fix_time === null ? [...log.values()].find((p) => Math.abs(p.lat - Number(r.lat)) < 1e-6) : log.get(String(r.fix_time));
    assert.ok(want, `location at ${r.at} names fix time ${String(r.fix_time)} / ${String(r.lat)}, which the log has no fix for`);
    assert.ok(Math.abs(Number(r.lat) - want.lat) < 1e-6 && Math.abs(Number(r.lon) - want.lon) < 1e-6, `location ${r.lat},${r.lon} ≠ log ${want.lat},${want.lon} at ${String(r.fix_time)}`);
  }
  // At most one record per interval while moving (decided on the monotonic clock; `at` is wall).
  for (let i = 1; i < locs.length; i++) {
    if (locs[i]!.why !== 'moved') continue;
    const dt = Date.parse(locs[i]!.at) - Date.parse(locs[i - 1]!.at);
    assert.ok(dt >= INTERVAL_S * 1000 - 50, `moved records ${dt} ms apart, policy interval ${INTERVAL_S} s`);
  }
  // The walk's own fix loss: positions before it, `none` (receiver there, no fix) in it, positions after.
  const noFix = locs.findIndex((r) => r.fix === 'none' && r.cause === 'no_fix');
  assert.ok(noFix > 0, `no no_fix record: ${JSON.stringify(locs.map((r) => [r.fix, r.cause, r.fix_time]))}`);
  // Positions, 2d or 3d: gpsfake replays the log at ~3x, so the 5 s a 2d→3d flip must hold before
  // it is journaled is ~15 s of the log's walk.
  assert.ok(locs.slice(0, noFix).filter((r) => r.fix === '3d' || r.fix === '2d').length >= 2, 'at least two positions before the loss');
  const lastTimed = locs.slice(0, noFix).filter((r) => typeof r.fix_time === 'string').pop()!;
  assert.ok(String(lastTimed.fix_time) < '2026-03-14T12:00:23', 'the last position before the loss is before the log’s loss');
  const back = locs.slice(noFix + 1).find((r) => r.fix === '3d')!;
  assert.equal(back.why, 'fix_change');
  assert.ok(String(back.fix_time) >= '2026-03-14T12:00:33', `fix back at ${String(back.fix_time)}, the log’s loss ends at 12:00:33`);
  assert.equal(locs[0]!.cause, 'receiver_lost', 'the shift opened before gpsd was up: journaled as such');
  // gpsd stopped after the walk, then back (and stopped again at the end of the test).
  const lost = locs.findIndex((r, i) => i > noFix && r.cause === 'receiver_lost');
  assert.ok(lost > noFix && locs.slice(lost + 1).some((r) => r.fix === '3d' && r.why === 'fix_change'), `gpsd loss and return journaled: ${JSON.stringify(locs.map((r) => [r.fix, r.cause]))}`);

  // Recording never stopped: one encoder run, no gap after its start, every segment names a fix.
  const segs = recs.filter((r) => r.type === 'segment');
  assert.ok(segs.length >= 10);
  assert.deepEqual([...new Set(segs.map((s) => s.run))], [1], 'one encoder run for the whole shift');
  // The run's start, and — on a loaded machine — the frames a lagging encoder had not delivered when
  // the shift ended (`encoder_stop`, at the end) are the only gaps: nothing interrupted the run.
  const gaps = recs.filter((r) => r.type === 'gap');
  assert.deepEqual(gaps.map((g) => g.cause).filter((c) => c !== 'encoder_start' && c !== 'encoder_stop'), []);
  for (const g of gaps.filter((x) => x.cause === 'encoder_stop')) assert.ok(Date.parse(String(g.start)) >= Date.parse(String(segs.at(-1)!.end)) - 1, 'an encoder_stop gap only after the last frame');
  assert.ok(segs.every((s) => 'location' in s && typeof s.clock === 'object'), 'every segment has location and clock provenance');

  // Heartbeats carried the walk's position.
  const hb = obs.heartbeats().filter((h) => h.location && h.location.fix === '3d');
  assert.ok(hb.length > 0);
  assert.ok(hb.every((h) => Math.abs((h.location?.lat ?? 0) - 52.52) < 0.001 && Math.abs((h.location?.lon ?? 0) - 13.405) < 1e-6 && (h.location?.ageS ?? -1) >= 0));

  // The verifier: intact, fully covered, the track listed (JSON and text).
  const shiftDir = join(dataDir, 'shifts', shiftId!);
  const v = bodycam(['verify', shiftDir, '--pubkey', pub, '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = v.json as unknown as { totals: { uncoveredS: number }; track: Array<{ fix: string; lat: number | null; line: number }> };
  assert.equal(report.totals.uncoveredS, 0);
  assert.equal(report.track.length, locs.length);
  assert.deepEqual(report.track.map((p) => p.fix), locs.map((r) => r.fix));
  const text = bodycam(['verify', shiftDir, '--pubkey', pub]);
  assert.match(text.stdout, new RegExp(`track: ${locs.filter((r) => r.fix !== 'none').length} position\\(s\\), ${locs.filter((r) => r.fix === 'none').length} without fix`));

  // The HTML report draws the track: the polyline's colour inside #track, nothing loaded from outside.
  const htmlPath = join(root, 'gnss.html');
  assert.equal(bodycam(['verify', shiftDir, '--pubkey', pub, '--html', htmlPath]).code, 0);
  const page = await browser.newPage({ viewport: { width: 1200, height: 1400 }, deviceScaleFactor: 1 });
  const external: string[] = [];
  await page.route('**/*', (route) => (route.request().url().startsWith('file://') ? route.continue() : (external.push(route.request().url()), route.abort())));
  await page.goto(`file://${htmlPath}`);
  const box = (await page.locator('#track svg').boundingBox())!;
  const png = await page.screenshot({ fullPage: true });
  // Kept for a person to look at (as the integrity stage keeps its report screenshots).
  mkdirSync(join(REPO, '.cache', 'gnss-html'), { recursive: true });
  writeFileSync(join(REPO, '.cache', 'gnss-html', 'track.png'), png);
  const img = decodePng(png);
  await page.close();
  assert.deepEqual(external, []);
  const inTrack = countColour(img, PALETTE.track, { x0: Math.floor(box.x), y0: Math.floor(box.y), x1: Math.ceil(box.x + box.width), y1: Math.ceil(box.y + box.height) });
  assert.ok(inTrack > 500, `track polyline pixels: ${inTrack}`);
  assert.ok(countColour(img, PALETTE.trackLost) > 20, 'where the fix was lost is marked');
});

void test('sim backend: the scripted track is in bodycam status and in heartbeats, and a fix switched off is journaled as none', { timeout: 90_000 }, async () => {
  const deviceId = `cam-gnss-sim-${randomBytes(2).toString('hex')}`;
  const obs = await Observer.start(broker, deviceId);
  observers.push(obs);
  const a = await startAgent({ board: boardWith({ backend: 'sim' }, 'sim-gnss'), config: agentConfig(broker, deviceId, { policy: { heartbeatOnDutyS: 1, heartbeatOffDutyS: 1 } }) });
  agents.push(a);
  const s = await a.waitFor((x) => (x.ext.location as { fix?: string } | undefined)?.fix === '3d', 20_000, 'a sim fix in status');
  const loc = s.ext.location as { lat: number; lon: number; backend: string; satellites: number };
  assert.equal(loc.backend, 'sim');
  // The default track walks a block from 52.52, 13.405 (hal/sim/sim-world.ts).
  assert.ok(Math.abs(loc.lat - 52.5202) < 0.0003 && Math.abs(loc.lon - 13.4053) < 0.0004, `${loc.lat},${loc.lon}`);
  const cli = await import('../helpers/agent.js').then((m) => m.runCli(['status', '--data-dir', a.dataDir]));
  assert.match(cli.stdout, /location/i);
  const hb = await obs.waitFor(() => obs.heartbeats().find((h) => h.location && h.location.fix === '3d'), 20_000, 'a heartbeat with the sim position');
  assert.ok(Math.abs((hb.location?.lat ?? 0) - 52.5202) < 0.0003);
  await a.press('shift', { holdS: 2.1 });
  const { shiftId } = await a.waitFor((x) => x.state === 'RECORDING', 20_000, 'RECORDING');
  await a.sim({ gnssFix: false });
  await until(() => shiftJournal(a.dataDir, shiftId!).some((r) => r.type === 'location' && r.fix === 'none' && r.cause === 'no_fix'), 10_000, 'no_fix record');
  const recs = shiftJournal(a.dataDir, shiftId!).filter((r) => r.type === 'location');
  assert.equal(recs[0]!.why, 'first');
  assert.equal(recs[0]!.fix, '3d');
  await a.stop();
});
