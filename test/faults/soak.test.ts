/**
 * Soak: one shift survives 20 SIGKILLs of ffmpeg and 5 SIGKILLs of the agent's own node process
 * (the child `startAgent` spawned is node itself, not a wrapper), at random moments (seeded:
 * SOAK_SEED replays an order and its delays). The journal must account for each exactly once —
 * 20 `encoder_crash` and 5 `agent_restart` gaps — every second of the shift must be covered
 * (`bodycam verify` exit 0 with the device key), and the agent's memory must not grow.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, runCli, shiftJournal, tempDataDir, cleanup, alive, type AgentProc } from '../helpers/agent.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const agents: AgentProc[] = [];
const dirs: string[] = [];
after(async () => {
  for (const a of agents) await a.kill('SIGKILL').catch(() => undefined);
  for (const d of dirs) cleanup(d);
});

/** mulberry32: a small seeded generator, so a failing order can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

void test('soak: 20 ffmpeg SIGKILLs and 5 agent SIGKILLs in one shift → exactly 20 encoder_crash and 5 agent_restart gaps, every second covered (verify exit 0), agent RSS not growing', { timeout: 900_000 }, async () => {
  const seed = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`# soak seed ${seed} (SOAK_SEED=${seed} replays it)`);
  const rand = rng(seed);
  const dataDir = tempDataDir('bodycam-soak-');
  dirs.push(dataDir);
  const prov = await runCli(['provision', '--data-dir', dataDir, '--device-id', 'cam-soak']);
  assert.equal(prov.code, 0, prov.stderr);
  const events: Array<'encoder' | 'agent'> = [...Array<'encoder'>(20).fill('encoder'), ...Array<'agent'>(5).fill('agent')];
  for (let i = events.length - 1; i > 0; i--) {
    const k = Math.floor(rand() * (i + 1));
    [events[i], events[k]] = [events[k]!, events[i]!];
  }
  console.log(`# order: ${events.map((e) => (e === 'agent' ? 'A' : 'e')).join('')}`);

  let a = await startAgent({ dataDir });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  const first = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 40_000, 'recording');
  const shiftId = first.shiftId!;
  /** RSS samples per agent process (pid → KiB after each event). */
  const rss = new Map<number, number[]>();
  let lastSegments = first.segments;

  for (const [i, ev] of events.entries()) {
    // Each interruption is its own: media flows again before the next one.
    const ready = await a.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning && s.segments > lastSegments, 60_000, `event ${i}: fresh media before the kill`);
    assert.equal(ready.shiftId, shiftId, 'the same shift throughout');
    lastSegments = ready.segments;
    const samples = rss.get(a.pid) ?? [];
    samples.push(rssKiB(a.pid));
    rss.set(a.pid, samples);
    await sleep(Math.floor(rand() * 1900));
    if (ev === 'encoder') {
      const pid = (await a.status()).ext.encoder!.pid as number | null;
      assert.ok(pid, `event ${i}: an encoder to kill`);
      process.kill(pid, 'SIGKILL');
      await a.waitFor((s) => (s.ext.encoder!.pid as number | null) !== pid && s.encoderRunning, 30_000, `event ${i}: encoder restarted`);
    } else {
      const encoderPid = (await a.status()).ext.encoder!.pid as number | null;
      await a.kill('SIGKILL');
      assert.ok(!alive(a.pid), 'the agent process is gone');
      // The encoder dies with it (pdeathsig); wait until it has, so no two encoders overlap.
      for (let t = 0; encoderPid && alive(encoderPid) && t < 50; t++) await sleep(100);
      a = await startAgent({ dataDir });
      agents.push(a);
      const s = await a.waitFor((x) => x.state === 'RECORDING', 30_000, `event ${i}: resumed after agent kill`);
      assert.equal(s.shiftId, shiftId);
      lastSegments = s.segments;
    }
  }
  await a.waitFor((s) => s.state === 'RECORDING' && s.segments > lastSegments, 60_000, 'media after the last kill');
  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'shift ended');
  await a.stop();

  const j = shiftJournal(dataDir, shiftId);
  const gaps = j.filter((r) => r.type === 'gap');
  const count = (c: string): number => gaps.filter((g) => g.cause === c).length;
  const summary = [...new Set(gaps.map((g) => String(g.cause)))].map((c) => `${c}=${count(c)}`).join(' ');
  console.log(`# gaps: ${summary}`);
  const timeline = j
    .filter((r) => r.type !== 'signature')
    .map((r) => `${r.seq} ${r.type} ${String(r.cause ?? r.fault ?? r.what ?? '')} ${String(r.start ?? '').slice(11)}-${String(r.end ?? '').slice(11)} run=${String(r.run ?? '')}${r.recovered ? ' REC' : ''}`)
    .join('\n');
  if (count('encoder_crash') !== 20 || count('agent_restart') !== 5) console.log(timeline.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.equal(count('encoder_crash'), 20, `exactly 20 encoder_crash gaps (${summary})`);
  assert.equal(count('agent_restart'), 5, `exactly 5 agent_restart gaps (${summary})`);
  const v = await runCli(['verify', join(dataDir, 'shifts', shiftId), '--pubkey', join(dataDir, 'identity', 'device.pub.pem'), '--json'], { timeoutMs: 180_000 });
  assert.equal(v.code, 0, `verify: every second covered and the evidence intact\n${v.stdout.slice(0, 3000)}${v.stderr}`);

  // Memory: within each agent process, the last sample is not above the first by more than
  // allocator noise (a leak per encoder restart would show over 20 restarts).
  const lines: string[] = [];
  for (const [pid, s] of rss) {
    lines.push(`pid ${pid}: ${s.map((k) => Math.round(k / 1024)).join(' ')} MiB`);
    if (s.length >= 4) {
      const base = Math.min(...s.slice(1, 3));
      assert.ok(s.at(-1)! <= base * 1.25 + 8 * 1024, `agent ${pid} RSS grew from ${base} KiB to ${s.at(-1)} KiB`);
    }
  }
  console.log(`# agent RSS per process after each event: ${lines.join('; ')}`);
});
