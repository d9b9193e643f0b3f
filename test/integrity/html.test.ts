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
import { type Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { provisionIdentity, type DeviceIdentity } from '../../agent/identity/identity.js';
import { makeMedia, makeShift, type Media } from '../helpers/shift-fixture.js';
import { bodycam } from './tamper.js';
import { renderHtml } from '../../agent/evidence/html-report.js';
import { PALETTE } from '../../agent/evidence/report-timeline.js';
import type { VerifyReport } from '../../agent/evidence/verify/report.js';
import { countColour, decodePng, hexRgb, pixel, type Image } from './png.js';


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
  browser = await launchChromium();
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

/** Issue 18, "the HTML report a supervisor reads": what a person sees without hovering, on screen and on paper. */
const screenshots = join(process.cwd(), '.cache', 'results', 'screenshots');
const MARKS = ['media', 'pause', 'gap', 'hole', 'unsealed', 'altered', 'missing', 'unsigned', 'fault', 'gesture', 'signature', 'recovery', 'degrade', 'obstructed', 'refused-pause'];
const RAW = ['encoder_start', 'encoder_crash', 'PERSONAL_NEEDS', 'SENSITIVE_SITE'];

interface Page {
  text: string;
  attentionY: number;
  timelineY: number;
  marks: string[];
  legend: string[];
  parts: Record<string, number>;
  detailsRows: number;
  printDetailsShown: boolean;
  printColourExact: string;
  img: Image;
  timeline: Shot['timeline'];
}

async function supervisorPage(htmlPath: string, shot: string): Promise<Page> {
  mkdirSync(screenshots, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(`file://${htmlPath}`);
  const png = await page.screenshot({ fullPage: false });
  await page.screenshot({ path: join(screenshots, `${shot}.png`), fullPage: true });
  const tl = (await page.locator('#timeline svg').boundingBox())!;
  // Runs in the page (a string: the test's TypeScript has no DOM types).
  const got = (await page.evaluate(`((marks) => {
    const svgMarks = [...document.querySelectorAll('#timeline svg [class]')]
      .map((e) => {
        const c = e.getAttribute('class');
        if (!marks.includes(c)) return '';
        return c === 'pause' || c === 'gap' || c === 'obstructed' ? c + ':' + e.getAttribute('data-label') : c;
      })
      .filter(Boolean);
    const parts = {};
    for (const tr of document.querySelectorAll('table.parts tr')) parts[tr.getAttribute('data-part')] = Number(tr.getAttribute('data-s'));
    return {
      text: document.body.innerText,
      attentionY: document.querySelector('#attention').getBoundingClientRect().top,
      timelineY: document.querySelector('#timeline').getBoundingClientRect().top,
      marks: [...new Set(svgMarks)],
      legend: [...document.querySelectorAll('#legend [data-mark]')].map((e) => e.getAttribute('data-mark')),
      parts,
      detailsRows: document.querySelectorAll('table.details tr').length - 1,
    };
  })(${JSON.stringify(MARKS)})`)) as Omit<Page, 'printDetailsShown' | 'printColourExact' | 'img' | 'timeline'>;
  await page.emulateMedia({ media: 'print' });
  const print = (await page.evaluate(`({
    shown: getComputedStyle(document.querySelector('table.details')).display !== 'none',
    exact: getComputedStyle(document.querySelector('#timeline svg')).getPropertyValue('print-color-adjust'),
  })`)) as { shown: boolean; exact: string };
  await page.pdf({ path: join(screenshots, `${shot}.pdf`), format: 'A4' });
  await page.close();
  return {
    ...got,
    printDetailsShown: print.shown,
    printColourExact: print.exact,
    img: decodePng(png),
    timeline: { x0: Math.floor(tl.x), y0: Math.floor(tl.y), x1: Math.min(1200, Math.ceil(tl.x + tl.width)), y1: Math.min(900, Math.ceil(tl.y + tl.height)) },
  };
}

function assertSupervisorBasics(p: Page, shiftS: number): void {
  assert.ok(p.attentionY < p.timelineY, 'the attention box comes before the timeline');
  assert.match(p.text, /time \(UTC\)/);
  assert.match(p.text, /Start → end\s+\d{4}-\d\d-\d\d [\d:.]+ UTC → \d{4}-\d\d-\d\d [\d:.]+ UTC/);
  for (const m of p.marks) assert.ok(p.legend.includes(m), `mark ${m} drawn but not in the legend (${p.legend.join(', ')})`);
  for (const raw of RAW) assert.ok(!p.text.includes(raw), `raw record name ${raw} in the page's text`);
  assert.match(p.text, /camera starting up/);
  assert.ok(p.detailsRows >= 5, `details table rows: ${p.detailsRows}`);
  assert.ok(p.printDetailsShown, 'details table printed');
  assert.equal(p.printColourExact, 'exact', 'colours kept on paper');
  const sum = ['recorded', 'paused', 'gaps', 'uncovered', 'slack'].reduce((a, k) => a + (p.parts[k] ?? 0), 0);
  assert.ok(Math.abs(sum - p.parts.total!) < 0.0015, `parts ${JSON.stringify(p.parts)} add up to ${sum}, not ${p.parts.total}`);
  assert.ok(Math.abs(p.parts.total! - shiftS) < 0.0015, `total ${p.parts.total} is the shift's length ${shiftS}`);
}

void test('supervisor page, intact shift: attention box (no wearer), UTC, every mark in the legend, details without hovering and in print, parts add up; screenshot kept', { timeout: 120_000 }, async () => {
  const dir = (await makeShift({ root: join(root, 'sup-ok'), identity: device, media })).dir;
  const htmlPath = join(root, 'sup-ok.html');
  const r = bodycam(['verify', dir, '--pubkey', device.publicKeyPath, '--html', htmlPath, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const p = await supervisorPage(htmlPath, 'report-intact');
  assertSupervisorBasics(p, (r.json as unknown as { totals: { shiftS: number } }).totals.shiftS);
  assert.match(p.text, /Attention\s+No wearer assigned/);
  assert.ok(p.parts.recorded! > 7 && p.parts.paused! > 5 && p.parts.gaps! > 2, JSON.stringify(p.parts));
});

void test('supervisor page, tampered shift: altered and missing segments marked, findings in the attention box with the heading count; screenshot kept', { timeout: 120_000 }, async () => {
  const dir = (await makeShift({ root: join(root, 'sup-bad'), identity: device, media })).dir;
  const raw = readFileSync(join(dir, 'journal.jsonl'), 'utf8').split('\n');
  raw[raw.findIndex((l) => l.includes('"type":"segment"'))] = 'garbage line {{{';
  writeFileSync(join(dir, 'journal.jsonl'), raw.join('\n'));
  const b = readFileSync(join(dir, 'seg-000003.ts'));
  b[1000]! ^= 0xff;
  writeFileSync(join(dir, 'seg-000003.ts'), b);
  const htmlPath = join(root, 'sup-bad.html');
  const r = bodycam(['verify', dir, '--pubkey', device.publicKeyPath, '--html', htmlPath, '--json']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const j = r.json as unknown as { totals: { shiftS: number }; findingCounts: { findings: number; followOns: number } };
  const p = await supervisorPage(htmlPath, 'report-tampered');
  assertSupervisorBasics(p, j.totals.shiftS);
  assert.ok(p.marks.includes('altered') && p.marks.includes('missing'), p.marks.join(' '));
  assert.ok(countColour(p.img, PALETTE.altered, p.timeline) > 300, 'altered segment drawn');
  assert.ok(countColour(p.img, PALETTE.missing, p.timeline) > 300, 'lost record drawn');
  assert.equal(j.findingCounts.findings, 2, 'the damaged line and the altered segment');
  assert.match(p.text, new RegExp(`Attention[\\s\\S]*${j.findingCounts.findings} finding\\(s\\)[\\s\\S]*Findings \\(${j.findingCounts.findings}\\)`));
  assert.match(p.text, /segment unaccounted for/);
});

void test('supervisor page: a short battery forecast is in the attention box', { timeout: 60_000 }, async () => {
  const dir = (await makeShift({ root: join(root, 'sup-bat'), identity: device, media })).dir;
  const r = bodycam(['verify', dir, '--pubkey', device.publicKeyPath, '--json']);
  const report = r.json as unknown as VerifyReport;
  const htmlPath = join(root, 'sup-bat.html');
  writeFileSync(htmlPath, renderHtml({ ...report, duty: { ...report.duty!, batteryForecast: { lasts: false, runtimeS: 3 * 3600, expectedS: 8 * 3600 } } }));
  const page = await browser.newPage();
  await page.goto(`file://${htmlPath}`);
  const text = await page.locator('#attention').innerText();
  await page.close();
  assert.match(text, /Battery forecast short: about 3 h 0 min of battery for 8 h 0 min of duty/);
});
