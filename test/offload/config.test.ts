/**
 * The `offload` config section, approved-network matching and closed-shift detection: the edge
 * where bad input must be reported in full and a shift still recording must never be queued.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkInterfaceInfo } from 'node:os';
import { parseAgentConfig } from '../../agent/config/agent-config.js';
import { isConfigError } from '../../agent/lib/errors.js';
import { sectionOf } from '../../agent/config/agent-config.js';
import { parseOffloadConfig, type OffloadConfig } from '../../agent/offload/config.js';
import { approvedNetworkPresent } from '../../agent/offload/network.js';
import { isShiftClosed } from '../../agent/offload/manifest.js';
import { offloadExtension } from '../../agent/offload/extension.js';
import { Journal } from '../../agent/evidence/journal.js';
import type { Issue } from '../../agent/lib/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'bodycam-offload-cfg-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const base = { endpoint: 'http://127.0.0.1:7480', bucket: 'evidence', accessKeyId: 'AK', secretAccessKey: 'SK' };

void test('no offload section: the extension is off', () => {
  const cfg = parseAgentConfig({}, 'test');
  assert.equal(sectionOf(cfg, 'offload'), undefined);
  assert.equal(offloadExtension(cfg), undefined);
});

void test('a valid section: defaults, credentials file, networks', () => {
  const cred = join(tmp, 'dev.json');
  writeFileSync(cred, JSON.stringify({ accessKeyId: 'DEV', secretAccessKey: 'SECRET', endpoint: 'ignored' }));
  const cfg = parseAgentConfig({ offload: { endpoint: 'https://s3.example.org', bucket: 'evidence', credentialsFile: cred, approvedNetworks: ['10.20.0.0/16', 'fd00::/8', 'eth0'], partSizeMb: 5 } }, 'test');
  const o = sectionOf<OffloadConfig>(cfg, 'offload');
  assert.equal(o.credentials.accessKeyId, 'DEV');
  assert.equal(o.credentialsSource, cred);
  assert.equal(o.partSizeBytes, 5 * 1048576);
  assert.equal(o.concurrency, 4);
  assert.equal(o.keyPrefix, 'bodycam');
  assert.equal(o.nice, 19);
  assert.deepEqual(o.approvedNetworks.map((n) => n.kind), ['cidr', 'cidr', 'interface']);
  assert.ok(offloadExtension(cfg));
});

void test('every problem in the section is reported, not only the first', () => {
  try {
    parseAgentConfig({ offload: { endpoint: 'ftp://x', bucket: 'Bad_Bucket', partSizeMb: 0.001, approvedNetworks: ['10.0.0.0/40', 'not a net!'], concurrency: 99, colour: 'red' } }, 'cfg.json');
    assert.fail('must throw');
  } catch (e) {
    assert.ok(isConfigError(e));
    const where = e.issues.map((i) => i.where);
    for (const w of ['/offload/endpoint', '/offload/bucket', '/offload/partSizeMb', '/offload/approvedNetworks/0', '/offload/approvedNetworks/1', '/offload/concurrency', '/offload/colour', '/offload']) {
      assert.ok(where.includes(w), `${w} reported (got ${where.join(', ')})`);
    }
    assert.match(e.message, /credentials are required/);
  }
  const issues: Issue[] = [];
  parseOffloadConfig({ ...base, credentialsFile: join(tmp, 'missing.json') }, '/offload', issues);
  assert.ok(issues.some((i) => /either credentialsFile or accessKeyId/.test(i.message)));
  assert.ok(issues.some((i) => /cannot read credentials file/.test(i.message)));
});

void test('an invalid CIDR is a config error naming its pointer (net.BlockList judges it)', () => {
  const issues: Issue[] = [];
  assert.equal(parseOffloadConfig({ ...base, approvedNetworks: ['eth0', '10.0.0.0/33', 'fd00::/129', '300.1.2.3/8', 'eth 0', 7] }, '/offload', issues), undefined);
  const got = issues.map((i) => `${i.where}: ${i.message}`);
  assert.equal(got.length, 5, got.join('\n'));
  assert.match(got.find((l) => l.startsWith('/offload/approvedNetworks/1:'))!, /'10\.0\.0\.0\/33' is not a valid CIDR: .*32/);
  assert.match(got.find((l) => l.startsWith('/offload/approvedNetworks/2:'))!, /'fd00::\/129' is not a valid CIDR: .*128/);
  assert.match(got.find((l) => l.startsWith('/offload/approvedNetworks/3:'))!, /'300\.1\.2\.3\/8' is not a valid CIDR/);
  assert.match(got.find((l) => l.startsWith('/offload/approvedNetworks/4:'))!, /must match .* \(got "eth 0"\)/);
  assert.match(got.find((l) => l.startsWith('/offload/approvedNetworks/5:'))!, /must be string \(got 7\)/);
});

void test('approved networks: CIDR (v4, v6, mapped) and interface names', () => {
  const issues: Issue[] = [];
  const o = parseOffloadConfig({ ...base, approvedNetworks: ['192.168.10.0/24', 'fd12:3456::/32', 'wlan0'] }, '/offload', issues)!;
  assert.deepEqual(issues, []);
  const iface = (address: string, family: 'IPv4' | 'IPv6'): NetworkInterfaceInfo => ({ address, family, netmask: '', mac: '', internal: false, cidr: null } as NetworkInterfaceInfo);
  assert.equal(approvedNetworkPresent(o.approvedNetworks, { eth0: [iface('192.168.10.77', 'IPv4')] }), true);
  assert.equal(approvedNetworkPresent(o.approvedNetworks, { eth0: [iface('192.168.11.77', 'IPv4')] }), false);
  assert.equal(approvedNetworkPresent(o.approvedNetworks, { eth0: [iface('fd12:3456:0:1::5', 'IPv6')] }), true);
  assert.equal(approvedNetworkPresent(o.approvedNetworks, { eth0: [iface('fd12:3457::5', 'IPv6')] }), false);
  assert.equal(approvedNetworkPresent(o.approvedNetworks, { wlan0: [iface('172.16.0.9', 'IPv4')] }), true);
  assert.equal(approvedNetworkPresent([], { wlan0: [iface('172.16.0.9', 'IPv4')] }), false, 'nothing approved: only the dock counts');
  assert.equal(approvedNetworkPresent(o.approvedNetworks, { eth0: [iface('::ffff:192.168.10.5', 'IPv6')] }), true, 'an IPv4-mapped IPv6 address is in the IPv4 subnet');
});

void test('closed-shift detection: only a journal ending with shift_end (a signature may follow) counts', () => {
  const mk = (name: string, types: string[], pad = ''): string => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    const j = new Journal(dir);
    j.open();
    for (const t of types) j.append(t, pad ? { pad } : {});
    j.close();
    return dir;
  };
  assert.equal(isShiftClosed(mk('open', ['shift_start', 'segment', 'segment'])), false, 'a recording shift is not offloaded');
  assert.equal(isShiftClosed(mk('closed', ['shift_start', 'segment', 'shift_end'])), true);
  assert.equal(isShiftClosed(mk('signed', ['shift_start', 'segment', 'shift_end', 'signature'])), true);
  assert.equal(isShiftClosed(mk('sig-only', ['shift_start', 'segment', 'signature'])), false);
  assert.equal(isShiftClosed(join(tmp, 'nothing-here')), false);
  // A journal longer than the 64 KiB tail read: the end is still found.
  const long = mk('long', ['shift_start', ...Array<string>(150).fill('segment'), 'shift_end'], 'x'.repeat(600));
  assert.equal(isShiftClosed(long), true);
});

void test('bodycam offload: usage errors exit 2 and name the problem', async () => {
  const { runCli } = await import('../helpers/agent.js');
  const r = await runCli(['offload', '--confirm', 'X', '--data-dir', tmp]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--confirm and --manifest-sha256 go together/);
  const r2 = await runCli(['offload', '--bogus', '--data-dir', tmp]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /unknown option '--bogus'/);
});
