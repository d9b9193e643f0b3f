/**
 * The pause budget end to end on the sim board with a real mosquitto: with a budget of two
 * PERSONAL_NEEDS pauses, the second pause raises the 80 % warning and the third is refused
 * (recording goes on); both reach central as EVENT_KIND_PAUSE_BUDGET events; the budget use
 * survives a SIGKILL of the agent (recomputed from the shift journal); heartbeats and status carry
 * it; the shift verifies and `bodycam verify --json` / `--html` show the use and the refusal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { tempDataDir, runCli, shiftJournal } from '../helpers/agent.js';
import { pb } from '../../agent/telemetry/proto.js';
import type { VerifyReport } from '../../agent/evidence/verify/report.js';
import { Observer, mqttStage, agentConfig } from './fixtures.js';

let obs: Observer | undefined;

const stage = mqttStage('mqtt-pause-budget-');

const DEVICE = 'cam-pb1';

void test('a third pause over a budget of two is refused and journaled, its event reaches mosquitto, the use survives a SIGKILL, verify --json shows use and refusal', { timeout: 180_000 }, async () => {
  obs = await stage.observe(DEVICE);
  const dataDir = tempDataDir('pause-budget-agent-');
  const prov = await runCli(['provision', '--data-dir', dataDir, '--device-id', DEVICE]);
  assert.equal(prov.code, 0, prov.stderr);
  const cfg = agentConfig(stage.broker, DEVICE, { policy: { shiftStartHoldS: 0.5, shiftEndHoldS: 1, doublePressS: 0.3, heartbeatOnDutyS: 1, pauseMaxPersonalNeeds: 2, signEverySegments: 1 } });
  let a = await stage.startAgent({ dataDir, config: cfg });
  await a.press('shift', { holdS: 0.6 });
  const s0 = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 1, 30_000, 'recording');
  const shiftId = s0.shiftId!;
  const pause = async (n: number): Promise<void> => {
    await a.press('privacy');
    await a.waitFor((s) => s.state === 'PAUSED', 10_000, `pause ${n}`);
    // A resume press lands at once: stay paused long enough for paused_s (0.1 s steps) to count.
    await new Promise((r) => setTimeout(r, 400));
    await a.press('privacy');
    await a.waitFor((s) => s.state === 'RECORDING' && s.encoderRunning, 15_000, `resume ${n}`);
  };
  await pause(1);
  // Signatures after the pause: the restart's view of the journal no longer holds its record, so
  // the use must come from folding every record.
  const s1 = await a.status();
  await a.waitFor((s) => s.segments >= s1.segments + 2, 30_000, 'two signed segments after the pause');

  // The agent dies; the restarted one knows one pause was used (from the journal alone).
  await a.kill('SIGKILL');
  a = await stage.startAgent({ dataDir, config: cfg });
  const resumed = await a.waitFor((s) => s.shiftId === shiftId && s.state === 'RECORDING' && s.encoderRunning, 30_000, 'shift resumed after SIGKILL');
  assert.equal(resumed.pauseUse?.reasons.PERSONAL_NEEDS.pauses, 1, `budget use after the restart: ${JSON.stringify(resumed.pauseUse)}`);
  assert.equal(resumed.pauseUse?.reasons.PERSONAL_NEEDS.maxPauses, 2);

  await pause(2);
  await a.press('privacy');
  // The refused press resolves after the double-press window; recording never stops.
  await a.waitFor((s) => s.pauseUse?.refused === 1, 10_000, 'third pause refused');
  const s3 = await a.status();
  assert.equal(s3.state, 'RECORDING');
  assert.equal(s3.encoderRunning, true);
  assert.deepEqual(s3.pauseUse?.reasons.PERSONAL_NEEDS && { pauses: s3.pauseUse.reasons.PERSONAL_NEEDS.pauses, refused: s3.pauseUse.reasons.PERSONAL_NEEDS.refused }, { pauses: 2, refused: 1 });

  const cli = await runCli(['status', '--data-dir', dataDir]);
  assert.match(cli.stdout, /pause budget\s+PERSONAL_NEEDS 2\/2 \([\d.]+s, 1 refused\)/);

  const j = shiftJournal(dataDir, shiftId);
  assert.equal(j.filter((r) => r.type === 'pause').length, 2, 'only two pauses were taken');
  const refusedGesture = j.find((r) => r.type === 'gesture' && r.outcome === 'refused_pause_budget');
  assert.ok(refusedGesture, 'the refused press is a journaled gesture');
  assert.equal(refusedGesture.budget, 'pauses_personal_needs');
  assert.equal(refusedGesture.feedback, 'refused');
  assert.equal(refusedGesture.ack, 'haptic', 'the press was acknowledged at once');
  assert.ok(Date.parse(String(refusedGesture.pressed_at)) < Date.parse(refusedGesture.at), 'pressed_at precedes the resolution (recording ran meanwhile)');

  // Central gets both budget events (QoS 1, via the outbox) and heartbeats with the use.
  const budgetEvents = await obs.waitFor(() => {
    const evs = obs!.events().filter((e) => e.kind === pb.EventKind.EVENT_KIND_PAUSE_BUDGET);
    return evs.length >= 2 ? evs : undefined;
  }, 15_000, 'two pause_budget events at central');
  const lines = budgetEvents.map((e) => JSON.parse(e.journalLine) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => [l.what, l.budget, l.used, l.limit]), [['warning', 'pauses_personal_needs', 2, 2], ['refused', 'pauses_personal_needs', 2, 2]]);
  assert.ok(budgetEvents.every((e) => e.type === 'pause_budget' && e.shiftId === shiftId));
  const hb = await obs.waitFor(() => obs!.heartbeats().reverse().find((h) => h.pauseUse && h.pauseUse.refused === 1), 15_000, 'a heartbeat with the refusal');
  const pn = hb.pauseUse!.reasons!.find((r) => r.reason === pb.PauseReason.PAUSE_REASON_PERSONAL_NEEDS)!;
  assert.equal(pn.pauses, 2);
  assert.equal(pn.maxPauses, 2);
  assert.equal(pn.refused, 1);
  assert.ok(pn.pausedS! > 0, 'paused time per reason');

  // The shift ends and verifies; the verifier shows the budget use and the refused pause.
  await a.press('shift', { holdS: 1.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'shift end');
  const shiftDir = join(dataDir, 'shifts', shiftId);
  const pub = join(dataDir, 'identity', 'device.pub.pem');
  const html = join(stage.dir, 'report.html');
  const v = await runCli(['verify', shiftDir, '--pubkey', pub, '--json', '--html', html]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const r = JSON.parse(v.stdout) as VerifyReport;
  assert.equal(r.verdict, 'intact');
  assert.deepEqual({ ...r.pauseBudget!.reasons.PERSONAL_NEEDS, pausedS: undefined }, { pauses: 2, maxPauses: 2, refused: 1, pausedS: undefined });
  assert.equal(r.pauseBudget!.refused.length, 1);
  assert.equal(r.pauseBudget!.refused[0]!.budget, 'pauses_personal_needs');
  assert.equal(r.pauseBudget!.warnings.length, 1);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<h2>Pause budget<\/h2>/);
  assert.match(page, /class="refused-pause"/);
  const text = await runCli(['verify', shiftDir, '--pubkey', pub]);
  assert.match(text.stdout, /pause budget PERSONAL_NEEDS: 2\/2 pauses, .*1 refused/);
  assert.match(text.stdout, /REFUSED PAUSE journal\.jsonl:\d+ .* PERSONAL_NEEDS: budget pauses_personal_needs \(2 of 2\)/);
  await a.stop();
});
