/**
 * Obstruction intervals in `bodycam verify`: a signed shift whose journal holds the record pairs
 * the agent writes (agent/obstruction/room.ts; the mqtt stage proves the agent writes them) —
 * a covered lens mid-shift, and a silent microphone cut by a crash-like missing end — is listed
 * in the JSON and text with totals per kind, and the HTML timeline's "Obstructed" lane shows the
 * covered interval where it lies, checked by pixels in headless Chromium.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { provisionIdentity, type DeviceIdentity } from '../../agent/identity/identity.js';
import { Journal, type Fields } from '../../agent/evidence/journal.js';
import { JournalSigner } from '../../agent/evidence/signer.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';
import { PALETTE } from '../../agent/evidence/report-timeline.js';
import type { VerifyReport } from '../../agent/evidence/verify/report.js';
import { makeMedia, FIXTURE_T0, type Media } from '../helpers/shift-fixture.js';
import { bodycam } from './tamper.js';
import { countColour, decodePng, hexRgb, pixel } from './png.js';


let root: string;
let media: Media;
let device: DeviceIdentity;
let browser: Browser;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bodycam-obstruct-report-'));
  device = provisionIdentity(join(root, 'device'), { deviceId: 'cam-obst' });
  media = makeMedia(4);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(media.dir, { recursive: true, force: true });
});

const iso = (ms: number): string => new Date(ms).toISOString();
const T0 = FIXTURE_T0;
/** Covered from 2.4 s to 6.4 s of the 8.5 s shift; silent from 6.0 s with no end record. */
const COVERED = { start: T0 + 2400, end: T0 + 6400 };
const SILENT_START = T0 + 6000;

function writeShift(): { dir: string; shiftEnd: number } {
  const shiftId = `20261122T080000Z-${device.deviceId}`;
  const dir = join(root, shiftId);
  mkdirSync(dir, { recursive: true });
  let t = T0;
  const journal = new Journal(dir, () => t);
  journal.open();
  const signer = new JournalSigner(device, 2);
  const append = (type: string, fields: Fields, at = t): void => {
    t = Math.max(t, at);
    signer.maybeSign(journal, journal.append(type, fields, at));
  };
  append('shift_start', { shift_id: shiftId, device_id: device.deviceId, board: 'sim', firmware: 'fixture', boot_id: '00000000-0000-4000-8000-000000000000', policy: DEFAULT_POLICY, clock: { source: 'ntp', synced: true } });
  append('gap', { cause: 'encoder_start', start: iso(T0), end: iso(T0 + 400) }, T0 + 400);
  // Interleaved by `at` as the agent writes them: segment records when sealed, obstruction
  // records when the debounce decided.
  const pending: Array<[number, string, Fields]> = [
    [COVERED.start + 5000, 'obstruction', { phase: 'start', kind: 'covered', start: iso(COVERED.start), measures: { luma_mean: 1, luma_spread: 0.4 }, detected_at: iso(COVERED.start + 5000) }],
    [COVERED.end + 5000 - 2500, 'obstruction', { phase: 'end', kind: 'covered', start: iso(COVERED.start), end: iso(COVERED.end), duration_s: 4, reason: 'cleared', measures: { luma_mean: 1, luma_spread: 0.4 } }],
    [SILENT_START + 2000, 'obstruction', { phase: 'start', kind: 'silent', start: iso(SILENT_START), measures: { level_dbfs: -120, peak_dbfs: -120 } }],
  ];
  let cursor = T0 + 400;
  media.files.forEach((file, i) => {
    const plain = readFileSync(join(media.dir, file));
    copyFileSync(join(media.dir, file), join(dir, file));
    const end = cursor + 2000;
    pending.push([end + 30, 'segment', { file, sha256: createHash('sha256').update(plain).digest('hex'), bytes: plain.length, start: iso(cursor), end: iso(end), media_start: i * 2, media_end: i * 2 + 2, frames: media.frames[i], run: 1 }]);
    cursor = end;
  });
  pending.sort((a, b) => a[0] - b[0]);
  for (const [at, type, fields] of pending) append(type, fields, at);
  const shiftEnd = cursor + 100;
  append('shift_end', { reason: 'wearer', end: iso(shiftEnd), segments: media.files.length, media_s: media.files.length * 2 }, shiftEnd + 50);
  signer.signNow(journal, 'shift_end');
  journal.close();
  return { dir, shiftEnd };
}

void test('verify lists obstruction intervals with kind, duration and totals per kind (JSON, text); an end-less one is open to the shift end', { timeout: 60_000 }, () => {
  const { dir, shiftEnd } = writeShift();
  const j = bodycam(['verify', dir, '--pubkey', device.publicKeyPath, '--json']);
  assert.equal(j.code, 0, j.stdout + j.stderr);
  const r = j.json as unknown as VerifyReport;
  assert.deepEqual(
    r.obstructions.intervals.map((i) => ({ kind: i.kind, start: i.start, end: i.end, durationS: i.durationS, open: i.open })),
    [
      { kind: 'covered', start: iso(COVERED.start), end: iso(COVERED.end), durationS: 4, open: false },
      { kind: 'silent', start: iso(SILENT_START), end: iso(shiftEnd), durationS: (shiftEnd - SILENT_START) / 1000, open: true },
    ],
  );
  assert.deepEqual(r.obstructions.totals, { covered: { count: 1, seconds: 4 }, silent: { count: 1, seconds: (shiftEnd - SILENT_START) / 1000 } });
  const text = bodycam(['verify', dir, '--pubkey', device.publicKeyPath]);
  assert.match(text.stdout, /obstructed covered: 1 interval\(s\), 4\.0 s/);
  assert.match(text.stdout, /covered 2026-11-22T08:00:02\.400Z → 2026-11-22T08:00:06\.400Z \(4\.0 s\)/);
  assert.match(text.stdout, /silent .*, open\)/);
});

void test('HTML timeline: the Obstructed lane shows the covered interval in its colour where it lies', { timeout: 60_000 }, async () => {
  const dir = join(root, `20261122T080000Z-${device.deviceId}`);
  const htmlPath = join(root, 'obstructed.html');
  const r = bodycam(['verify', dir, '--pubkey', device.publicKeyPath, '--html', htmlPath]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(`file://${htmlPath}`);
  const png = decodePng(await page.screenshot({ fullPage: false }));
  const tl = (await page.locator('#timeline svg').boundingBox())!;
  const laneLabel = (await page.locator('#timeline svg text', { hasText: 'Obstructed' }).boundingBox())!;
  await page.close();
  const box = { x0: Math.floor(tl.x), y0: Math.floor(tl.y), x1: Math.ceil(tl.x + tl.width), y1: Math.ceil(tl.y + tl.height) };
  const covered = PALETTE.obstructed.covered!;
  // 4 s of an ~8.5 s shift over ~820 px, in the top third (8.7 px) of the lane.
  const n = countColour(png, covered, box);
  assert.ok(n > 2500, `covered pixels: ${n}`);
  assert.ok(countColour(png, PALETTE.obstructed.silent!, box) > 800, "silent interval drawn");
  // Its pixels lie on the Obstructed lane's row and between 2.4 s and 6.4 s of the shift.
  const want = hexRgb(covered);
  const xs: number[] = [];
  const ys = new Set<number>();
  for (let x = box.x0; x < box.x1; x++) {
    for (let y = box.y0; y < box.y1; y++) {
      const px = pixel(png, x, y);
      if (px.every((v, i) => Math.abs(v - want[i]!) < 6)) {
        xs.push(x);
        ys.add(y);
      }
    }
  }
  const laneMid = laneLabel.y + laneLabel.height / 2;
  assert.ok([...ys].every((y) => Math.abs(y - laneMid) < 17), `covered drawn on the Obstructed lane (y ${Math.min(...ys)}–${Math.max(...ys)}, lane at ${laneMid})`);
  // The SVG (1100 user units: 120 left, 20 right margin) is scaled to the page's width; the time
  // axis runs from the report's start to its end or the latest timeline item.
  const report = bodycam(['verify', dir, '--pubkey', device.publicKeyPath, '--json']).json as unknown as VerifyReport;
  const t0 = Date.parse(report.start!);
  const t1 = Math.max(Date.parse(report.end!), ...report.timeline.map((t) => t.end));
  const scale = tl.width / 1100;
  const xAt = (ms: number): number => tl.x + scale * (120 + ((ms - t0) / (t1 - t0)) * 960);
  const from = xAt(COVERED.start);
  const to = xAt(COVERED.end);
  assert.ok(Math.abs(Math.min(...xs) - from) < 4 && Math.abs(Math.max(...xs) - to) < 4, `covered bar x ${Math.min(...xs)}–${Math.max(...xs)}, expected ${from.toFixed(0)}–${to.toFixed(0)}`);
});
