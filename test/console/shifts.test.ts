/**
 * Shifts and camera actions in the supervisor's console (issue 22), end to end: a real agent on
 * the sim board (with the sim GNSS walking its track) records a shift and uploads it to a real
 * Ceph RGW; a real `bodycam central ingest` verifies it and writes its result, report and timeline;
 * `bodycam central console` with the operator's S3 credentials serves them; Debian's Chromium drives the pages.
 *   - a viewer opens the camera page (shifts, the verdict, the track drawn as inline SVG), the
 *     shift's report and its timeline through the console; the audit log has `shift_viewed`;
 *   - the store's objects are not reachable from the browser directly (anonymous GET → 403), and
 *     nothing the console served names the store;
 *   - a supervisor assigns a wearer and sets a policy from the camera page: the camera's journal
 *     shows both commands accepted, with central's signature; each is audited;
 *   - a viewer's set-policy is refused by the server (403); a bad policy value or an unknown
 *     setting is 400 with the reason, and nothing is signed or sent;
 *   - a supervisor schedules the team's duty from the fleet page: the camera starts its shift at
 *     the scheduled time with trigger `schedule`.
 * Screenshots: .cache/results/screenshots/console-camera-track.png, console-shift.png, console-timeline.png, console-shifts.png,
 * console-camera-actions.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { cleanup, readJournal, shiftJournal, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { startMosquitto, freePort, type Broker } from '../helpers/mosquitto.js';
import { centralKeys, lightBoard, type CentralKeys } from '../mqtt/fixtures.js';
import { startStore, getObject, BUCKET, PREFIX, type Store } from '../offload/store.js';
import { ingestConfig, provision, recordShift, register, startCamera, startIngest, until, type IngestWorker } from '../central/fleet.js';
import { SHOTS, auditOf, consoleAccounts, consoleConfig, launchChromium, login, pagePost, startConsole, type ConsoleProc } from './harness.js';

const CAM = 'cam-s1';
let dir: string;
let store: Store;
let broker: Broker;
let keys: CentralKeys;
let browser: Browser;
let cam: AgentProc;
let ingest: IngestWorker | undefined;
let con: ConsoleProc;
let shiftId: string;

const deviceJournal = () => readJournal(join(cam.dataDir, 'device-journal.jsonl'));
const commandsSent = () => auditOf(con).filter((r) => r.type === 'command');

before(async () => {
  dir = tempDataDir('console-shifts-');
  [store, broker] = await Promise.all([startStore([CAM]), startMosquitto(join(dir, 'mqtt'))]);
  keys = centralKeys(dir);
  await consoleAccounts(dir, keys.privatePem);
  const registryDir = join(dir, 'registry');
  const dataDir = join(dir, `data-${CAM}`);
  mkdirSync(dataDir, { recursive: true });
  register(registryDir, CAM, await provision(dataDir, CAM));
  // The light sim board with the sim GNSS: the shift's journal gets `location` records.
  const b = JSON.parse(readFileSync(lightBoard(dir), 'utf8')) as Record<string, unknown>;
  b.gnss = { backend: 'sim' };
  const board = join(dir, 'sim-gnss.json');
  writeFileSync(board, JSON.stringify(b));
  cam = await startCamera({
    dataDir, deviceId: CAM, board, broker, store, central: keys, policy: { locationIntervalS: 1, locationMinMoveM: 1, heartbeatOnDutyS: 1, heartbeatOffDutyS: 2 },
    extra: { central: { commandPublicKey: keys.publicPath, groupId: 'team-s' } },
  });
  shiftId = await recordShift(cam, 3);
  await cam.sim({ docked: true });
  ingest = startIngest(ingestConfig({ dir, workerId: 'w1', broker, store, registryDir, commandKey: join(dir, 'central-cmd.key.pem') }), 'w1', join(dir, 'metrics-w1.prom'));
  await until(`ingest's result of ${shiftId}`, () => getObject(store.operator, `ingest/${CAM}/${shiftId}/result.json`).then(() => true, () => false), 120_000, () => ingest!.text());
  await cam.sim({ docked: false });
  browser = await launchChromium();
  const s3 = { endpoint: store.ceph.endpoint, bucket: BUCKET, keyPrefix: PREFIX, resultPrefix: 'ingest', credentialsFile: join(store.credsDir, 'operator.json') };
  con = await startConsole(consoleConfig(dir, broker, 'console-s', { sessionTtlS: 600, port: await freePort(), loginPerMinute: 50, groups: { 'team-s': [CAM] }, s3 }));
});

after(async () => {
  await browser?.close();
  await con?.stop();
  await ingest?.stop();
  await cam?.kill('SIGKILL');
  await broker?.stop();
  await store?.stop();
  if (dir) cleanup(dir);
});

void test("a viewer opens a shift's verdict, track, report and timeline through the console; each view is audited as shift_viewed", { timeout: 60_000 }, async () => {
  const { ctx, page } = await login(browser, con, 'vic');
  // Everything the browser received while viewing, to show below that no store address reached it.
  const served: string[] = [];
  page.on('response', (r) => void r.text().then((t) => served.push(`${r.url()}\n${JSON.stringify(r.headers())}\n${t}`), () => undefined));
  await page.goto(`${con.base}/camera/${CAM}`);
  await page.waitForSelector('body[data-ready="1"]');
  const row = page.locator(`#shifts tr[data-shift="${shiftId}"]`);
  assert.equal(await row.getAttribute('data-verdict'), 'verified');
  assert.equal(await row.locator('.verdict').textContent(), 'verified');
  // The track: inline SVG drawn by the page itself from the report's location records.
  const line = page.locator('#track svg polyline.track-line');
  await line.waitFor({ state: 'attached', timeout: 5000 }); // a straight walk north has no width: "hidden" to playwright
  assert.ok(((await line.getAttribute('points')) ?? '').split(' ').length >= 3, 'a track of several positions');
  assert.equal(await page.isHidden('#camera-actions'), true, 'no action forms for a viewer');
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'console-camera-track.png'), fullPage: true });

  await row.locator('a').click();
  await page.waitForURL(`${con.base}/shift/${CAM}/${shiftId}`);
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await page.locator('dd.verdict').textContent(), 'verified');
  await page.locator('#track svg polyline.track-line').waitFor({ state: 'attached', timeout: 5000 });
  await page.screenshot({ path: join(SHOTS, 'console-shift.png'), fullPage: true });

  const [resp] = await Promise.all([page.waitForNavigation(), page.click('#timeline-link')]);
  assert.equal(resp?.status(), 200);
  assert.match(resp?.headers()['content-security-policy'] ?? '', /sandbox/, 'the timeline is shown sandboxed, without script');
  assert.match(await page.content(), /<svg[^>]*aria-label="shift timeline"/, "the verifier's timeline, as ingest stored it");
  assert.equal(await page.title().then((t) => t.includes(shiftId)), true, await page.title());
  await page.screenshot({ path: join(SHOTS, 'console-timeline.png'), fullPage: true });

  await page.goto(`${con.base}/shifts`);
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await page.locator(`#shifts tr[data-shift="${shiftId}"][data-device="${CAM}"]`).getAttribute('data-verdict'), 'verified');
  await page.screenshot({ path: join(SHOTS, 'console-shifts.png'), fullPage: true });

  const views = auditOf(con).filter((r) => r.type === 'shift_viewed');
  for (const what of ['track', 'report', 'timeline']) {
    const v = views.find((r) => r.what === what);
    assert.ok(v, `shift_viewed ${what} in ${JSON.stringify(views)}`);
    assert.equal(v.user, 'vic');
    assert.equal(v.device, CAM);
    assert.equal(v.shift, shiftId);
  }
  // The store's address and credentials never reached the browser: everything came through the console.
  const storeHost = new URL(store.ceph.endpoint).host;
  for (const s of served) {
    assert.ok(!s.includes(storeHost), `a response named the store (${storeHost}): ${s.slice(0, 300)}`);
    assert.ok(!s.includes(store.operatorCreds.accessKeyId), 'a response carried the operator key id');
  }
  await ctx.close();
});

void test("the store's objects are not reachable from the browser directly (anonymous GET is refused)", { timeout: 30_000 }, async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  for (const file of ['report.json', 'timeline.html', 'result.json']) {
    const r = await page.goto(`${store.ceph.endpoint}/${BUCKET}/ingest/${CAM}/${shiftId}/${file}`);
    assert.equal(r?.status(), 403, `${file}: ${r?.status()}`);
  }
  await ctx.close();
  // And a logged-out browser gets nothing of a shift from the console either.
  const anon = await browser.newContext({ ignoreHTTPSErrors: true });
  for (const path of [`/api/shifts/${CAM}/${shiftId}`, `/shift/${CAM}/${shiftId}/timeline`, `/api/shifts?device=${CAM}`]) {
    const r = await anon.request.get(`${con.base}${path}`, { maxRedirects: 0 });
    assert.ok([401, 302].includes(r.status()), `${path}: ${r.status()}`);
  }
  await anon.close();
});

void test("a viewer's set-policy and assign-wearer are refused by the server (403); nothing is sent", { timeout: 30_000 }, async () => {
  const { ctx, page } = await login(browser, con, 'vic');
  const before = commandsSent().length;
  const p = await pagePost(page, `/api/camera/${CAM}/policy`, { values: { personalNeedsMaxS: 600 } });
  assert.equal(p.status, 403, JSON.stringify(p.body));
  assert.match(p.body.error ?? '', /needs role supervisor/);
  const w = await pagePost(page, `/api/camera/${CAM}/wearer`, { wearerId: 'w-1', name: 'X' });
  assert.equal(w.status, 403);
  const s = await pagePost(page, '/api/teams/team-s/schedule', { start: new Date().toISOString(), end: new Date(Date.now() + 3600_000).toISOString() });
  assert.equal(s.status, 403);
  assert.equal(commandsSent().length, before, 'no command audited as sent');
  await ctx.close();
});

void test('a bad policy value or an unknown setting is 400 with the reason, and nothing is signed or sent', { timeout: 30_000 }, async () => {
  const { ctx, page } = await login(browser, con, 'ana');
  const journalBefore = deviceJournal().filter((r) => r.type === 'command').length;
  const before = commandsSent().length;
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ personalNeedsMaxS: 100000 }, /personalNeedsMaxS: must be <= 900/],
    [{ noSuchSetting: 1 }, /noSuchSetting/],
    [{ personalNeedsMaxS: 'ten' }, /personalNeedsMaxS must be a number/],
    [{}, /values must be an object/],
  ];
  for (const [values, why] of cases) {
    const r = await pagePost(page, `/api/camera/${CAM}/policy`, { values });
    assert.equal(r.status, 400, `${JSON.stringify(values)}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error ?? '', why, JSON.stringify(values));
  }
  // The page's form says why too.
  await page.goto(`${con.base}/camera/${CAM}`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.fill('#policy-name', 'personalNeedsMaxS');
  await page.fill('#policy-value', '2');
  await page.click('#policy-form button');
  await page.locator('#camera-action-result.error', { hasText: /refused: the camera would refuse this set_policy: personalNeedsMaxS: must be >= 5/ }).waitFor({ timeout: 5000 });
  const wearer = await pagePost(page, `/api/camera/${CAM}/wearer`, { wearerId: 'has space', name: 'A' });
  assert.equal(wearer.status, 400);
  assert.match(wearer.body.error ?? '', /invalid wearer id/);
  const sched = await pagePost(page, '/api/teams/team-s/schedule', { start: '2026-12-05T08:00:00Z', end: '2026-12-05T07:00:00Z' });
  assert.equal(sched.status, 400);
  assert.match(sched.body.error ?? '', /end_ms is not after start_ms/);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(commandsSent().length, before, 'nothing audited as sent');
  assert.equal(deviceJournal().filter((r) => r.type === 'command').length, journalBefore, 'nothing reached the camera');
  await ctx.close();
});

void test("a supervisor assigns a wearer and sets a policy from the camera page: the camera's journal shows both, accepted", { timeout: 60_000 }, async () => {
  const { ctx, page } = await login(browser, con, 'ana');
  await page.goto(`${con.base}/camera/${CAM}`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.fill('#wearer-id', 'officer-0042');
  await page.fill('#wearer-name', 'Dana Weber');
  await page.click('#wearer-form button');
  await page.locator('#camera-action-result', { hasText: 'assign_wearer sent' }).waitFor({ timeout: 10_000 });
  await page.fill('#policy-name', 'personalNeedsMaxS');
  await page.fill('#policy-value', '600');
  await page.click('#policy-form button');
  await page.locator('#camera-action-result', { hasText: 'set_policy sent' }).waitFor({ timeout: 10_000 });
  await page.screenshot({ path: join(SHOTS, 'console-camera-actions.png'), fullPage: true });
  const sent = commandsSent();
  const wearerCmd = sent.find((r) => r.command === 'assign_wearer');
  const policyCmd = sent.find((r) => r.command === 'set_policy');
  assert.equal(wearerCmd?.user, 'ana');
  assert.equal(wearerCmd?.device, CAM);
  assert.deepEqual(policyCmd?.values, { personalNeedsMaxS: 600 });
  // The camera's own journal (off duty: the device journal) records both, accepted, by their payload hash.
  const journaled = await until('both commands in the camera journal', () => {
    const cmds = deviceJournal().filter((r) => r.type === 'command' && r.accepted === true);
    const w = cmds.find((r) => r.payload_sha256 === wearerCmd?.payload_sha256);
    const p = cmds.find((r) => r.payload_sha256 === policyCmd?.payload_sha256);
    return w && p ? { w, p } : undefined;
  }, 15_000, () => cam.logs());
  assert.equal(journaled.w.command, 'assign_wearer');
  assert.deepEqual(journaled.w.wearer, { id: 'officer-0042', name: 'Dana Weber' });
  assert.equal(journaled.p.command, 'set_policy');
  // The results come back and are audited against the commands' hashes.
  await until('both results audited', () => auditOf(con).filter((r) => r.type === 'command_result' && r.accepted === true && [wearerCmd?.payload_sha256, policyCmd?.payload_sha256].includes(r.payload_sha256 as string)).length === 2, 10_000);
  await ctx.close();
});

void test("a supervisor schedules the team's duty from the fleet page: the camera starts its shift then, trigger schedule", { timeout: 60_000 }, async () => {
  const { ctx, page } = await login(browser, con, 'ana');
  await page.selectOption('#group', 'team-s');
  // The page's local time (datetime-local), a few seconds ahead; the page sends it as UTC.
  const local = (ms: number) => page.evaluate((t) => {
    const d = new Date(t);
    const p = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }, ms);
  const startMs = Math.ceil((Date.now() + 4000) / 1000) * 1000;
  await page.fill('#schedule-start', await local(startMs));
  await page.fill('#schedule-end', await local(startMs + 10 * 60_000));
  await page.click('#schedule-duty');
  await page.locator('#action-result', { hasText: `schedule_duty ${new Date(startMs).toISOString()}` }).waitFor({ timeout: 10_000 });
  const cmd = commandsSent().find((r) => r.command === 'schedule_duty');
  assert.equal(cmd?.group, 'team-s');
  assert.deepEqual(cmd?.sent, [CAM]);
  const s = await cam.waitFor((x) => x.state === 'RECORDING', 30_000, 'the scheduled shift');
  const start = shiftJournal(cam.dataDir, s.shiftId!)[0]!;
  assert.equal(start.trigger, 'schedule');
  assert.ok(Date.parse(String(start.at)) >= startMs - 1000, `started at ${String(start.at)}, scheduled ${new Date(startMs).toISOString()}`);
  await ctx.close();
});
