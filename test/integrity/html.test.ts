/**
 * `bodycam verify --html` in headless Chromium (Debian's, driven by playwright-core): the page
 * loads nothing from outside, and the screenshot's pixels show the verdict colour and the
 * timeline's recording, pause and gap colours where they belong.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium, type Browser } from 'playwright-core';
import { provisionIdentity, type DeviceIdentity } from '../../agent/identity/identity.js';
import { makeMedia, makeShift, type Media } from '../helpers/shift-fixture.js';
import { bodycam } from './tamper.js';
import { PALETTE } from '../../agent/evidence/html-report.js';
import { countColour, decodePng, hexRgb, pixel, type Image } from './png.js';

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let root: string;
let media: Media;
let device: DeviceIdentity;
let browser: Browser;
const shots = join(process.cwd(), '.cache', 'integrity-html');

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bodycam-html-'));
  mkdirSync(shots, { recursive: true });
  device = provisionIdentity(join(root, 'device'), { deviceId: 'cam-html' });
  media = makeMedia(4);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
});

after(async () => {
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(media.dir, { recursive: true, force: true });
});

interface Shot {
  img: Image;
  banner: { x: number; y: number; width: number; height: number };
  timeline: { x0: number; y0: number; x1: number; y1: number };
  external: string[];
  html: string;
}

async function render(shiftDir: string, name: string, expectExit: number): Promise<Shot> {
  const htmlPath = join(root, `${name}.html`);
  const r = bodycam(['verify', shiftDir, '--pubkey', device.publicKeyPath, '--html', htmlPath]);
  assert.equal(r.code, expectExit, r.stdout + r.stderr);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  const external: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    external.push(url);
    return route.abort();
  });
  await page.goto(`file://${htmlPath}`);
  const png = await page.screenshot({ fullPage: false });
  writeFileSync(join(shots, `${name}.png`), png);
  const banner = (await page.locator('#verdict').boundingBox())!;
  const tl = (await page.locator('#timeline svg').boundingBox())!;
  await page.close();
  return {
    img: decodePng(png),
    banner,
    timeline: { x0: Math.floor(tl.x), y0: Math.floor(tl.y), x1: Math.min(1200, Math.ceil(tl.x + tl.width)), y1: Math.min(900, Math.ceil(tl.y + tl.height)) },
    external,
    html: readFileSync(htmlPath, 'utf8'),
  };
}

function assertBanner(s: Shot, hex: string): void {
  // Sample the banner's right part (no text there) at several points.
  for (const fx of [0.7, 0.85, 0.97]) {
    const px = pixel(s.img, Math.floor(s.banner.x + s.banner.width * fx), Math.floor(s.banner.y + s.banner.height * 0.5));
    const want = hexRgb(hex);
    assert.ok(px.every((v, i) => Math.abs(v - want[i]!) <= 4), `banner pixel ${px} is not ${hex}`);
  }
}

void test('intact shift: green banner; recording, pause and gap colours drawn in the timeline; nothing loaded from outside', { timeout: 120_000 }, async () => {
  const dir = (await makeShift({ root: join(root, 'ok'), identity: device, media })).dir;
  const s = await render(dir, 'intact', 0);
  assert.deepEqual(s.external, []);
  assert.doesNotMatch(s.html, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no external asset');
  assertBanner(s, PALETTE.verdict.intact);
  const rec = countColour(s.img, PALETTE.media, s.timeline);
  const personal = countColour(s.img, PALETTE.pause.PERSONAL_NEEDS!, s.timeline);
  const crash = countColour(s.img, PALETTE.gap.encoder_crash!, s.timeline);
  const start = countColour(s.img, PALETTE.gap.encoder_start!, s.timeline);
  // 8 s of media, a 6 s pause and a 1.5 s crash gap in a ~21 s shift drawn ~960 px wide, 26 px high.
  assert.ok(rec > 8000, `recording pixels: ${rec}`);
  assert.ok(personal > 5000, `PERSONAL_NEEDS pause pixels: ${personal}`);
  assert.ok(crash > 1000, `encoder_crash gap pixels: ${crash}`);
  assert.ok(start > 500, `encoder_start gap pixels: ${start}`);
  assert.equal(countColour(s.img, PALETTE.verdict.tampered, s.timeline), 0, 'no red in an intact timeline');
  // The pause lies to the right of the first two segments and left of the last ones.
  const purpleXs: number[] = [];
  for (let x = s.timeline.x0; x < s.timeline.x1; x++) {
    for (let y = s.timeline.y0; y < s.timeline.y1; y++) {
      const [r, g, b] = pixel(s.img, x, y);
      const [pr, pg, pb] = hexRgb(PALETTE.pause.PERSONAL_NEEDS!);
      if (Math.abs(r - pr) < 6 && Math.abs(g - pg) < 6 && Math.abs(b - pb) < 6) {
        purpleXs.push(x);
        break;
      }
    }
  }
  const w = s.timeline.x1 - s.timeline.x0;
  const mid = (Math.min(...purpleXs) + Math.max(...purpleXs)) / 2;
  assert.ok(mid > s.timeline.x0 + w * 0.3 && mid < s.timeline.x0 + w * 0.75, `pause drawn at x=${mid}`);
});

void test('tampered shift: red banner naming the finding', { timeout: 120_000 }, async () => {
  const dir = (await makeShift({ root: join(root, 'bad'), identity: device, media })).dir;
  const b = readFileSync(join(dir, 'seg-000002.ts'));
  b[1000]! ^= 0xff;
  writeFileSync(join(dir, 'seg-000002.ts'), b);
  const s = await render(dir, 'tampered', 1);
  assertBanner(s, PALETTE.verdict.tampered);
  assert.match(s.html, /seg-000002\.ts/);
  assert.match(s.html, /segment_hash/);
});

void test('crashed shift: amber banner, the unsealed tail drawn', { timeout: 120_000 }, async () => {
  const dir = (await makeShift({ root: join(root, 'crash'), identity: device, media, crash: true })).dir;
  const copy = join(root, 'crash-copy');
  cpSync(dir, copy, { recursive: true });
  const s = await render(copy, 'incomplete', 1);
  assertBanner(s, PALETTE.verdict.incomplete);
  assert.ok(countColour(s.img, PALETTE.unsealed, s.timeline) > 100, 'unsealed segment drawn');
  assert.match(s.html, /unsigned record\(s\) trail/);
});
