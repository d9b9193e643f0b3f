/** `bodycam status` text: labelled lines in words, one clock line, no raw JSON; --json is the snapshot untouched. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatStatus } from '../../agent/cli/commands/status.js';
import type { StatusSnapshot } from '../../agent/status.js';

const today = new Date().toISOString().slice(0, 10);

function snapshot(ext: StatusSnapshot['ext'], over: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    deviceId: 'cam-7', board: 'sim', firmware: '1.2.3', bootId: 'b', startedAt: `${today}T08:00:00.000Z`, uptimeS: 4000,
    state: 'PAUSED', shiftId: `${today.replaceAll('-', '')}T080000Z-cam-7`, shiftStartedAt: `${today}T08:00:00.000Z`,
    pauseReason: 'PERSONAL_NEEDS', pauseLeftS: 120, segments: 3, bytes: 3 << 20, mediaS: 6, lastSegmentAt: `${today}T08:00:06.000Z`,
    fps: 0, droppedFrames: 0, encoderRestarts: 0, encoderRunning: false, degradeLevel: 0, faults: {}, journalHead: 'ab'.repeat(32),
    outputs: { led_rec: false, led_status: true }, battery: { percent: 76.5, voltageV: 3.91, charging: false, runtimeMin: 441 },
    temperatureC: 41, docked: false, storage: { freeBytes: 2 ** 31, totalBytes: 2 ** 33 }, pauseUse: null, ext, ...over,
  };
}

test('every section in words on a labelled line; one clock line: wire source, daemon in parentheses', () => {
  const text = formatStatus(snapshot({
    power: { battery: { level: 'low' }, thermalLevel: 1, clock: { source: 'unknown', rtc: null, clocksource: 'kvm-clock', sane: false, problems: ['/dev/rtc0 does not report a time'] }, watchdog: { kinds: ['softdog'], petting: true } },
    clock: { source: 'gnss', synced: true, daemon: 'chrony', rtc: { present: true, device: '/dev/rtc0', driftS: 1 }, offsetS: 0.002 },
    duty: { startTrigger: 'central', wearer: { id: 'w-12', name: 'A. Officer' }, nextWearer: null, scheduledStart: `${today}T08:00:00.000Z`, scheduledEnd: `${today}T16:00:00.000Z`, batteryShort: true, triggers: { dockStart: true, dockEnd: false, central: true } },
    location: { backend: 'gpsd', connected: true, fix: '3d', satellites: 8, satellitesVisible: 11, lat: 52.52, lon: 13.405, accuracyM: 4, fixTime: null, ageS: 1 },
    obstruction: { detecting: true, active: [{ kind: 'covered', since: `${today}T08:00:03.000Z`, measure: 2 }], intervals: 1, nags: 1 },
    telemetry: { connected: true, outboxDepth: 2, outboxBytes: 100, outboxDropped: 0, heartbeats: 9, lastError: null },
    commands: { accepted: 3, refused: 1 },
    latency: { startMs: [400], resumeMs: [] }, encoder: { pid: null }, storageGuard: { episodes: 2 }, transition: { owedEffects: 0, attempts: 0 },
    futureSection: { a: 1, nested: { b: 2 }, list: [1, 2] },
  }));
  const line = (label: string): string => {
    const found = text.split('\n').filter((l) => l.startsWith(`${label}  `));
    assert.equal(found.length, 1, `one '${label}' line in:\n${text}`);
    return found[0]!.slice(label.length).trim();
  };
  assert.equal(line('state'), 'PAUSED');
  assert.equal(line('pause'), 'personal needs, 120 s left');
  assert.equal(line('wearer'), 'A. Officer (w-12)');
  assert.equal(line('duty'), 'started by central; scheduled 08:00:00 UTC – 16:00:00 UTC; triggers: dock start on, dock end off, central on; battery short of the expected shift');
  assert.equal(line('battery'), '76.5% 3.91 V, ~441 min left, low');
  assert.equal(line('temperature'), '41 °C, thermal level 1');
  assert.equal(line('storage'), '2.0 GiB free of 8.0 GiB; 2 storage-full episode(s)');
  assert.equal(line('clock'), 'gnss, synced (chrony); offset 0.002 s; RTC /dev/rtc0 drift 1 s; PROBLEM: /dev/rtc0 does not report a time');
  assert.equal(line('location'), '3d fix 52.52000, 13.40500 ±4 m, 8/11 satellites, 1 s old (gpsd)');
  assert.equal(line('obstruction'), 'covered since 08:00:03 UTC; 1 interval(s) this shift');
  assert.equal(line('watchdog'), 'softdog: petted');
  assert.equal(line('telemetry'), 'connected; outbox 2 event(s); 9 heartbeat(s) sent');
  assert.equal(line('commands'), '3 accepted, 1 refused');
  assert.equal(line('futureSection'), 'a 1, nested {b}, list 2 item(s)');
  assert.doesNotMatch(text, /[{[]"|":|=\{|unknown/, 'no raw JSON, no second clock source');
  for (const folded of ['latency', 'storageGuard', 'transition', 'power']) assert.doesNotMatch(text, new RegExp(`^${folded}`, 'm'), `${folded} is folded into other lines`);
});

test('a sparse snapshot (no extensions): dashes, not crashes; the sysfs clock report is the fallback source', () => {
  const text = formatStatus(snapshot({ power: { clock: { source: 'rtc', rtc: { device: '/dev/rtc0', name: 'rtc-cmos', driftS: 0 }, problems: [] } } }, { battery: null, shiftId: null, pauseReason: null, state: 'OFF_DUTY', lastSegmentAt: null }));
  assert.match(text, /^clock +rtc; RTC \/dev\/rtc0 drift 0 s$/m);
  assert.match(text, /^battery +-$/m);
  assert.match(text, /^pause +-$/m);
  assert.doesNotMatch(text, /^wearer/m, 'no duty room, no wearer line');
});
