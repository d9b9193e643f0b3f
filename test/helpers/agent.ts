/**
 * Test harness: runs the real agent (`node dist/agent/cli/main.js agent …`) as a child process on
 * a temp data dir and talks to it through its control socket, as `bodycam` does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { controlRequest } from '../../agent/control/client.js';
import { controlSocketPath, type ControlResponse } from '../../agent/control/protocol.js';
import type { StatusSnapshot } from '../../agent/status.js';
import type { JournalRecord } from '../../agent/evidence/journal.js';
import { AGENT_NODE_FLAGS } from '../../agent/node-flags.js';

export const REPO = resolve(new URL('../../..', import.meta.url).pathname);
export const CLI = join(REPO, 'dist/agent/cli/main.js');

export interface AgentOptions {
  dataDir?: string;
  board?: string;
  /** Agent config object (written to a file) or a path. */
  config?: Record<string, unknown> | string;
  env?: Record<string, string>;
  args?: string[];
  /** Wait for the control socket (default true). */
  waitReady?: boolean;
  /** Node/V8 flags before the CLI (default: the unit's AGENT_NODE_FLAGS, as the camera runs it). */
  nodeArgs?: readonly string[];
}

export interface AgentProc {
  readonly dataDir: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the agent logged (stderr), for failure messages. */
  logs(): string;
  status(): Promise<StatusSnapshot>;
  request(obj: Record<string, unknown>, timeoutMs?: number): Promise<ControlResponse>;
  press(button: 'shift' | 'privacy', o?: { holdS?: number; count?: number }): Promise<void>;
  sim(set: Record<string, unknown>): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  stop(): Promise<number | null>;
  waitFor(pred: (s: StatusSnapshot) => boolean, timeoutMs?: number, what?: string): Promise<StatusSnapshot>;
  exited: Promise<number | null>;
}

export function tempDataDir(prefix = 'bodycam-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startAgent(o: AgentOptions = {}): Promise<AgentProc> {
  const dataDir = o.dataDir ?? tempDataDir();
  const args = ['agent', '--board', o.board ?? 'sim', '--data-dir', dataDir];
  if (o.config !== undefined) {
    let path = o.config as string;
    if (typeof o.config !== 'string') {
      path = join(dataDir, '..', `${dataDir.split('/').pop()}-config.json`);
      writeFileSync(path, JSON.stringify(o.config));
    }
    args.push('--config', path);
  }
  args.push(...(o.args ?? []));
  const child = spawn(process.execPath, [...(o.nodeArgs ?? AGENT_NODE_FLAGS), CLI, ...args], { env: { ...process.env, BODYCAM_LOG: process.env.BODYCAM_LOG ?? 'info', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
    if (log.length > 2_000_000) log = log.slice(-1_000_000);
  });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
  let dead = false;
  void exited.then(() => (dead = true));

  const request = (obj: Record<string, unknown>, timeoutMs = 30_000): Promise<ControlResponse> => controlRequest(dataDir, obj, timeoutMs);
  const status = async (): Promise<StatusSnapshot> => {
    const r = await request({ op: 'status' });
    if (!r.ok) throw new Error(`status refused: ${r.error}`);
    return r.status as StatusSnapshot;
  };
  const proc: AgentProc = {
    dataDir,
    pid: child.pid!,
    child,
    logs: () => log,
    status,
    request,
    async press(button, p = {}) {
      const r = await request({ op: 'press', button, holdS: p.holdS ?? 0.1, count: p.count ?? 1 }, 60_000);
      if (!r.ok) throw new Error(`press refused: ${r.error}`);
    },
    async sim(set) {
      const r = await request({ op: 'sim', set });
      if (!r.ok) throw new Error(`sim refused: ${r.error}`);
    },
    async kill(signal = 'SIGKILL') {
      if (!dead) child.kill(signal);
      return exited;
    },
    async stop() {
      if (!dead) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const c = await exited;
      clearTimeout(t);
      return c;
    },
    async waitFor(pred, timeoutMs = 30_000, what = 'condition') {
      const until = Date.now() + timeoutMs;
      let last: StatusSnapshot | undefined;
      while (Date.now() < until) {
        if (dead) throw new Error(`agent exited while waiting for ${what}\n${log.slice(-4000)}`);
        try {
          last = await status();
          if (pred(last)) return last;
        } catch {
          /* socket not up yet */
        }
        await sleep(100);
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last status: ${JSON.stringify(last)?.slice(0, 1500)}\n${log.slice(-4000)}`);
    },
    exited,
  };
  if (o.waitReady !== false) {
    // Generous: a loaded 2-core CI box or an emulated VM can take many seconds to start node.
    const until = Date.now() + 60_000;
    while (!existsSync(controlSocketPath(dataDir))) {
      if (dead || Date.now() > until) throw new Error(`agent did not start (exit ${await Promise.race([exited, sleep(0).then(() => 'running')])})\n${log}`);
      await sleep(50);
    }
    await proc.waitFor(() => true, 30_000, 'control socket');
  }
  return proc;
}

/** Runs `bodycam …` to completion. */
export function runCli(args: string[], o: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    c.stdin.end(o.input ?? '');
  });
}

export function readJournal(path: string): JournalRecord[] {
  return readFileSync(path, 'utf8').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalRecord);
}

export function shiftJournal(dataDir: string, shiftId: string): JournalRecord[] {
  return readJournal(join(dataDir, 'shifts', shiftId, 'journal.jsonl'));
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  // startAgent writes a config object next to the data dir.
  rmSync(`${dir}-config.json`, { force: true });
}

/** Is a process with this pid alive? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
