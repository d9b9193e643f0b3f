/**
 * Live offload's policy keys and checkpoint signatures: the keys are checked as every policy value
 * is (the camera's parsePolicy, central sign's validatePolicy), and a recording journal is signed
 * at least every checkpointS — on the record that finds the last signature that old, or by the
 * timer when nothing is appended — and never signs a journal with nothing new.
 */
import { test, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DEFAULT_POLICY, parsePolicy, validatePolicy } from '../../agent/config/policy.js';
import { Journal } from '../../agent/evidence/journal.js';
import { JournalSigner, attachSigner } from '../../agent/evidence/signer.js';
import { provisionIdentity } from '../../agent/identity/identity.js';

const root = mkdtempSync(join(tmpdir(), 'bodycam-live-policy-'));
after(() => rmSync(root, { recursive: true, force: true }));

void test('live offload policy defaults are the contract’s (docs/live-offload.md)', () => {
  assert.equal(DEFAULT_POLICY.liveOffload, 1);
  assert.equal(DEFAULT_POLICY.liveOffloadLagS, 120);
  assert.equal(DEFAULT_POLICY.liveOffloadMaxKbps, 0);
  assert.equal(DEFAULT_POLICY.liveOffloadMinBatteryPct, 20);
  assert.equal(DEFAULT_POLICY.checkpointS, 60);
});

void test('bad live offload policy values are refused with the field and the reason, all at once', () => {
  const { issues } = validatePolicy({ liveOffload: 2, liveOffloadLagS: 0, liveOffloadMaxKbps: -1, liveOffloadMinBatteryPct: 101, checkpointS: 'often' });
  assert.deepEqual(issues.map((i) => `${i.where}: ${i.message}`).sort(), [
    '/checkpointS: must be number (got "often")',
    '/liveOffload: must be one of 0, 1 (got 2)',
    '/liveOffloadLagS: must be >= 5 (got 0; range [5, 3600])',
    '/liveOffloadMaxKbps: must be >= 0 (got -1; range [0, 10000000])',
    '/liveOffloadMinBatteryPct: must be <= 100 (got 101; range [0, 100])',
  ]);
  // The camera's own check of a set_policy (over its current policy) says the same.
  assert.equal(parsePolicy({ checkpointS: 4 }, '/set_policy').issues[0]?.where, '/set_policy/checkpointS');
  assert.deepEqual(validatePolicy({ liveOffload: 0, liveOffloadLagS: 10, checkpointS: 5, liveOffloadMaxKbps: 800, liveOffloadMinBatteryPct: 0 }).issues, []);
});

function openJournal(name: string): Journal {
  const dir = join(root, name, '20261204T100000Z-cam');
  mkdirSync(dir, { recursive: true });
  const j = new Journal(dir);
  j.open();
  return j;
}

const signatures = (j: Journal): string[] => {
  const out: string[] = [];
  j.on('record', (w) => {
    if (w.record.type === 'signature') out.push(String(w.record.why));
  });
  return out;
};

void test('checkpointS: a record after the last signature turned checkpointS old is signed at once (why "checkpoint")', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: Date.parse('2026-12-04T10:00:00Z') });
  const id = provisionIdentity(join(root, 'id-a'), { deviceId: 'cam-a' });
  const j = openJournal('append');
  const why = signatures(j);
  const signer = new JournalSigner(id, 1000, 30);
  const detach = attachSigner(j, signer);
  j.append('shift_start', { shift_id: '20261204T100000Z-cam' });
  t.mock.timers.tick(29_000);
  j.append('note', { n: 1 });
  assert.deepEqual(why, [], 'not due before checkpointS');
  // Segments arrive every 10 s; the timer has not fired yet when the record comes 1 s late.
  t.mock.timers.setTime(Date.parse('2026-12-04T10:00:31Z'));
  j.append('note', { n: 2 });
  assert.deepEqual(why, ['checkpoint']);
  assert.equal(j.lastRecord?.type, 'signature', 'the signature covers the record that made it due');
  detach();
  j.close();
});

void test('checkpointS: a due checkpoint is not signed on a clock step\'s time_sync record (the evidence clock has not moved yet) but on the next record', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: Date.parse('2026-12-04T10:00:00Z') });
  const id = provisionIdentity(join(root, 'id-ts'), { deviceId: 'cam-ts' });
  const j = openJournal('time-sync');
  const why = signatures(j);
  const signer = new JournalSigner(id, 1000, 30);
  const detach = attachSigner(j, signer);
  j.append('shift_start', { shift_id: '20261204T100000Z-cam' });
  t.mock.timers.setTime(Date.parse('2026-12-04T10:00:31Z'));
  j.append('time_sync', { what: 'step', step_ms: 90_000 });
  assert.deepEqual(why, [], 'no signature right after the step record');
  assert.equal(j.lastRecord?.type, 'time_sync');
  j.append('note', { n: 1 });
  assert.deepEqual(why, ['checkpoint'], 'the next record brings the due checkpoint');
  detach();
  j.close();
});

void test('checkpointS: with nothing appended the timer signs the unsigned tail once, then stays quiet', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: Date.parse('2026-12-04T10:00:00Z') });
  const id = provisionIdentity(join(root, 'id-b'), { deviceId: 'cam-b' });
  const j = openJournal('timer');
  const why = signatures(j);
  const signer = new JournalSigner(id, 1000, 20);
  const detach = attachSigner(j, signer);
  j.append('shift_start', { shift_id: '20261204T100000Z-cam' });
  t.mock.timers.tick(19_999);
  assert.deepEqual(why, []);
  t.mock.timers.tick(1);
  assert.deepEqual(why, ['checkpoint'], 'signed when the last signature (none: the attach) turned checkpointS old');
  t.mock.timers.tick(120_000);
  assert.deepEqual(why, ['checkpoint'], 'nothing new to sign: no signature of a signature');
  // Policy shortens the interval: applies from the next deadline.
  signer.setCheckpointS(5);
  j.append('note', { n: 1 });
  assert.deepEqual(why, ['checkpoint', 'checkpoint'], 'the last signature is older than the new checkpointS: signed on the append');
  detach();
  t.mock.timers.tick(60_000);
  j.append('note', { n: 2 });
  assert.equal(why.length, 2, 'a detached signer signs nothing');
  j.close();
});

void test('checkpointS: a closed journal is never signed by the timer', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: Date.parse('2026-12-04T10:00:00Z') });
  const id = provisionIdentity(join(root, 'id-c'), { deviceId: 'cam-c' });
  const j = openJournal('closed');
  const why = signatures(j);
  attachSigner(j, new JournalSigner(id, 1000, 10));
  j.append('shift_start', { shift_id: '20261204T100000Z-cam' });
  j.close();
  assert.doesNotThrow(() => t.mock.timers.tick(60_000));
  assert.deepEqual(why, []);
});

void test('checkpointS: after a restart the clock runs from the dead agent’s last signature', () => {
  mock.timers.reset();
  const id = provisionIdentity(join(root, 'id-d'), { deviceId: 'cam-d' });
  const signer = new JournalSigner(id, 1000, 60);
  const j = openJournal('restart');
  const old = new Date(Date.now() - 120_000).toISOString();
  signer.resume(j, [{ type: 'shift_start', shift_id: 'x' }, { type: 'signature', seq: 1, at: old } as never, { type: 'segment' }]);
  assert.equal(signer.msToCheckpoint(j), 0, 'already due: the next record is signed at once');
  assert.throws(() => new JournalSigner(id, 1, 0), /checkpointS must be positive/);
  j.close();
});
