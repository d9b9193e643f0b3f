/**
 * Recovery costs of the camera's own failures, with the real agent and real ffmpeg:
 * - agent SIGKILL (its own node process) → RECORDING again (state RECORDING with an encoder
 *   running), median and max of 5, beside a cold agent start to its control socket (the part of
 *   the recovery that is node starting);
 * - space returning (filler removed from a 96 MiB tmpfs below the storage floor) → the next
 *   sealed segment, median of 3, beside one segment's length (the least it can be).
 * Printed, never asserted.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchRow, BenchSuite } from './types.js';
import { startAgent, tempDataDir, cleanup, type AgentProc } from '../helpers/agent.js';
import { mountTmpfs, fillLeaving, derivedBoard } from '../helpers/fs-limits.js';
import { median, sized } from './measure.js';

const env = { BODYCAM_LOG: 'warn' };

async function agentKill(rows: BenchRow[]): Promise<void> {
  const dataDir = tempDataDir('bench-kill-');
  const cold: number[] = [];
  const back: number[] = [];
  let a: AgentProc | undefined;
  try {
    for (let i = 0; i < sized(3, 1); i++) {
      const d = tempDataDir('bench-cold-');
      const t0 = performance.now();
      const c = await startAgent({ dataDir: d, env });
      cold.push((performance.now() - t0) / 1000);
      await c.stop();
      cleanup(d);
    }
    a = await startAgent({ dataDir, env });
    await a.press('shift', { holdS: 2.1 });
    await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 40_000, 'recording');
    for (let i = 0; i < sized(5, 1); i++) {
      await a.kill('SIGKILL');
      const t0 = performance.now();
      a = await startAgent({ dataDir, env });
      await a.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning, 60_000, 'recording again');
      back.push((performance.now() - t0) / 1000);
      await a.waitFor((s) => s.segments >= 1 && s.state === 'RECORDING', 60_000, 'a segment');
    }
  } finally {
    await a?.kill('SIGKILL');
    cleanup(dataDir);
  }
  const coldMed = median(cold);
  rows.push({ metric: 'agent SIGKILL → RECORDING again (median of 5)', value: median(back), unit: 's', baseline: coldMed, baselineLabel: 'cold agent start to control socket', target: '≤ 2 s' });
  rows.push({ metric: 'agent SIGKILL → RECORDING again (max of 5)', value: Math.max(...back), unit: 's', baseline: coldMed, baselineLabel: 'cold agent start to control socket' });
}

async function spaceReturns(rows: BenchRow[]): Promise<void> {
  const m = mountTmpfs(96, 'bench-space-');
  const dataDir = join(m.dir, 'data');
  const board = derivedBoard('sim', m.dir, { storage: { minFreeMb: 40 } });
  const times: number[] = [];
  const a = await startAgent({ dataDir, board, config: { policy: { storageFloorMb: 8 } }, env });
  try {
    await a.press('shift', { holdS: 2.1 });
    await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 40_000, 'recording');
    const filler = join(m.dir, 'filler');
    for (let i = 0; i < sized(3, 1); i++) {
      await a.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning, 60_000, 'recording');
      fillLeaving(m.dir, filler, 1024 * 1024);
      const held = await a.waitFor((s) => s.state === 'FAULT' && 'storage_full' in s.faults && !s.encoderRunning, 30_000, 'held');
      const t0 = performance.now();
      rmSync(filler);
      await a.waitFor((s) => s.segments > held.segments, 60_000, 'next sealed segment');
      times.push((performance.now() - t0) / 1000);
    }
  } finally {
    await a.kill('SIGKILL');
    m.umount();
  }
  rows.push({ metric: 'space returned → next sealed segment (median of 3)', value: median(times), unit: 's', baseline: 2, baselineLabel: 'one segment (segmentS)', note: 'storage guard polls statfs every 1 s' });
}

export async function faultsSuite(): Promise<BenchSuite> {
  return {
    name: 'faults',
    run: async () => {
      const rows: BenchRow[] = [];
      await agentKill(rows);
      await spaceReturns(rows);
      return rows;
    },
  };
}
