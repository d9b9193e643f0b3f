/**
 * `bodycam central console` for tests: start one from a config file (waits for "console listening"),
 * stop it; log a user in through the real login page. (test/console/console.test.ts has its own
 * copy from before this helper existed.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CLI } from './agent.js';

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface ConsoleProc {
  readonly base: string;
  readonly stateDir: string;
  readonly child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

export async function startConsoleProc(configPath: string): Promise<ConsoleProc> {
  const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as { listen: { port: number }; stateDir: string };
  const child = spawn(process.execPath, [CLI, 'central', 'console', '--config', configPath], { env: { ...process.env, BODYCAM_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const until = Date.now() + 30_000;
  while (!log.includes('console listening')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`console did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base: `https://127.0.0.1:${cfg.listen.port}`,
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

/** Logs in through /login and waits for the fleet page to be ready. */
export async function loginAs(browser: Browser, base: string, name: string, password: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#name', name);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(`${base}/`);
  await page.waitForSelector('body[data-ready="1"]');
  return { ctx, page };
}
