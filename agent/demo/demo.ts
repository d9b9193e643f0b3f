/**
 * `make demo`: one whole simulated shift on the sim board, narrated as it happens. It runs the
 * real agent and the real CLI on a temporary data dir, with a short demo policy so a
 * sensitive-site pause ends by itself within the demo: start, record, a personal pause, resume,
 * a sensitive-site pause that auto-resumes, an encoder crash the agent recovers from, the end.
 * Then it prints a summary and verifies the shift offline.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { controlRequest } from '../control/client.js';
import { controlSocketPath } from '../control/protocol.js';
import type { StatusSnapshot } from '../status.js';
import type { JournalRecord } from '../evidence/journal.js';
import { setTimeout as sleep } from 'node:timers/promises';

const CLI = resolve(new URL('../cli/main.js', import.meta.url).pathname);
const dataDir = mkdtempSync(join(tmpdir(), 'bodycam-demo-'));
const t0 = Date.now();
const stamp = (): string => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`;
const say = (msg: string): void => console.log(`${stamp()} ${msg}`);
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

/** Runs the real `bodycam` CLI without blocking the journal narration. */
function cli(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI, ...args, '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`bodycam ${args.join(' ')} failed (${code}): ${err}`))));
  });
}

async function status(): Promise<StatusSnapshot> {
  const r = await controlRequest(dataDir, { op: 'status' });
  return r.status as StatusSnapshot;
}

async function until(pred: (s: StatusSnapshot) => boolean, what: string, ms = 30_000): Promise<StatusSnapshot> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const s = await status().catch(() => undefined);
    if (s && pred(s)) return s;
    await sleep(100);
  }
  throw new Error(`demo: timed out waiting for ${what}`);
}

/** Narrates journal records as they are written (the journal is the story). */
function describeRecord(r: JournalRecord): string | undefined {
  switch (r.type) {
    case 'shift_start':
      return `journal line ${r.seq + 1} shift_start — shift ${r.shift_id}, started by ${String(r.trigger ?? 'button')}, wearer ${r.wearer ? JSON.stringify(r.wearer) : 'unassigned (fault)'}`;
    case 'segment':
      return `journal line ${r.seq + 1} segment ${r.file}: ${r.frames} frames, ${(Number(r.bytes) / 1024).toFixed(0)} KiB${r.recovered ? ' (recovered from a killed encoder)' : ''}`;
    case 'pause':
      return `journal line ${r.seq + 1} pause — reason ${r.reason}, ends by itself after ${r.max_s} s`;
    case 'resume':
      return `journal line ${r.seq + 1} resume — ${r.cause} after ${r.paused_s} s (${r.reason})`;
    case 'gap':
      return `journal line ${r.seq + 1} gap — ${r.cause}, ${((Date.parse(String(r.end)) - Date.parse(String(r.start))) / 1000).toFixed(2)} s without media`;
    case 'fault':
      return `journal line ${r.seq + 1} fault — ${r.fault}: ${String(r.detail).slice(0, 90)}`;
    case 'gesture':
      return `journal line ${r.seq + 1} gesture ${r.gesture} → ${r.outcome} (feedback: ${r.feedback})`;
    case 'signature':
      return `journal line ${r.seq + 1} signature over lines 1–${Number(r.covers_seq) + 1} (${r.why})`;
    case 'note':
      return `journal line ${r.seq + 1} note — ${r.what}`;
    case 'duty':
      return `journal line ${r.seq + 1} duty — ${r.what}${r.what === 'battery_forecast' ? `: ${r.lasts === false ? 'the battery will NOT last' : 'the battery lasts'} the expected ${Math.round(Number(r.expected_s) / 3600)} h` : ''}`;
    case 'recovery':
      return `journal line ${r.seq + 1} recovery — ${r.what}${r.fault ? ` (${r.fault})` : ''}`;
    case 'shift_end':
      return `journal line ${r.seq + 1} shift_end — ${r.reason}, ${r.segments} segments, ${r.media_s} s of media`;
    default:
      return `journal line ${r.seq + 1} ${r.type}`;
  }
}

function follow(): () => void {
  let printed = 0;
  const timer = setInterval(() => {
    const root = join(dataDir, 'shifts');
    if (!existsSync(root)) return;
    const id = readdirSync(root).sort().at(-1);
    if (!id) return;
    const lines = readFileSync(join(root, id, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean);
    for (; printed < lines.length; printed++) {
      const d = describeRecord(JSON.parse(lines[printed]!) as JournalRecord);
      if (d) console.log(`${stamp()}   ${d}`);
    }
  }, 100);
  return () => clearInterval(timer);
}

async function main(): Promise<void> {
  console.log(bold('bodycam demo — one simulated shift on the sim board'));
  console.log(`data dir: ${dataDir}\n`);
  say(`provision: ${await cli('provision', '--device-id', 'demo-cam')}`);
  const config = join(dataDir, '..', `${dataDir.split('/').pop()}-config.json`);
  // Demo policy: the sensitive-site pause may last 8 s (30 min in service), warning 3 s before.
  writeFileSync(config, JSON.stringify({ policy: { sensitiveSiteMaxS: 8, autoResumeWarningS: 3, signEverySegments: 4 } }, null, 2));
  const agent = spawn(process.execPath, [CLI, 'agent', '--board', 'sim', '--data-dir', dataDir, '--config', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, BODYCAM_LOG: 'warn' },
  });
  let agentLog = '';
  agent.stderr.on('data', (d: Buffer) => (agentLog += d.toString()));
  const stopFollow = follow();
  try {
    while (!existsSync(controlSocketPath(dataDir))) await sleep(50);
    await until(() => true, 'agent');
    say('agent is up, OFF_DUTY');

    say(bold('wearer holds SHIFT for 2.1 s → shift starts'));
    await cli('press', 'shift', '--hold', '2.1');
    await until((s) => s.segments >= 3, 'recording');
    say(`recording: ${(await status()).segments} segments so far; red LED ${(await status()).outputs.led_rec ? 'on' : 'off'}`);

    say(bold('wearer presses PRIVACY once → pause for personal needs'));
    await cli('press', 'privacy');
    let s = await until((x) => x.state === 'PAUSED', 'pause');
    say(`state ${s.state} (${s.pauseReason}, ${s.pauseLeftS} s left) — nothing is recorded`);
    await sleep(3000);
    say(bold('wearer presses PRIVACY → resume'));
    await cli('press', 'privacy');
    await until((x) => x.state === 'RECORDING' && x.segments >= s.segments + 2, 'resume');

    say(bold('wearer double-presses PRIVACY → pause at a sensitive site (demo maximum 8 s)'));
    await cli('press', 'privacy', '--count', '2');
    s = await until((x) => x.state === 'PAUSED', 'sensitive pause');
    say(`state ${s.state} (${s.pauseReason}); the wearer does nothing…`);
    s = await until((x) => x.state === 'RECORDING', 'auto resume', 20_000);
    say('the pause ended by itself at its maximum; recording again');
    await until((x) => x.segments >= s.segments + 2, 'recording after auto resume');

    const pid = (await status()).ext.encoder?.pid as number | null;
    say(bold(`fault injection: SIGKILL the encoder (pid ${pid})`));
    if (pid) process.kill(pid, 'SIGKILL');
    s = await until((x) => x.encoderRestarts >= 1 && x.encoderRunning, 'encoder restart');
    // The crash's fault clears with fresh media (others, e.g. `unassigned`, stay: no wearer here).
    await until((x) => x.segments >= s.segments + 2 && !('encoder_crash' in x.faults), 'recording after the crash');
    say('the supervisor restarted the encoder; the gap is journaled with its cause');

    say(bold('wearer holds SHIFT 3.1 s, then presses SHIFT again within 5 s → shift ends'));
    await cli('press', 'shift', '--hold', '3.1');
    await cli('press', 'shift');
    await until((x) => x.state === 'OFF_DUTY', 'shift end');
    await sleep(300);
  } finally {
    stopFollow();
    agent.kill('SIGTERM');
    await new Promise((r) => agent.on('exit', r));
  }

  const shiftId = readdirSync(join(dataDir, 'shifts')).sort().at(-1)!;
  const shiftDir = join(dataDir, 'shifts', shiftId);
  const recs = readFileSync(join(shiftDir, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as JournalRecord);
  const segs = recs.filter((r) => r.type === 'segment');
  const span = (r: JournalRecord): number => (Date.parse(String(r.end)) - Date.parse(String(r.start))) / 1000;
  console.log('\n' + bold('summary'));
  console.log(`  shift        ${shiftId}`);
  console.log(`  segments     ${segs.length} (${segs.filter((r) => r.recovered).length} recovered after the crash), ${segs.reduce((a, r) => a + span(r), 0).toFixed(1)} s of media, ${segs.reduce((a, r) => a + Number(r.frames), 0)} frames`);
  const pauses = recs.filter((r) => r.type === 'pause');
  const resumes = recs.filter((r) => r.type === 'resume');
  pauses.forEach((p, i) => console.log(`  pause        ${p.reason}: ${resumes[i]?.paused_s ?? '?'} s, resumed ${resumes[i]?.cause ?? '?'}`));
  for (const g of recs.filter((r) => r.type === 'gap')) console.log(`  gap          ${g.cause}: ${span(g).toFixed(2)} s`);
  console.log(`  signatures   ${recs.filter((r) => r.type === 'signature').length}`);
  const html = join(dataDir, 'report.html');
  const v = spawnSync(process.execPath, [CLI, 'verify', shiftDir, '--pubkey', join(dataDir, 'identity', 'device.pub.pem'), '--html', html], { encoding: 'utf8' });
  console.log('\n' + bold(`bodycam verify → exit ${v.status}`));
  console.log(v.stdout.trim().split('\n').map((l) => '  ' + l).join('\n'));
  console.log(`\n  timeline for a supervisor: ${html}`);
  console.log(`  evidence: ${shiftDir}`);
  if (v.status !== 0) {
    console.error(agentLog.slice(-3000));
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
