/**
 * SIGHUP (a service manager's reload, a stray `kill -HUP`) must not end the agent — Node's
 * default would, and the shift would lose media. It re-reads the config file's policy: a valid
 * one applies (journaled with source config_reload), an invalid one is reported and ignored.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, tempDataDir, cleanup, readJournal, type AgentProc } from '../helpers/agent.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const agents: AgentProc[] = [];
after(async () => {
  for (const a of agents) {
    await a.kill('SIGKILL').catch(() => undefined);
    cleanup(a.dataDir);
  }
});

void test('SIGHUP keeps the agent recording and applies the config file\'s new policy; an invalid file is ignored with the policy kept', { timeout: 120_000 }, async () => {
  const dataDir = tempDataDir('bodycam-hup-');
  const cfg = join(dataDir, '..', `${dataDir.split('/').pop()}-hup.json`);
  writeFileSync(cfg, JSON.stringify({ policy: { personalNeedsMaxS: 600 } }));
  const a = await startAgent({ dataDir, config: cfg });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  const s0 = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 40_000, 'recording');
  writeFileSync(cfg, JSON.stringify({ policy: { personalNeedsMaxS: 300 } }));
  process.kill(a.pid, 'SIGHUP');
  await sleep(1500);
  writeFileSync(cfg, '{ "policy": { "personalNeedsMaxS": "soon" ');
  process.kill(a.pid, 'SIGHUP');
  const s1 = await a.waitFor((s) => s.segments >= s0.segments + 2, 30_000, 'still recording after two SIGHUPs');
  assert.equal(s1.state, 'RECORDING');
  assert.equal(s1.shiftId, s0.shiftId);
  const j = readJournal(join(dataDir, 'shifts', s0.shiftId!, 'journal.jsonl'));
  const reloads = j.filter((r) => r.type === 'policy' && r.source === 'config_reload');
  assert.equal(reloads.length, 1, 'the valid reload is journaled once, the invalid one not applied');
  assert.equal((reloads[0]!.policy as { personalNeedsMaxS: number }).personalNeedsMaxS, 300);
  assert.match(a.logs(), /SIGHUP: config not reloaded/);
  // The pause maximum in force is the reloaded one.
  await a.press('privacy');
  await sleep(1300);
  const paused = await a.waitFor((s) => s.state === 'PAUSED', 10_000, 'paused');
  assert.ok(paused.pauseLeftS !== null && paused.pauseLeftS <= 300, `pause ends by itself within the reloaded 300 s (${paused.pauseLeftS})`);
  cleanup(cfg);
});
