/**
 * The clock HAL. The chronyc parser is tested with lines captured from a real chronyd 4.3 on
 * this project's dev machine (Debian 12, `chronyd -x`, so it never touched the host clock): one
 * without sources (unsynchronised), one serving its own clock (`local stratum 8`) and one synced
 * to that one over loopback. The system backend runs against temp trees for /run and /sys, and
 * against real chronyd daemons started here with `-x` (skipped when chronyd is not installed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHRONY_LOCAL_REFID,
  SimClock,
  SystemClock,
  createClock,
  parseChronyTracking,
  sameClockState,
  wireClockSource,
  type ClockReport,
} from '../../hal/clock/index.js';
import { resolveBoard } from '../../agent/config/board.js';
import { isBodycamError } from '../../agent/lib/errors.js';

// Captured with `chronyc -h <sock> -n -c tracking` from chronyd 4.3 (see the header).
const CAPTURED_UNSYNCED = '00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,1.000000000,0.0,Not synchronised\n';
const CAPTURED_LOCAL = '7F7F0101,,8,1796027775.328911802,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,0.000000000,0.000000000,0.0,Normal\n';
// The text form of this same report said "System time : 0.000001319 seconds fast of NTP time".
const CAPTURED_SYNCED = '7F000001,127.0.0.1,9,1796027790.679796951,-0.000001319,-0.000000003,0.000000018,0.013,0.000,0.098,0.000005598,0.000001180,0.1,Normal\n';

const NO_CHRONYC = '/nonexistent/chronyc';
const HAVE_CHRONYD = spawnSync('chronyd', ['-v']).status === 0;

function tree(): string {
  return mkdtempSync(join(tmpdir(), 'hal-clock-'));
}
function put(root: string, rel: string, text = ''): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}

void describe('chronyc tracking parser', () => {
  void test('a chronyd without sources reports not synced, stratum 0', () => {
    const t = parseChronyTracking(CAPTURED_UNSYNCED);
    assert.deepEqual(t, { refId: '00000000', refName: '', stratum: 0, offsetS: 0, leap: 'Not synchronised', synced: false });
  });
  void test('a chronyd synced to a server reports synced, its stratum, and a system clock 1.319 µs fast as a positive offset', () => {
    const t = parseChronyTracking(CAPTURED_SYNCED);
    assert.deepEqual(t, { refId: '7F000001', refName: '127.0.0.1', stratum: 9, offsetS: 0.000001319, leap: 'Normal', synced: true });
  });
  void test('a chronyd serving only its own clock (local reference, leap Normal) is not synced', () => {
    const t = parseChronyTracking(CAPTURED_LOCAL);
    assert.equal(t?.refId, CHRONY_LOCAL_REFID);
    assert.equal(t?.leap, 'Normal');
    assert.equal(t?.synced, false);
  });
  void test('a pending leap second still counts as synced', () => {
    assert.equal(parseChronyTracking(CAPTURED_SYNCED.replace('Normal', 'Insert second'))?.synced, true);
  });
  void test('empty output, the text report, an error line, a short line, two lines and a bad number are rejected', () => {
    for (const bad of [
      '',
      'Reference ID    : 7F000001 (127.0.0.1)\nStratum         : 9\n',
      '506 Cannot talk to daemon\n',
      '7F000001,127.0.0.1,9,1796027790.679796951,-0.000001319,Normal\n',
      CAPTURED_SYNCED + CAPTURED_SYNCED,
      CAPTURED_SYNCED.replace('-0.000001319', 'abc'),
      CAPTURED_SYNCED.replace(',9,', ',x,'),
      CAPTURED_SYNCED.replace('Normal', 'Whatever'),
    ]) {
      assert.equal(parseChronyTracking(bad), undefined, JSON.stringify(bad));
    }
  });
});

void describe('system backend on temp trees', () => {
  const roots: string[] = [];
  const mk = (): string => {
    const r = tree();
    roots.push(r);
    return r;
  };
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  const NOW = Date.UTC(2026, 5, 1, 12, 0, 0, 400);
  const clock = (root: string): SystemClock => new SystemClock({ root, chronyc: NO_CHRONYC, nowMs: () => NOW });

  void test('an empty tree (no chronyc, no timesyncd, no RTC) reports source system, not synced, no RTC', async () => {
    const c = clock(mk());
    await c.start();
    assert.deepEqual(c.report(), {
      source: 'system',
      synced: false,
      rtc: { present: false, device: null, driftS: null },
      offsetS: null,
      stratum: null,
      checkedAt: new Date(NOW).toISOString(),
    });
    await c.stop();
  });

  void test('timesyncd: its run directory without `synchronized` is not synced; touching the file makes the next refresh synced', async () => {
    const root = mk();
    mkdirSync(join(root, 'run/systemd/timesync'), { recursive: true });
    const c = clock(root);
    await c.start();
    assert.equal(c.report().source, 'timesyncd');
    assert.equal(c.report().synced, false);
    put(root, 'run/systemd/timesync/synchronized');
    assert.equal(c.report().synced, false, 'report() is the cached reading');
    const r = await c.refresh();
    assert.equal(r.source, 'timesyncd');
    assert.equal(r.synced, true);
    assert.equal(c.report(), r);
  });

  void test('RTC: since_epoch 3 s ahead of system time gives source rtc, drift +3, the configured device', async () => {
    const root = mk();
    put(root, 'sys/class/rtc/rtc1/name', 'rtc_cmos\n');
    put(root, 'sys/class/rtc/rtc1/since_epoch', `${Math.floor(NOW / 1000) + 3}\n`);
    const c = new SystemClock({ root, rtc: '/dev/rtc1', chronyc: NO_CHRONYC, nowMs: () => NOW });
    await c.start();
    const r = c.report();
    assert.equal(r.source, 'rtc');
    assert.equal(r.synced, false);
    assert.deepEqual(r.rtc, { present: true, device: '/dev/rtc1', driftS: 3 });
  });

  void test('RTC without since_epoch (lost power) is present with no drift, and the source falls to system', async () => {
    const root = mk();
    put(root, 'sys/class/rtc/rtc0/name', 'rtc-pcf8563\n');
    const c = clock(root);
    await c.start();
    assert.deepEqual(c.report().rtc, { present: true, device: '/dev/rtc0', driftS: null });
    assert.equal(c.report().source, 'system');
  });

  void test('RTC with a garbled since_epoch is present with no drift, and the source falls to system', async () => {
    for (const garbled of ['', '-5', '17e8', 'not a time', '1700000000.5']) {
      const root = mk();
      put(root, 'sys/class/rtc/rtc0/since_epoch', garbled);
      const c = clock(root);
      await c.start();
      assert.deepEqual(c.report().rtc, { present: true, device: '/dev/rtc0', driftS: null }, garbled);
      assert.equal(c.report().source, 'system', garbled);
    }
  });

  void test('priority: timesyncd (even unsynced) wins over a readable RTC, and the RTC is still reported', async () => {
    const root = mk();
    mkdirSync(join(root, 'run/systemd/timesync'), { recursive: true });
    put(root, 'sys/class/rtc/rtc0/since_epoch', `${Math.floor(NOW / 1000)}`);
    const c = clock(root);
    await c.start();
    assert.equal(c.report().source, 'timesyncd');
    assert.deepEqual(c.report().rtc, { present: true, device: '/dev/rtc0', driftS: 0 });
  });

  void test('report() before start() throws a typed STATE error', () => {
    assert.throws(() => clock(mk()).report(), (e: unknown) => isBodycamError(e) && e.code === 'STATE');
  });
});

/** A real chronyd with `-x` (it never adjusts the host clock), its command socket in `dir`. */
async function startChronyd(dir: string, conf: string): Promise<ChildProcess> {
  writeFileSync(join(dir, 'chrony.conf'), `cmdport 0\nbindcmdaddress ${join(dir, 'chronyd.sock')}\npidfile ${join(dir, 'chronyd.pid')}\n${conf}`);
  // -n: stay in the foreground so this test owns the pid; -u root: the socket directory is ours.
  const p = spawn('chronyd', ['-n', '-x', '-u', 'root', '-f', join(dir, 'chrony.conf')], { stdio: 'ignore' });
  await once(p, 'spawn');
  return p;
}
async function stopChronyd(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGCONT');
  p.kill('SIGTERM');
  await once(p, 'exit');
}
/** Refreshes until `done` holds (chronyd needs a moment to open its socket / to sync). */
async function refreshUntil(c: SystemClock, done: (r: ClockReport) => boolean): Promise<ClockReport> {
  for (;;) {
    const r = await c.refresh();
    if (done(r)) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}

void describe('system backend with real chronyd daemons', { skip: !HAVE_CHRONYD && 'chronyd not installed (apt-get install chrony)', timeout: 60_000 }, () => {
  let root: string;
  const daemons: ChildProcess[] = [];
  before(() => {
    root = tree();
  });
  after(async () => {
    for (const d of daemons) await stopChronyd(d);
    rmSync(root, { recursive: true, force: true });
  });

  void test('priority: an unsynchronised chronyd wins over a synced timesyncd and an RTC; a SIGSTOPped one times out and timesyncd takes over', async () => {
    const dir = join(root, 'nosrc');
    mkdirSync(dir, { mode: 0o700 });
    daemons.push(await startChronyd(dir, ''));
    put(root, 'run/systemd/timesync/synchronized');
    put(root, 'sys/class/rtc/rtc0/since_epoch', `${Math.floor(Date.now() / 1000)}`);
    const c = new SystemClock({ root, chronycSocket: join(dir, 'chronyd.sock'), chronycTimeoutMs: 500 });
    await c.start();
    const r = await refreshUntil(c, (x) => x.source === 'chrony');
    assert.equal(r.synced, false);
    assert.equal(r.stratum, 0);
    assert.equal(r.offsetS, 0);
    assert.equal(r.rtc.present, true);
    // A wedged chronyd: chronyc would wait seconds for an answer; the time limit kills it.
    daemons[0]!.kill('SIGSTOP');
    const wedged = await c.refresh();
    daemons[0]!.kill('SIGCONT');
    assert.equal(wedged.source, 'timesyncd');
    assert.equal(wedged.synced, true);
  });

  void test('a chronyd synced over loopback to another chronyd (local stratum 8) reports chrony, synced, stratum 9, a small offset', async () => {
    const a = join(root, 'server');
    const b = join(root, 'client');
    mkdirSync(a, { mode: 0o700 });
    mkdirSync(b, { mode: 0o700 });
    const port = 11000 + (process.pid % 1000);
    daemons.push(await startChronyd(a, `local stratum 8\nport ${port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\n`));
    daemons.push(await startChronyd(b, `port 0\nserver 127.0.0.1 port ${port} iburst minpoll -4 maxpoll -4\n`));
    const server = new SystemClock({ root, chronycSocket: join(a, 'chronyd.sock') });
    const client = new SystemClock({ root, chronycSocket: join(b, 'chronyd.sock') });
    await server.start();
    const s = await refreshUntil(server, (x) => x.source === 'chrony' && x.stratum === 8);
    assert.equal(s.synced, false, 'its own local clock is no real time');
    await client.start();
    const r = await refreshUntil(client, (x) => x.synced);
    assert.equal(r.source, 'chrony');
    assert.equal(r.stratum, 9);
    // Both daemons read the same host clock: any offset beyond a millisecond would be a sign error or unit slip.
    assert.ok(r.offsetS !== null && Math.abs(r.offsetS) < 0.001, String(r.offsetS));
    assert.equal(wireClockSource(r), 'ntp');
  });
});

void describe('system backend on this machine', () => {
  void test('the report is well-formed and agrees with what exists on disk and what chronyc says', async () => {
    const c = new SystemClock();
    await c.start();
    const r = c.report();
    await c.stop();
    assert.ok(!Number.isNaN(Date.parse(r.checkedAt)));
    assert.equal(r.rtc.present, existsSync('/sys/class/rtc/rtc0'));
    assert.equal(r.rtc.device, r.rtc.present ? '/dev/rtc0' : null);
    if (r.rtc.driftS !== null) assert.ok(Number.isInteger(r.rtc.driftS));
    const chronyc = spawnSync('chronyc', ['-n', '-c', 'tracking'], { encoding: 'utf8', timeout: 2000 });
    const chrony = chronyc.status === 0 ? parseChronyTracking(chronyc.stdout) : undefined;
    const expected = chrony ? 'chrony' : existsSync('/run/systemd/timesync') ? 'timesyncd' : r.rtc.driftS !== null ? 'rtc' : 'system';
    assert.equal(r.source, expected);
    if (expected === 'timesyncd') assert.equal(r.synced, existsSync('/run/systemd/timesync/synchronized'));
    if (expected === 'rtc' || expected === 'system') assert.equal(r.synced, false);
    assert.equal(r.stratum === null, expected !== 'chrony');
  });
});

void describe('sim backend and the factory', () => {
  void test('sim: the sync flag is read on refresh, report() stays cached until then, and there is no RTC', async () => {
    let synced = false;
    const c = new SimClock(() => synced);
    await c.start();
    const first = c.report();
    assert.equal(first.synced, false);
    assert.equal(first.rtc.present, false);
    synced = true;
    assert.equal(c.report().synced, false);
    const next = await c.refresh();
    assert.equal(next.synced, true);
    assert.equal(sameClockState(first, next), false);
    assert.equal(wireClockSource(first), 'unknown');
    assert.equal(wireClockSource(next), 'ntp');
  });

  void test('createClock: the sim board gets the sim backend, a hardware board the system backend on its RTC', async () => {
    assert.ok(createClock(resolveBoard('sim').board) instanceof SimClock);
    const hil = resolveBoard('qemu-hil').board;
    const root = tree();
    try {
      put(root, 'sys/class/rtc/rtc0/since_epoch', `${Math.floor(Date.now() / 1000)}`);
      const c = createClock(hil, { system: { root, chronyc: NO_CHRONYC } });
      assert.ok(c instanceof SystemClock);
      await c.start();
      assert.equal(c.report().source, 'rtc');
      assert.equal(c.report().rtc.device, hil.rtc);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  void test('wire source: an unsynced daemon with a readable RTC is "rtc", with an unreadable one "unknown"', () => {
    const base: ClockReport = { source: 'chrony', synced: false, rtc: { present: true, device: '/dev/rtc0', driftS: 0 }, offsetS: 0, stratum: 0, checkedAt: '' };
    assert.equal(wireClockSource(base), 'rtc');
    assert.equal(wireClockSource({ ...base, rtc: { ...base.rtc, driftS: null } }), 'unknown');
  });
});
