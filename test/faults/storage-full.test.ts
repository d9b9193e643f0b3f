/**
 * Storage fills mid-shift, for real: the data dir is a 96 MiB tmpfs; a filler file takes the free
 * space down to a different amount in each of 10 rounds (all below the policy's storage floor),
 * and is removed again. The agent must stay up, the journal must parse completely at every
 * moment, each episode must be one `storage_full` gap with exact bounds, the encoder must not be
 * restarted in a loop against the full disk, recording must resume by itself when space returns,
 * a restart must resume the same shift, and the ended shift must verify with the device key.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, runCli, shiftJournal, type AgentProc } from '../helpers/agent.js';
import { chainProblem } from '../helpers/media.js';
import { mountTmpfs, fillLeaving, freeBytes, derivedBoard, type Mounted } from '../helpers/fs-limits.js';

const MiB = 1024 * 1024;
const FLOOR_MB = 8;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const agents: AgentProc[] = [];
const mounts: Mounted[] = [];
after(async () => {
  for (const a of agents) await a.kill('SIGKILL').catch(() => undefined);
  for (const m of mounts) m.umount();
});

/** Samples the journal every 100 ms: every line complete JSON, chain intact, at every moment. */
function watchJournal(path: string): { stop(): { samples: number; problems: string[] } } {
  let samples = 0;
  const problems: string[] = [];
  const t = setInterval(() => {
    if (!existsSync(path)) return;
    samples++;
    try {
      const p = chainProblem(path);
      if (p) problems.push(p);
    } catch (e) {
      problems.push(`unparsable: ${(e as Error).message}`);
    }
  }, 100);
  return {
    stop() {
      clearInterval(t);
      return { samples, problems };
    },
  };
}

void test('storage filled mid-shift in 10 rounds: forecast warns at start, agent stays up, journal always parses, one storage_full gap per episode, no restart storm, recording resumes, restart resumes the shift, shift verifies', { timeout: 600_000 }, async () => {
  const m = mountTmpfs(96);
  mounts.push(m);
  const dataDir = join(m.dir, 'data');
  const prov = await runCli(['provision', '--data-dir', dataDir, '--device-id', 'cam-storage']);
  assert.equal(prov.code, 0, prov.stderr);
  const board = derivedBoard('sim', m.dir, { storage: { minFreeMb: 40 } });
  const config = { policy: { storageFloorMb: FLOOR_MB } };
  let a = await startAgent({ dataDir, board, config });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  const started = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 2, 40_000, 'recording');
  const shiftId = started.shiftId!;
  // 96 MiB cannot hold a 12-hour shift: the forecast at shift start says so (status, journal → central).
  assert.match(started.faults.storage_forecast ?? '', /a 12 h shift needs/, 'storage forecast warning at shift start');
  assert.ok(shiftJournal(dataDir, shiftId).some((r) => r.type === 'fault' && r.fault === 'storage_forecast'), 'the forecast is journaled');
  const journalPath = join(dataDir, 'shifts', shiftId, 'journal.jsonl');
  const watch = watchJournal(journalPath);
  const filler = join(m.dir, 'filler.bin');

  // Bytes left free per round: from nothing at all to just under the floor.
  const leaves = [0, 4096, 64 * 1024, 512 * 1024, 1 * MiB, 2 * MiB, 3 * MiB, 5 * MiB, 6.5 * MiB, 7.5 * MiB];
  const runsPerEpisode: number[] = [];
  for (const [i, leave] of leaves.entries()) {
    const before = await a.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning, 60_000, `round ${i}: recording before the fill`);
    const segsBefore = before.segments;
    await a.waitFor((s) => s.segments >= segsBefore + 1, 30_000, `round ${i}: a segment before the fill`);
    const runBefore = (await a.status()).ext.encoder!.run as number;
    fillLeaving(m.dir, filler, leave);
    const held = await a.waitFor((s) => 'storage_full' in s.faults && s.state === 'FAULT' && !s.encoderRunning, 30_000, `round ${i} (${leave} B free): recording held at the floor`);
    assert.ok(held.storage!.freeBytes < FLOOR_MB * MiB, `round ${i}: free space below the floor when held`);
    // Held for a while: the encoder is not restarted against the full disk.
    await sleep(3000);
    const during = await a.status();
    assert.equal(during.state, 'FAULT', `round ${i}: still held (not RECORDING without an encoder)`);
    runsPerEpisode.push((during.ext.encoder!.run as number) - runBefore);
    rmSync(filler);
    const back = await a.waitFor((s) => s.state === 'RECORDING' && !('storage_full' in s.faults) && s.segments >= held.segments + 1, 60_000, `round ${i}: recording resumed by itself after space returned`);
    assert.equal(back.shiftId, shiftId, 'the same shift goes on');
    assert.ok(freeBytes(m.dir) > FLOOR_MB * MiB);
  }
  const seen = watch.stop();
  assert.ok(seen.samples > 100, `the journal was sampled often (${seen.samples})`);
  assert.deepEqual(seen.problems, [], 'journal.jsonl parsed completely with an intact chain at every sample');
  console.log(`# encoder runs started per storage episode: ${runsPerEpisode.join(', ')}`);
  for (const [i, n] of runsPerEpisode.entries()) assert.ok(n <= 2, `round ${i}: at most one restart attempt before the hold (${n} runs), no restart storm`);

  const j = shiftJournal(dataDir, shiftId);
  const gaps = j.filter((r) => r.type === 'gap' && r.cause === 'storage_full');
  assert.equal(gaps.length, leaves.length, `one storage_full gap per episode: ${j.filter((r) => r.type === 'gap').map((r) => r.cause).join(', ')}`);
  for (const g of gaps) {
    const s = Date.parse(String(g.start));
    const e = Date.parse(String(g.end));
    assert.ok(Number.isFinite(s) && Number.isFinite(e) && e > s, `gap bounds ${g.start} → ${g.end}`);
    const next = j.find((r) => r.seq > g.seq && r.type === 'segment');
    assert.ok(next && Date.parse(String(next.start)) === e, 'the gap ends exactly where media starts again');
  }
  assert.equal(j.filter((r) => r.type === 'gap' && r.cause === 'encoder_crash').length, 0, 'no episode is mislabelled as an encoder crash');

  // A restart (SIGKILL of the agent's own node process) resumes the same shift.
  await a.kill('SIGKILL');
  a = await startAgent({ dataDir, board, config });
  agents.push(a);
  const resumed = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 60_000, 'resumed after restart');
  assert.equal(resumed.shiftId, shiftId, 'a restart resumes the same shift');
  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'shift ended');
  await a.stop();
  const v = await runCli(['verify', join(dataDir, 'shifts', shiftId), '--pubkey', join(dataDir, 'identity', 'device.pub.pem')], { timeoutMs: 120_000 });
  assert.equal(v.code, 0, `verify: ${v.stdout}${v.stderr}`);
});
