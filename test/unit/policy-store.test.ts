/**
 * PolicyStore (agent/config/policy-store.ts) on a real directory: a saved policy comes back
 * whole; a damaged or tampered file is reported in the log and ignored (never thrown).
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyStore } from '../../agent/config/policy-store.js';
import { DEFAULT_POLICY, parsePolicy, type Policy } from '../../agent/config/policy.js';
import { setLogSink } from '../../agent/lib/log.js';

let root: string;
let logged: Array<Record<string, unknown>> = [];
before(() => {
  root = mkdtempSync(join(tmpdir(), 'bodycam-policy-store-'));
  setLogSink((line) => logged.push(JSON.parse(line) as Record<string, unknown>));
});
afterEach(() => (logged = []));
after(() => {
  setLogSink((line) => process.stderr.write(line + '\n'));
  rmSync(root, { recursive: true, force: true });
});

const fresh = (name: string): string => mkdtempSync(join(root, `${name}-`));
const central: Policy = { ...DEFAULT_POLICY, personalNeedsMaxS: 600, heartbeatOnDutyS: 20 };

void test('round trip: the saved policy, its source and time come back; the file is mode 0640 and no temp file is left', () => {
  const dir = fresh('rt');
  const store = new PolicyStore(dir);
  assert.equal(store.load(DEFAULT_POLICY), undefined, 'nothing saved yet');
  const t0 = Date.now();
  store.save(central, 'command:00112233445566778899aabbccddeeff');
  const got = store.load(DEFAULT_POLICY);
  assert.ok(got);
  assert.deepEqual(got.policy, central);
  assert.equal(got.source, 'command:00112233445566778899aabbccddeeff');
  assert.ok(Date.parse(got.at) >= t0 - 1000 && Date.parse(got.at) <= Date.now() + 1000, got.at);
  assert.deepEqual(readdirSync(dir), ['policy.json']);
  assert.equal(statSync(join(dir, 'policy.json')).mode & 0o777, 0o640);
  // A second save replaces the first whole.
  store.save({ ...central, personalNeedsMaxS: 300 }, 'command:ff');
  assert.equal(new PolicyStore(dir).load(DEFAULT_POLICY)?.policy.personalNeedsMaxS, 300);
  assert.deepEqual(logged.filter((l) => l.level === 'error'), []);
});

void test('a field missing from the file (added by newer firmware) takes the base value; saved fields win over the base', () => {
  const dir = fresh('base');
  const { personalNeedsMaxS: _drop, ...partial } = central;
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ policy: partial, source: 'command:aa', at: new Date().toISOString() }));
  const base = parsePolicy({ personalNeedsMaxS: 420, heartbeatOnDutyS: 30 }, '/policy').policy;
  const got = new PolicyStore(dir).load(base);
  assert.equal(got?.policy.personalNeedsMaxS, 420, 'from the base');
  assert.equal(got?.policy.heartbeatOnDutyS, 20, 'from the file');
});

void test('a truncated policy.json is ignored (undefined) with an error log naming the file', () => {
  const dir = fresh('trunc');
  const store = new PolicyStore(dir);
  store.save(central, 'command:aa');
  const full = readFileSync(store.path, 'utf8');
  writeFileSync(store.path, full.slice(0, Math.floor(full.length / 2)));
  assert.equal(store.load(DEFAULT_POLICY), undefined);
  const err = logged.find((l) => l.level === 'error' && l.ns === 'policy');
  assert.ok(err, JSON.stringify(logged));
  assert.match(String(err.msg), /persisted policy unreadable; ignored, the configured policy applies/);
  assert.equal(err.path, store.path);
  assert.match(String(err.error), /JSON/);
});

void test('a policy.json with an out-of-bounds value is ignored whole, and the log names the field', () => {
  const dir = fresh('bounds');
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ policy: { ...central, personalNeedsMaxS: 7200 }, source: 'command:aa', at: new Date().toISOString() }));
  assert.equal(new PolicyStore(dir).load(DEFAULT_POLICY), undefined);
  const err = logged.find((l) => l.level === 'error' && l.ns === 'policy');
  assert.match(String(err?.msg), /persisted policy invalid/);
  assert.match(JSON.stringify(err?.issues), /\/policy\/personalNeedsMaxS: must be <= 900 \(got 7200; range \[5, 900\]\)/);
});

void test('a policy.json without source/at or policy, or that is not an object, is ignored with an error log', () => {
  for (const body of ['[]', '"x"', JSON.stringify({ policy: central }), JSON.stringify({ source: 'command:aa', at: '2026-01-01T00:00:00Z' })]) {
    const dir = fresh('shape');
    writeFileSync(join(dir, 'policy.json'), body);
    logged = [];
    assert.equal(new PolicyStore(dir).load(DEFAULT_POLICY), undefined, body);
    assert.equal(logged.filter((l) => l.level === 'error' && l.ns === 'policy').length, 1, body);
  }
});
