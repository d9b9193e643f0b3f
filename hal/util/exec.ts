/**
 * Runs a short-lived hardware tool (v4l2-ctl, gpioinfo, gpiodetect…) with a time limit and
 * captures its output. Tools are spawned without a shell so a device or line name from a board
 * config can never be interpreted as shell syntax.
 */
import { spawn } from 'node:child_process';
import { DeviceError } from '../../agent/lib/errors.js';

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(cmd: string, args: readonly string[], opts: { timeoutMs?: number; device?: string } = {}): Promise<ToolResult> {
  const device = opts.device ?? cmd;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A wedged driver can hang an ioctl forever; never let a probe hang the agent with it.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 10_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new DeviceError(device, `cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a tool and requires exit 0; the error names the device and carries the tool's stderr. */
export async function runToolOk(cmd: string, args: readonly string[], opts: { timeoutMs?: number; device?: string } = {}): Promise<string> {
  const r = await runTool(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').slice(-3).join(' | ') || `exit code ${String(r.code)}`;
    throw new DeviceError(opts.device ?? cmd, `${cmd} ${args.join(' ')} failed: ${why}`);
  }
  return r.stdout;
}
