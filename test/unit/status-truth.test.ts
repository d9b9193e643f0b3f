/**
 * What status and heartbeats report is the truth: the state says FAULT, not RECORDING, when no
 * encoder runs or a transition still owes effects; off duty the journal head is the device
 * journal's; bytes awaiting offload include the shift being recorded; restarts are per shift.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportedState, buildStatus, type StatusSources } from '../../agent/status-builder.js';
import { ShiftEvidence } from '../../agent/evidence/shift-evidence.js';
import { PlainStorer } from '../../agent/evidence/storer.js';
import { FaultRegistry } from '../../agent/faults/registry.js';
import { createLogger } from '../../agent/lib/log.js';
import { buildHeartbeat } from '../../agent/telemetry/heartbeat.js';
import { pb } from '../../agent/telemetry/proto.js';

const rec = { name: 'RECORDING', shiftId: 's1', endArmedUntil: null } as const;

void test('reportedState: RECORDING only with an encoder running and nothing owed; FAULT otherwise; OFFLOADING off duty while uploading', () => {
  assert.equal(reportedState(rec, 0, true, false), 'RECORDING');
  assert.equal(reportedState(rec, 0, false, false), 'FAULT');
  assert.equal(reportedState(rec, 2, true, false), 'FAULT');
  assert.equal(reportedState({ name: 'PAUSED', shiftId: 's1', reason: 'PERSONAL_NEEDS', since: 0, until: 1, endArmedUntil: null }, 0, false, false), 'PAUSED');
  assert.equal(reportedState({ name: 'OFF_DUTY' }, 0, false, true), 'OFFLOADING');
  assert.equal(reportedState({ name: 'OFF_DUTY' }, 0, false, false), 'OFF_DUTY');
});

function sources(evidence: ShiftEvidence, over: Partial<StatusSources> = {}): StatusSources {
  return {
    deviceId: 'cam', board: 'sim', bootId: 'b', startedAt: Date.now(), state: { name: 'OFF_DUTY' }, owedEffects: 0, owedAttempts: 0,
    evidence, pipeline: undefined, faults: new FaultRegistry(createLogger('t')), storage: undefined, hal: undefined, extensions: [],
    battery: null, temperatureC: null, clock: { source: 'ntp', synced: true }, ...over,
  };
}

void test('off duty: status and heartbeat carry the device journal head, fps 0, no restarts; the heartbeat maps FAULT and counts the recording shift as awaiting offload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bodycam-status-'));
  try {
    const ev = new ShiftEvidence({ dataDir: dir, storer: new PlainStorer(), log: createLogger('t'), onSealed: () => undefined, onRecord: () => undefined });
    ev.start();
    ev.deviceJournal.append('note', { what: 'agent_started' });
    const off = buildStatus(sources(ev));
    assert.equal(off.journalHead, ev.deviceJournal.head, 'off duty the head is the device journal\'s');
    assert.equal(off.fps, 0);
    assert.equal(off.encoderRestarts, 0);
    const hb = buildHeartbeat({
      seq: 1, status: { ...off, state: 'FAULT', shiftId: 's1', bytes: 5000, ext: { ...off.ext, offload: { awaitingBytes: 7000, awaitingShifts: 2 } } },
      sys: { uptimeS: 1, load1: 0, memAvailableBytes: 0, clock: { source: 'unknown', synced: false }, storage: undefined },
      agentUptimeS: 1, outboxDepth: 0, lastEventSeq: 0, nowMs: Date.now(),
    });
    assert.equal(hb.state, pb.ShiftState.SHIFT_STATE_FAULT);
    assert.equal(Number(hb.storage?.awaitingOffloadBytes), 12000, 'closed-but-unconfirmed shifts plus the shift being recorded');
    assert.equal(hb.storage?.awaitingOffloadShifts, 3);
    assert.equal(hb.clock?.source, 'ntp', 'the clock comes from hal/clock (status), not a guess');
    assert.equal(hb.clock?.synced, true);
    ev.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
