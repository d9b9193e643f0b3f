/**
 * The supervisor's console end to end (issue 22): real Chromium (Debian's, driven by
 * playwright-core) against `bodycam central console` over HTTPS, real mosquitto with the shipped
 * mTLS config and ACL (the console's certificate has CN `console`), two real agents on the sim
 * board in team `team-a`.
 *   - no anonymous page; a wrong password is refused; a viewer's command and acknowledgement are
 *     refused by the server (403), a POST without the CSRF token too;
 *   - a supervisor starts the team's duty from the page: both cameras' journals show trigger central;
 *   - a pause shows on an open fleet page with reason and time left, measured from the heartbeat's
 *     arrival at a central MQTT client to the page drawing it (< 1 s); a pause the budget refuses
 *     is an alert; so is ingest's refusal on central/alert, and a camera's unconfirmed_backlog fault;
 *   - a covered lens raises an alert; a supervisor acknowledges it with a note; the audit log
 *     records who and when (and an admin sees it on /audit, chain and signatures checked);
 *   - an agent's node process SIGKILLed shows LOST (the Will) and is back after its restart;
 *   - a session expires (a second console with a 3 s TTL);
 *   - alerts and the audit log survive a console restart; the team's duty ends from the page
 *     (shift_end.reason central); the audit log's chain and signatures check out with a few lines
 *     of node:crypto, as an auditor would check them.
 * Screenshots of the fleet page and a camera page are kept in .cache/results/screenshots/.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { runCli, startAgent, tempDataDir, cleanup, shiftJournal, type AgentProc } from '../helpers/agent.js';
import {
  SHOTS, auditOf, consoleAccounts, consoleConfig as harnessConfig, launchChromium, login as harnessLogin, pagePost, startConsole as harnessStart, type ConsoleProc, type User,
} from './harness.js';
import { startMosquitto, freePort, type Broker } from '../helpers/mosquitto.js';
import { agentConfig, centralKeys, lightBoard, sleep, type CentralKeys } from '../mqtt/fixtures.js';
import { pb } from '../../agent/telemetry/proto.js';
import type { MqttClient } from 'mqtt';

const GROUP = 'team-a';
const CAMS = ['cam-c1', 'cam-c2'] as const;

let dir: string;
let broker: Broker;
let board: string;
let keys: CentralKeys;
let browser: Browser;
let watcher: MqttClient;
const agents = new Map<string, AgentProc>();
const configs = new Map<string, Record<string, unknown>>();
const consoles: ConsoleProc[] = [];
/** Heartbeats as a central MQTT client received them: device → seq → {at, state}. */
const heartbeats = new Map<string, Map<number, { at: number; state: string }>>();

const consoleConfig = (name: string, o: { sessionTtlS: number; port: number; loginPerMinute: number }): string => harnessConfig(dir, broker, name, { ...o, groups: { [GROUP]: [...CAMS] } });
async function startConsole(configPath: string): Promise<ConsoleProc> {
  const c = await harnessStart(configPath);
  consoles.push(c);
  return c;
}
const login = (c: ConsoleProc, user: User, password?: string): Promise<{ ctx: BrowserContext; page: Page }> => harnessLogin(browser, c, user, password);
const row = (page: Page, id: string) => page.locator(`#fleet tr[data-id="${id}"]`);

before(async () => {
  dir = tempDataDir('console-');
  broker = await startMosquitto(dir);
  board = lightBoard(dir);
  keys = centralKeys(dir);
  await consoleAccounts(dir, keys.privatePem);
  watcher = await broker.connect('central');
  watcher.on('message', (topic, payload) => {
    const dev = topic.split('/')[2]!;
    const h = pb.Heartbeat.decode(payload);
    const m = heartbeats.get(dev) ?? new Map<number, { at: number; state: string }>();
    m.set(Number(h.seq), { at: Date.now(), state: pb.ShiftState[h.state] });
    heartbeats.set(dev, m);
  });
  await new Promise<void>((resolve, reject) => watcher.subscribe('bodycam/v1/+/heartbeat', { qos: 0 }, (e) => (e ? reject(e) : resolve())));
  await Promise.all(CAMS.map(async (id) => {
    const dataDir = join(dir, id);
    const prov = await runCli(['provision', '--data-dir', dataDir, '--device-id', id]);
    assert.equal(prov.code, 0, prov.stderr);
    const config = agentConfig(broker, id, { central: keys, policy: { heartbeatOnDutyS: 1, heartbeatOffDutyS: 5, obstructionOnsetS: 2, obstructionClearS: 2, pauseMaxPersonalNeeds: 1 } });
    (config.central as Record<string, unknown>).groupId = GROUP;
    configs.set(id, config);
    agents.set(id, await startAgent({ dataDir, board, config }));
  }));
  browser = await launchChromium();
  await startConsole(consoleConfig('console-1', { sessionTtlS: 600, port: await freePort(), loginPerMinute: 50 }));
});

after(async () => {
  await browser?.close();
  for (const c of consoles) await c.stop();
  for (const a of agents.values()) await a.kill('SIGKILL');
  watcher?.end(true);
  await broker?.stop();
  cleanup(dir);
});

void test('a bad config lists every problem (exit 2); a bad role is refused by console-user add', { timeout: 30_000 }, async () => {
  const bad = join(dir, 'bad.json');
  const good = JSON.parse(readFileSync(consoles[0]!.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
  writeFileSync(bad, JSON.stringify({ ...good, listen: { port: 70000 }, commandKey: join(dir, 'nope.pem'), groups: { a: ['cam-x'], b: ['cam-x'] }, extra: 1, s3: { credentialsFile: join(dir, 'no-operator.json') } }));
  const r = await runCli(['central', 'console', '--config', bad]);
  assert.equal(r.code, 2, r.stderr);
  for (const where of ['/listen/port', '/commandKey', '/groups/b', '/extra', '/s3/credentialsFile', '/s3/endpoint']) assert.match(r.stderr, new RegExp(where), r.stderr);
  const u = await runCli(['central', 'console-user', 'add', 'zed', '--role', 'god', '--users', join(dir, 'users.json')]);
  assert.equal(u.code, 2, u.stderr);
  assert.match(u.stderr, /--role must be one of viewer, supervisor, admin/);
});

void test('no anonymous page; a wrong password is refused (and audited)', { timeout: 30_000 }, async () => {
  const c = consoles[0]!;
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(`${c.base}/`);
  assert.equal(page.url(), `${c.base}/login`, 'the fleet page sends an anonymous visitor to the login page');
  for (const path of ['/api/fleet', '/api/camera/cam-c1', '/api/audit', '/static/fleet.js', '/audit']) {
    const r = await ctx.request.get(`${c.base}${path}`, { maxRedirects: 0 });
    assert.ok([401, 302].includes(r.status()), `${path}: ${r.status()}`);
  }
  await ctx.close();
  const { ctx: bad, page: badPage } = await login(c, 'ana', 'not-her-password');
  await badPage.locator('#error').filter({ hasText: /./ }).waitFor();
  assert.equal(await badPage.textContent('#error'), 'wrong name or password');
  assert.equal(badPage.url(), `${c.base}/login`);
  await bad.close();
  const failed = auditOf(c).filter((r) => r.type === 'login_failed');
  assert.equal(failed.at(-1)?.user, 'ana');
});

void test("a viewer sees the fleet but the server refuses the viewer's command (403), not only a hidden button", { timeout: 30_000 }, async () => {
  const c = consoles[0]!;
  const { ctx, page } = await login(c, 'vic');
  assert.equal(await page.isHidden('#team-actions'), true, 'no duty buttons for a viewer');
  const start = await pagePost(page, `/api/teams/${GROUP}/duty`, { action: 'start' });
  assert.equal(start.status, 403, JSON.stringify(start.body));
  assert.match(start.body.error ?? '', /needs role supervisor/);
  const ack = await pagePost(page, '/api/alerts/whatever/ack', { note: 'x' });
  assert.equal(ack.status, 403);
  const audit = await ctx.request.get(`${c.base}/api/audit`);
  assert.equal(audit.status(), 403, 'the audit trail is for admins');
  await ctx.close();
  // A supervisor's POST without the CSRF token is refused too.
  const sup = await login(c, 'ana');
  const noCsrf = await pagePost(sup.page, `/api/teams/${GROUP}/duty`, { action: 'start' }, false);
  assert.equal(noCsrf.status, 403, JSON.stringify(noCsrf.body));
  await sup.ctx.close();
  for (const a of agents.values()) assert.equal((await a.status()).state, 'OFF_DUTY', 'no refused command reached a camera');
  assert.ok(auditOf(c).some((r) => r.type === 'forbidden' && r.user === 'vic'));
});

let sup: { ctx: BrowserContext; page: Page };

void test("a supervisor starts the team's duty from the page: both cameras' journals show trigger central", { timeout: 60_000 }, async () => {
  const c = consoles[0]!;
  sup = await login(c, 'ana');
  const { page } = sup;
  for (const id of CAMS) await row(page, id).locator('.presence', { hasText: 'ONLINE' }).waitFor({ timeout: 15_000 });
  await page.selectOption('#group', GROUP);
  await page.click('#start-duty');
  await page.locator('#action-result', { hasText: 'start_duty sent to cam-c1, cam-c2' }).waitFor({ timeout: 10_000 });
  for (const id of CAMS) {
    const a = agents.get(id)!;
    const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 1, 30_000, `${id} recording`);
    assert.equal(shiftJournal(a.dataDir, s.shiftId!)[0]!.trigger, 'central', id);
    await row(page, id).locator('.state', { hasText: 'RECORDING (central)' }).waitFor({ timeout: 10_000 });
  }
  const cmd = auditOf(c).find((r) => r.type === 'command');
  assert.equal(cmd?.user, 'ana');
  assert.equal(cmd?.group, GROUP);
  assert.deepEqual(cmd?.sent, [...CAMS]);
  // Each camera's result comes back to the console and is audited against the command's hash.
  const until = Date.now() + 10_000;
  while (auditOf(c).filter((r) => r.type === 'command_result' && r.accepted === true).length < 2 && Date.now() < until) await sleep(100);
  assert.equal(auditOf(c).filter((r) => r.type === 'command_result' && r.payload_sha256 === cmd?.payload_sha256 && r.accepted === true).length, 2);
});

void test('a pause appears on the open fleet page within 1 s of its heartbeat, with reason and time left', { timeout: 60_000 }, async () => {
  const { page } = sup;
  const a = agents.get('cam-c1')!;
  await a.press('privacy');
  await a.waitFor((s) => s.state === 'PAUSED', 10_000, 'paused');
  const pauseCell = row(page, 'cam-c1').locator('.pause');
  await pauseCell.filter({ hasText: /PERSONAL_NEEDS · \d+ min \d+ s left/ }).waitFor({ timeout: 5000 });
  // Latency: the first PAUSED heartbeat's arrival at a central MQTT client → the page drawing it.
  await sleep(1500);
  const updates = await page.evaluate(() => (globalThis as unknown as { bodycamUpdates: Array<{ id: string; seq: number; state: string; t: number }> }).bodycamUpdates);
  const hbs = heartbeats.get('cam-c1')!;
  // Each heartbeat's first drawing (status messages redraw a row with the same heartbeat seq).
  const drawn = new Map<number, number>();
  for (const u of updates) if (u.id === 'cam-c1' && u.seq !== undefined && !drawn.has(u.seq)) drawn.set(u.seq, u.t);
  const lat = [...drawn].filter(([seq]) => hbs.has(seq)).map(([seq, t]) => t - hbs.get(seq)!.at);
  const firstPaused = updates.find((u) => u.id === 'cam-c1' && u.state === 'PAUSED')!;
  const pausedLatency = firstPaused.t - hbs.get(firstPaused.seq)!.at;
  console.log(`# heartbeat → fleet page: first PAUSED heartbeat drawn ${pausedLatency} ms after a central client received it; ${lat.length} heartbeats: max ${Math.max(...lat)} ms, median ${lat.sort((x, y) => x - y)[lat.length >> 1]} ms`);
  assert.ok(pausedLatency < 1000, `pause drawn ${pausedLatency} ms after its heartbeat`);
  assert.ok(Math.max(...lat) < 1000, `latencies ${lat.join(', ')}`);
  assert.match(await row(page, 'cam-c1').locator('.budget').textContent() ?? '', /used/);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'console-fleet.png'), fullPage: true });
  await a.press('privacy');
  await a.waitFor((s) => s.state === 'RECORDING', 10_000, 'resumed');
  // Policy allows one PERSONAL_NEEDS pause a shift: the second is refused by the camera, and its
  // pause_budget event is an alert on the page.
  await a.press('privacy');
  await page.locator('#alerts tr.unacked[data-kind="pause_budget"][data-device="cam-c1"]', { hasText: 'refused' }).waitFor({ timeout: 10_000 });
  assert.equal((await a.status()).state, 'RECORDING', 'the refused pause did not pause');
});

void test('a covered lens raises an alert; a supervisor acknowledges it with a note; the audit log records who and when', { timeout: 60_000 }, async () => {
  const c = consoles[0]!;
  const { page } = sup;
  const a = agents.get('cam-c2')!;
  await a.sim({ picture: 'black' });
  const alert = page.locator('#alerts tr.unacked[data-kind="obstruction"][data-device="cam-c2"]');
  await alert.waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('#alerts tbody tr').first().getAttribute('class'), 'unacked', 'unacknowledged alerts on top');
  await row(page, 'cam-c2').locator('.obstruction', { hasText: 'covered' }).waitFor({ timeout: 10_000 });
  // The camera page, while the lens is still covered.
  const cam = await sup.ctx.newPage();
  await cam.goto(`${c.base}/camera/cam-c2`);
  await cam.waitForSelector('body[data-ready="1"]');
  await cam.locator('#events tr[data-kind="obstruction"]').first().waitFor({ timeout: 15_000 });
  await cam.screenshot({ path: join(SHOTS, 'console-camera.png'), fullPage: true });
  await cam.close();
  const id = await alert.first().getAttribute('data-alert');
  await alert.first().locator('input[name="note"]').fill('called the wearer: strap slipped over the lens');
  const before = Date.now();
  await alert.first().locator('button').click();
  await page.locator(`#alerts tr.acked[data-alert="${id}"]`, { hasText: 'ana at' }).waitFor({ timeout: 5000 });
  const ack = auditOf(c).find((r) => r.type === 'alert_ack' && r.alert === id);
  assert.ok(ack, 'alert_ack in the audit log');
  assert.equal(ack.user, 'ana');
  assert.equal(ack.note, 'called the wearer: strap slipped over the lens');
  assert.ok(Math.abs(Date.parse(String(ack.at)) - before) < 5000, `acknowledged at ${String(ack.at)}`);
  await a.sim({ picture: 'live' });
  // An admin sees it on /audit, with the chain and its signatures checked.
  await sleep(2500); // auditSignS 2: the head gets signed
  const adm = await login(c, 'ada');
  await adm.page.goto(`${c.base}/audit`);
  await adm.page.waitForSelector('body[data-ready="1"]');
  assert.ok(await adm.page.locator('#audit tr[data-type="alert_ack"]', { hasText: 'ana' }).count() >= 1);
  assert.match(await adm.page.textContent('#check') ?? '', /hash chain intact · signatures valid · signed through #\d+/);
  await adm.ctx.close();
});

void test("an agent's node process SIGKILLed shows LOST (the Will) and is back after its restart", { timeout: 60_000 }, async () => {
  const { page } = sup;
  const a = agents.get('cam-c2')!;
  await a.kill('SIGKILL');
  const t0 = Date.now();
  await row(page, 'cam-c2').locator('.presence', { hasText: 'LOST' }).waitFor({ timeout: 20_000 });
  console.log(`# SIGKILL → LOST on the page: ${Date.now() - t0} ms`);
  await page.locator('#alerts tr.unacked[data-kind="lost"][data-device="cam-c2"]').waitFor({ timeout: 5000 });
  assert.equal(await row(page, 'cam-c2').locator('.presence').textContent(), 'LOST', 'still LOST while the agent is down');
  await page.screenshot({ path: join(SHOTS, 'console-fleet-lost.png'), fullPage: true });
  const back = await startAgent({ dataDir: a.dataDir, board, config: configs.get('cam-c2')! });
  agents.set('cam-c2', back);
  await row(page, 'cam-c2').locator('.presence', { hasText: 'ONLINE' }).waitFor({ timeout: 30_000 });
  await row(page, 'cam-c2').locator('.state', { hasText: 'RECORDING' }).waitFor({ timeout: 30_000 });
});

void test("ingest's refusal (bodycam/v1/central/alert) raises an alert on the open page", { timeout: 20_000 }, async () => {
  const ingest = await broker.connect('ingest');
  const alert = { format: 'bodycam-ingest-alert/1', kind: 'shift_refused', deviceId: 'cam-c1', shiftId: '20261204T000000Z-cam-c1', manifestSha256: 'ab'.repeat(32),
    reasons: [{ kind: 'object_sha256', where: 'seg-000002.ts', message: 'SHA-256 differs from the manifest' }], report: 'ingest/cam-c1/20261204T000000Z-cam-c1/result.json', worker: 'ingest-1', at: new Date().toISOString() };
  await new Promise<void>((resolve, reject) => ingest.publish('bodycam/v1/central/alert', JSON.stringify(alert), { qos: 1 }, (e) => (e ? reject(e) : resolve())));
  ingest.end(true);
  const r = sup.page.locator('#alerts tr.unacked[data-kind="ingest_refused"][data-device="cam-c1"]');
  await r.waitFor({ timeout: 5000 });
  assert.match(await r.textContent() ?? '', /seg-000002\.ts: SHA-256 differs/);
});

void test("a camera's unconfirmed_backlog fault event (closed evidence central has not confirmed, disk filling) raises an alert on the open page with the camera's detail", { timeout: 20_000 }, async () => {
  // The agent side (the fault raised on a real filling disk) is test/faults/custody.test.ts; here a
  // camera certificate of the fleet CA publishes the event the agent's outbox sends for it.
  const cam = await broker.connect('cam-c9');
  const detail = '3 closed periods (42 MiB) not confirmed by central, oldest 20261204T000000Z-cam-c9; the disk is filling: nothing unconfirmed is deleted; recording goes on under the storage guard';
  const line = JSON.stringify({ seq: 7, prev: '0'.repeat(64), at: new Date().toISOString(), type: 'fault', fault: 'unconfirmed_backlog', detail });
  const ev = pb.Event.encode({ seq: 7, deviceId: 'cam-c9', kind: pb.EventKind.EVENT_KIND_FAULT, type: 'fault', at: new Date().toISOString(), shiftId: '20261204T010000Z-cam-c9', journalLine: line }).finish();
  await new Promise<void>((resolve, reject) => cam.publish('bodycam/v1/cam-c9/event', Buffer.from(ev), { qos: 1 }, (e) => (e ? reject(e) : resolve())));
  cam.end(true);
  const r = sup.page.locator('#alerts tr.unacked[data-kind="unconfirmed_backlog"][data-device="cam-c9"]');
  await r.waitFor({ timeout: 5000 });
  assert.match(await r.textContent() ?? '', /3 closed periods \(42 MiB\) not confirmed by central/);
});

void test('a session expires (3 s TTL): the page goes back to the login page and the API answers 401; login attempts are throttled', { timeout: 30_000 }, async () => {
  const short = await startConsole(consoleConfig('console-2', { sessionTtlS: 3, port: await freePort(), loginPerMinute: 3 }));
  const { ctx, page } = await login(short, 'vic');
  assert.equal((await ctx.request.get(`${short.base}/api/fleet`)).status(), 200);
  await page.waitForURL(`${short.base}/login`, { timeout: 10_000 });
  assert.equal((await ctx.request.get(`${short.base}/api/fleet`)).status(), 401);
  await page.goto(`${short.base}/`);
  assert.equal(page.url(), `${short.base}/login`);
  await ctx.close();
  assert.ok(auditOf(short).some((r) => r.type === 'session_expired' && r.user === 'vic'));
  // loginPerMinute 3 on this console: the login above and two wrong passwords, then 429.
  const codes: number[] = [];
  const guess = await login(short, 'ana', 'guess-1');
  await guess.page.locator('#error', { hasText: 'wrong name or password' }).waitFor({ timeout: 5000 });
  for (const pw of ['guess-2', 'guess-3']) {
    await guess.page.fill('#password', pw);
    const [resp] = await Promise.all([guess.page.waitForResponse((r) => r.url().endsWith('/api/login')), guess.page.click('#submit')]);
    codes.push(resp.status());
  }
  await guess.page.locator('#error', { hasText: 'too many attempts' }).waitFor({ timeout: 5000 });
  await guess.ctx.close();
  assert.deepEqual(codes, [401, 429]);
  assert.ok(auditOf(short).some((r) => r.type === 'login_throttled'));
  await short.stop();
});

void test('alerts and the audit log survive a console restart; end_duty from the page; the audit log checks out without the console\'s code', { timeout: 40_000 }, async () => {
  await sup.ctx.close();
  const old = consoles.shift()!;
  await old.stop();
  const c = await startConsole(old.configPath);
  const { ctx, page } = await login(c, 'ana');
  await page.locator('#alerts tr.acked[data-kind="obstruction"]', { hasText: 'strap slipped' }).waitFor({ timeout: 5000 });
  await page.locator('#alerts tr.unacked[data-kind="lost"][data-device="cam-c2"]').waitFor({ timeout: 5000 });
  // The cameras' state comes back from retained status and the next heartbeats.
  for (const id of CAMS) await row(page, id).locator('.state', { hasText: 'RECORDING' }).waitFor({ timeout: 15_000 });
  await ctx.close();
  // The supervisor ends the team's duty from the restarted console.
  const sup2 = await login(c, 'ana');
  const shifts = new Map<string, string>();
  for (const id of CAMS) shifts.set(id, (await agents.get(id)!.status()).shiftId!);
  await sup2.page.selectOption('#group', GROUP);
  await sup2.page.click('#end-duty');
  await sup2.page.locator('#action-result', { hasText: 'end_duty sent to cam-c1, cam-c2' }).waitFor({ timeout: 10_000 });
  for (const id of CAMS) {
    const a = agents.get(id)!;
    const shiftId = shifts.get(id)!;
    await a.waitFor((x) => x.state === 'OFF_DUTY', 30_000, `${id} off duty`);
    assert.equal(shiftJournal(a.dataDir, shiftId).find((r) => r.type === 'shift_end')?.reason, 'central', id);
  }
  await sup2.ctx.close();
  await c.stop();
  // The audit log checked as an auditor would, without the console's code: the chain over the
  // exact line bytes, and every signature with the console's public key (the camera format).
  const lines = readFileSync(join(c.stateDir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean);
  const pub = createPublicKey(readFileSync(join(dir, 'console.key.pem')));
  let prev = '0'.repeat(64);
  let signed = -1;
  lines.forEach((line, i) => {
    const r = JSON.parse(line) as Record<string, unknown>;
    assert.equal(r.seq, i);
    assert.equal(r.prev, prev, `line ${i + 1} chained`);
    if (r.type === 'signature') {
      assert.equal(r.head, prev);
      const msg = Buffer.from(`bodycam-journal-signature-v1\n${String(r.device_id)}\naudit\n${String(r.covers_seq)}\n${String(r.head)}\n`);
      assert.ok(verify(null, msg, pub, Buffer.from(String(r.sig), 'base64')), `signature at line ${i + 1}`);
      signed = i;
    }
    prev = createHash('sha256').update(line).digest('hex');
  });
  assert.equal(signed, lines.length - 1, 'the log ends with its stop signature');
  const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(recs.some((r) => r.type === 'console_start') && recs.filter((r) => r.type === 'console_stop').length === 2, 'one chain across the restart');
  for (const t of ['login', 'login_failed', 'alert_ack', 'command', 'command_result', 'forbidden']) assert.ok(recs.some((r) => r.type === t), `audit has ${t}`);
  console.log(`# audit log: ${lines.length} records, ${recs.filter((r) => r.type === 'signature').length} signatures, ${recs.filter((r) => r.type === 'command').length} commands`);
  for (const a of agents.values()) await a.stop();
});
