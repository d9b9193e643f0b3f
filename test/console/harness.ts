/**
 * What the console's test files share: the console's config for the test broker, the console run
 * as `bodycam central console` (its own node process), operator accounts made with the CLI, a
 * login through the real login page in Chromium, a POST from inside a page with its session and
 * CSRF token, and the audit log read back.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CLI, REPO, runCli } from '../helpers/agent.js';
import type { Broker } from '../helpers/mosquitto.js';
import { sleep } from '../mqtt/fixtures.js';

export const SHOTS = join(REPO, '.cache', 'results', 'screenshots');
export const PASSWORDS = { ana: 'ana-supervises-42', vic: 'vic-only-looks-17', ada: 'ada-administers-99' };
export type User = keyof typeof PASSWORDS;

export interface ConsoleProc {
  readonly base: string;
  readonly configPath: string;
  readonly stateDir: string;
  readonly child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

export { launchChromium } from '../helpers/chromium.js';

/**
 * The keys a console needs in `dir` (central's command key as given, the console's own audit key)
 * and the accounts ana (supervisor), vic (viewer), ada (admin), made through the CLI as an operator makes them.
 */
export async function consoleAccounts(dir: string, commandKeyPem: string): Promise<void> {
  writeFileSync(join(dir, 'central-cmd.key.pem'), commandKeyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'console.key.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  for (const [name, role] of [['ana', 'supervisor'], ['vic', 'viewer'], ['ada', 'admin']] as const) {
    const pw = join(dir, `${name}.pw`);
    writeFileSync(pw, `${PASSWORDS[name]}\n`, { mode: 0o600 });
    const r = await runCli(['central', 'console-user', 'add', name, '--role', role, '--users', join(dir, 'users.json'), '--password-file', pw]);
    assert.equal(r.code, 0, r.stderr);
  }
}

export function consoleConfig(dir: string, broker: Broker, name: string, o: { sessionTtlS: number; port: number; loginPerMinute: number; groups: Record<string, string[]>; s3?: Record<string, unknown>; liveView?: Record<string, unknown> }): string {
  const c = broker.pki.client('console');
  const stateDir = join(dir, name);
  mkdirSync(stateDir, { recursive: true });
  const cfg = {
    listen: { host: '127.0.0.1', port: o.port },
    tls: { cert: broker.pki.serverCert, key: broker.pki.serverKey },
    mqtt: { url: broker.url, ca: broker.pki.ca, cert: c.cert, key: c.key },
    ...(o.s3 ? { s3: o.s3 } : {}),
    ...(o.liveView ? { liveView: o.liveView } : {}),
    usersFile: join(dir, 'users.json'),
    commandKey: join(dir, 'central-cmd.key.pem'),
    consoleKey: join(dir, 'console.key.pem'),
    stateDir,
    instance: name,
    sessionTtlS: o.sessionTtlS,
    loginPerMinute: o.loginPerMinute,
    auditSignS: 2,
    groups: o.groups,
  };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(cfg, null, 2));
  return path;
}

export async function startConsole(configPath: string): Promise<ConsoleProc> {
  const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as { listen: { port: number }; stateDir: string };
  const child = spawn(process.execPath, [CLI, 'central', 'console', '--config', configPath], { env: { ...process.env, BODYCAM_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const until = Date.now() + 30_000;
  while (!log.includes('console listening')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`console did not start:\n${log}`);
    await sleep(50);
  }
  return {
    base: `https://127.0.0.1:${cfg.listen.port}`,
    configPath,
    stateDir: cfg.stateDir,
    child,
    logs: () => log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Logs in through the login page; with the right password, waits for the fleet page to be drawn. */
export async function login(browser: Browser, c: ConsoleProc, user: User, password = PASSWORDS[user]): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1500, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${c.base}/login`);
  await page.fill('#name', user);
  await page.fill('#password', password);
  await page.click('#submit');
  if (password === PASSWORDS[user]) {
    await page.waitForURL(`${c.base}/`);
    await page.waitForSelector('body[data-ready="1"]');
  }
  return { ctx, page };
}

/** A POST from inside the page, with the page's session and CSRF token (as the page's own script sends it). */
export function pagePost(page: Page, url: string, body: unknown, withCsrf = true): Promise<{ status: number; body: { error?: string } }> {
  return page.evaluate(async ({ url, body, withCsrf }) => {
    const token = (await (await fetch('/api/csrf')).json() as { token: string }).token;
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(withCsrf ? { 'csrf-token': token } : {}) }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() as { error?: string } };
  }, { url, body, withCsrf });
}

/** The audit log's complete lines (a line the console is writing at this moment is not one yet). */
export const auditOf = (c: ConsoleProc): Array<Record<string, unknown>> => readFileSync(join(c.stateDir, 'audit.jsonl'), 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
