/**
 * The pause budget through the pure shift machine on a fake clock: the usage is folded from the
 * journal records the machine itself emits (as the daemon does), so these tests also prove the
 * fold agrees with the decisions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition, type ShiftState, type ShiftEvent, type Effect } from '../../agent/shift/machine.js';
import { DEFAULT_POLICY, parsePolicy, type Policy } from '../../agent/config/policy.js';
import { NO_PAUSES, foldPauseRecord, pauseUsageOf, pauseUseReport, type PauseUsage } from '../../agent/shift/pause-budget.js';

const single: ShiftEvent = { type: 'gesture', gesture: 'privacy_single' };
const double: ShiftEvent = { type: 'gesture', gesture: 'privacy_double' };
type Journal = Extract<Effect, { t: 'journal' }>;

/** A shift driven event by event; journal effects are folded into the usage with their wall time. */
function shift(policy: Partial<Policy> = {}) {
  const p: Policy = { ...DEFAULT_POLICY, ...policy };
  let s: ShiftState = { name: 'OFF_DUTY' };
  let now = Date.UTC(2026, 5, 1, 8);
  let u: PauseUsage = NO_PAUSES;
  const records: Array<{ type: string; at: string } & Record<string, unknown>> = [];
  const effects: Effect[] = [];
  const step = (e: ShiftEvent, dtMs = 0): Effect[] => {
    now += dtMs;
    const t = transition(s, e, p, now, () => 'shift-1', u);
    s = t.state;
    effects.push(...t.effects);
    for (const x of t.effects) {
      if (x.t !== 'journal') continue;
      const rec = { type: x.type, at: new Date(now).toISOString(), ...x.fields };
      records.push(rec);
      u = foldPauseRecord(u, rec);
    }
    return [...t.effects];
  };
  step({ type: 'gesture', gesture: 'shift_hold' });
  records.push({ type: 'shift_start', at: new Date(now).toISOString() });
  return {
    step,
    st: (): ShiftState => s,
    paused: (): Extract<ShiftState, { name: 'PAUSED' }> => {
      assert.equal(s.name, 'PAUSED');
      return s as Extract<ShiftState, { name: 'PAUSED' }>;
    },
    get u() { return u; },
    get now() { return now; },
    records,
    effects,
    journal: (type: string) => effects.filter((e): e is Journal => e.t === 'journal' && e.type === type).map((e) => e.fields),
  };
}

test('default policy: the budget is the loosest allowed and a config or central may only tighten it', () => {
  const loosen = parsePolicy({ pauseMaxPersonalNeeds: 11, pauseMaxSensitiveSite: 11, pauseMaxTotalS: 4 * 3600 + 1, pauseMinRecordingAfterAutoS: 299 }, '/policy');
  assert.deepEqual(loosen.issues.map((i) => i.where).sort(), ['/policy/pauseMaxPersonalNeeds', '/policy/pauseMaxSensitiveSite', '/policy/pauseMaxTotalS', '/policy/pauseMinRecordingAfterAutoS']);
  assert.equal(loosen.policy.pauseMaxPersonalNeeds, DEFAULT_POLICY.pauseMaxPersonalNeeds, 'an out-of-range value keeps the base');
  const tighten = parsePolicy({ pauseMaxPersonalNeeds: 2, pauseMaxTotalS: 600, pauseMinRecordingS: 120, pauseMinRecordingAfterAutoS: 900 }, '/policy');
  assert.deepEqual(tighten.issues, []);
  assert.equal(tighten.policy.pauseMaxPersonalNeeds, 2);
});

test('a third PERSONAL_NEEDS pause over a budget of two is refused: state stays RECORDING, refused feedback, journaled with the budget', () => {
  const sh = shift({ pauseMaxPersonalNeeds: 2 });
  for (let i = 0; i < 2; i++) {
    sh.step(single, 10_000);
    assert.equal(sh.st().name, 'PAUSED');
    sh.step(single, 60_000);
    assert.equal(sh.st().name, 'RECORDING');
  }
  const eff = sh.step(single, 10_000);
  assert.equal(sh.st().name, 'RECORDING', 'the refused press changes nothing: recording goes on');
  assert.ok(!eff.some((e) => e.t === 'encoder'), 'the encoder is not stopped');
  assert.ok(eff.some((e) => e.t === 'feedback' && e.pattern === 'refused'));
  const refusedGesture = sh.journal('gesture').at(-1)!;
  assert.deepEqual(
    { outcome: refusedGesture.outcome, budget: refusedGesture.budget, used: refusedGesture.used, limit: refusedGesture.limit, reason: refusedGesture.reason },
    { outcome: 'refused_pause_budget', budget: 'pauses_personal_needs', used: 2, limit: 2, reason: 'PERSONAL_NEEDS' },
  );
  assert.deepEqual(sh.journal('pause_budget').at(-1), { what: 'refused', budget: 'pauses_personal_needs', reason: 'PERSONAL_NEEDS', used: 2, limit: 2 });
  assert.equal(sh.u.refused.PERSONAL_NEEDS, 1);
  // The other reason has its own count.
  sh.step(double, 1000);
  assert.equal(sh.paused().reason, 'SENSITIVE_SITE');
});

test('the count warning is journaled once, when the count reaches 80 % of its budget', () => {
  const sh = shift({ pauseMaxSensitiveSite: 5 });
  for (let i = 1; i <= 5; i++) {
    sh.step(double, 10_000);
    sh.step(single, 10_000);
    const warnings = sh.journal('pause_budget').filter((f) => f.what === 'warning');
    assert.equal(warnings.length, i >= 4 ? 1 : 0, `after pause ${i}`);
  }
  assert.deepEqual(sh.journal('pause_budget').find((f) => f.what === 'warning'), { what: 'warning', budget: 'pauses_sensitive_site', reason: 'SENSITIVE_SITE', used: 4, limit: 5 });
});

test('paused time: a pause is cut to the budget left, the 80 % warning comes by timer during the pause, and then no pause is allowed', () => {
  const sh = shift({ pauseMaxTotalS: 1000 });
  sh.step(single, 1000); // PERSONAL_NEEDS, max 900 s, 1000 s left: 900
  sh.step({ type: 'pause_expired' }, 900_000);
  assert.equal(sh.st().name, 'RECORDING');
  // 900 s used; 80 % (800 s) was crossed during the first pause: the timer was armed for it.
  const firstTimer = sh.effects.find((e) => e.t === 'timer' && e.name === 'pause_budget_warning' && e.ms !== null);
  assert.deepEqual(firstTimer, { t: 'timer', name: 'pause_budget_warning', ms: 800_000 });
  const eff = sh.step(double, 300_000);
  assert.equal(sh.st().name, 'PAUSED');
  assert.equal((sh.paused().until - sh.paused().since) / 1000, 100, 'the pause is cut to the 100 s left');
  assert.equal(sh.journal('pause').at(-1)!.max_s, 100);
  // Already over 80 % and not yet warned (the first timer never fired): warned at once.
  assert.ok(eff.some((e) => e.t === 'journal' && e.type === 'pause_budget' && e.fields.budget === 'paused_time'));
  sh.step({ type: 'pause_expired' }, 100_000);
  sh.step(single, 600_000);
  assert.equal(sh.st().name, 'RECORDING');
  assert.deepEqual(sh.journal('pause_budget').at(-1), { what: 'refused', budget: 'paused_time', reason: 'PERSONAL_NEEDS', used: 1000, limit: 1000 });
  assert.equal(sh.journal('pause_budget').filter((f) => f.what === 'warning').length, 1, 'one warning per budget per shift');
});

test('the paused-time warning timer fires while paused and is journaled then', () => {
  const sh = shift({ pauseMaxTotalS: 1000 });
  sh.step(single, 1000);
  assert.equal(sh.journal('pause_budget').length, 0);
  const eff = sh.step({ type: 'pause_budget_warning' }, 800_000);
  assert.deepEqual(eff, [{ t: 'journal', type: 'pause_budget', fields: { what: 'warning', budget: 'paused_time', used: 800, limit: 1000 } }]);
  assert.deepEqual(sh.step({ type: 'pause_budget_warning' }, 1000), [], 'not twice');
  const resume = sh.step(single, 1000);
  assert.ok(resume.some((e) => e.t === 'timer' && e.name === 'pause_budget_warning' && e.ms === null), 'a resume cancels the warning timer');
});

test('minimum recording between pauses: after an auto-resume a new pause is refused for 300 s (the endless 30-min chain ends)', () => {
  const sh = shift();
  sh.step(double, 1000);
  sh.step({ type: 'pause_expired' }, 1_800_000);
  assert.equal(sh.st().name, 'RECORDING');
  sh.step(double, 1000);
  assert.equal(sh.st().name, 'RECORDING', 'refused 1 s after the auto-resume');
  assert.deepEqual(sh.journal('pause_budget').at(-1), { what: 'refused', budget: 'min_recording', reason: 'SENSITIVE_SITE', used: 1, limit: 300 });
  sh.step(double, 298_000);
  assert.equal(sh.st().name, 'RECORDING', 'still refused at 299 s');
  sh.step(double, 1000);
  assert.equal(sh.st().name, 'PAUSED', 'accepted at 300 s');
});

test('minimum recording after a manual resume is pauseMinRecordingS (0 by default; policy may raise it)', () => {
  const free = shift();
  free.step(single, 1000);
  free.step(single, 1000);
  free.step(single, 100);
  assert.equal(free.st().name, 'PAUSED', 'default: a new pause right after a manual resume is fine');
  const strict = shift({ pauseMinRecordingS: 60 });
  strict.step(single, 1000);
  strict.step(single, 1000);
  strict.step(single, 59_000);
  assert.equal(strict.st().name, 'RECORDING');
  assert.equal(strict.journal('gesture').at(-1)!.budget, 'min_recording');
  strict.step(single, 1000);
  assert.equal(strict.st().name, 'PAUSED');
});

test('the usage folded from the journal after a restart equals the live one (budget survives a restart)', () => {
  const sh = shift({ pauseMaxPersonalNeeds: 3 });
  sh.step(single, 1000);
  sh.step(single, 42_000);
  sh.step(double, 1000);
  sh.step({ type: 'pause_expired' }, 1_800_000);
  sh.step(double, 10_000); // refused: min_recording after auto
  const replayed = pauseUsageOf(sh.records);
  assert.deepEqual(replayed, sh.u);
  assert.deepEqual(replayed.pauses, { PERSONAL_NEEDS: 1, SENSITIVE_SITE: 1 });
  assert.deepEqual(replayed.pausedMs, { PERSONAL_NEEDS: 42_000, SENSITIVE_SITE: 1_800_000 });
  assert.equal(replayed.lastResume?.cause, 'auto');
  const r = pauseUseReport(replayed, { ...DEFAULT_POLICY, pauseMaxPersonalNeeds: 3 }, null, sh.now);
  assert.deepEqual(r.reasons.SENSITIVE_SITE, { pauses: 1, maxPauses: 10, pausedS: 1800, refused: 1 });
  assert.deepEqual(r.reasons.PERSONAL_NEEDS, { pauses: 1, maxPauses: 3, pausedS: 42, refused: 0 });
  assert.equal(r.pausedS, 1842);
});

test('a pause in progress counts in the reported paused time', () => {
  const sh = shift();
  sh.step(single, 1000);
  const s = sh.st() as Extract<ShiftState, { name: 'PAUSED' }>;
  const r = pauseUseReport(sh.u, DEFAULT_POLICY, s, s.since + 30_000);
  assert.equal(r.reasons.PERSONAL_NEEDS.pausedS, 30);
  assert.equal(r.reasons.PERSONAL_NEEDS.pauses, 1);
});
