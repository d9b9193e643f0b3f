/**
 * The offline verifier against real shifts (real ffmpeg segments, real journal, real signer) and
 * the tampering an attacker without the device key can do. Every case runs the real CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, appendFileSync, truncateSync, statSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { provisionIdentity, type DeviceIdentity } from '../../agent/identity/identity.js';
import { makeMedia, makeShift, type Media } from '../helpers/shift-fixture.js';
import { bodycam, kinds, readRecords, writeRecords, JOURNAL } from './tamper.js';

let root: string;
let media: Media;
let device: DeviceIdentity;
let other: DeviceIdentity;
let pristine: string;
let n = 0;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bodycam-verify-'));
  device = provisionIdentity(join(root, 'device'), { deviceId: 'cam-test' });
  other = provisionIdentity(join(root, 'other'), { deviceId: 'cam-test' });
  media = makeMedia(4);
  pristine = (await makeShift({ root: join(root, 'pristine'), identity: device, media })).dir;
});

after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(media.dir, { recursive: true, force: true });
});

/** A fresh copy of the pristine shift to tamper with. */
function copy(): string {
  const d = join(root, `case-${++n}`, 'shift');
  cpSync(pristine, d, { recursive: true });
  return d;
}

const verify = (dir: string, ...extra: string[]): ReturnType<typeof bodycam> => bodycam(['verify', dir, '--pubkey', device.publicKeyPath, '--json', ...extra]);

function expectFinding(r: ReturnType<typeof bodycam>, kind: string, where?: string): void {
  assert.equal(r.code, 1, `exit code 1 expected, got ${r.code}: ${r.stdout.slice(0, 2000)} ${r.stderr}`);
  const f = r.json?.findings.find((x) => x.kind === kind && x.severity === 'error' && (where === undefined || x.where === where));
  assert.ok(f, `finding ${kind}${where ? ` at ${where}` : ''} expected, got ${JSON.stringify(r.json?.findings)}`);
}

void test('pristine shift verifies: exit 0, totals per reason and cause', () => {
  const r = verify(pristine, '--probe');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const j = r.json as unknown as {
    verdict: string;
    journal: { signatures: number; validSignatures: number; unsignedTail: number; closed: boolean };
    totals: { segments: number; mediaS: number; pauseS: Record<string, number>; gapS: Record<string, number>; uncoveredS: number; faults: number; gestures: number };
    mediaChecked: number;
  };
  assert.equal(j.verdict, 'intact');
  assert.deepEqual(kinds(r), []);
  assert.equal(j.totals.segments, 4);
  assert.equal(j.totals.mediaS, 8);
  assert.deepEqual(j.totals.pauseS, { PERSONAL_NEEDS: 6 });
  assert.deepEqual(j.totals.gapS, { encoder_start: 0.8, encoder_crash: 1.5 });
  assert.equal(j.totals.uncoveredS, 0);
  assert.equal(j.totals.faults, 1);
  assert.equal(j.totals.gestures, 4);
  assert.equal(j.journal.unsignedTail, 0);
  assert.ok(j.journal.validSignatures >= 3 && j.journal.validSignatures === j.journal.signatures);
  assert.equal(j.mediaChecked, 4, 'every segment decoded and its frames counted');
  const text = bodycam(['verify', pristine, '--pubkey', device.publicKeyPath]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^INTACT/);
});

void test('tamper: bytes flipped in a media segment', () => {
  const d = copy();
  const p = join(d, 'seg-000002.ts');
  const b = readFileSync(p);
  b[Math.floor(b.length / 2)]! ^= 0xff;
  writeFileSync(p, b);
  expectFinding(verify(d), 'segment_hash', 'seg-000002.ts');
});

void test('tamper: a segment truncated', () => {
  const d = copy();
  const p = join(d, 'seg-000004.ts');
  truncateSync(p, statSync(p).size - 188);
  expectFinding(verify(d), 'segment_hash', 'seg-000004.ts');
});

void test('tamper: a segment deleted', () => {
  const d = copy();
  unlinkSync(join(d, 'seg-000003.ts'));
  expectFinding(verify(d), 'segment_missing', 'seg-000003.ts');
});

void test('tamper: two segments swapped', () => {
  const d = copy();
  renameSync(join(d, 'seg-000001.ts'), join(d, 'tmp'));
  renameSync(join(d, 'seg-000002.ts'), join(d, 'seg-000001.ts'));
  renameSync(join(d, 'tmp'), join(d, 'seg-000002.ts'));
  const r = verify(d);
  expectFinding(r, 'segment_swapped', 'seg-000001.ts');
  expectFinding(r, 'segment_swapped', 'seg-000002.ts');
});

void test('tamper: a segment added', () => {
  const d = copy();
  copyFileSync(join(d, 'seg-000002.ts'), join(d, 'seg-000007.ts'));
  expectFinding(verify(d), 'extra_file', 'seg-000007.ts');
});

void test('tamper: a segment renamed', () => {
  const d = copy();
  renameSync(join(d, 'seg-000003.ts'), join(d, 'seg-000009.ts'));
  const r = verify(d);
  expectFinding(r, 'segment_renamed', 'seg-000003.ts');
  assert.match(r.json!.findings.find((f) => f.kind === 'segment_renamed')!.message, /seg-000009\.ts/);
});

void test('tamper: journal line edited without recomputing the chain', () => {
  const d = copy();
  const lines = readFileSync(join(d, JOURNAL), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes('"type":"pause"'));
  lines[i] = lines[i]!.replace('PERSONAL_NEEDS', 'SENSITIVE_SITE');
  writeFileSync(join(d, JOURNAL), lines.join('\n'));
  // The edited line's hash no longer matches the next line's prev.
  expectFinding(verify(d), 'chain_broken', `${JOURNAL}:${i + 2}`);
});

void test('tamper: journal line edited with the chain recomputed', () => {
  const d = copy();
  const recs = readRecords(d);
  const seg = recs.find((r) => r.type === 'segment' && r.file === 'seg-000002.ts')!;
  seg.end = new Date(Date.parse(String(seg.end)) + 4000).toISOString();
  writeRecords(d, recs, { rechain: true });
  const r = verify(d);
  expectFinding(r, 'signature_invalid');
  assert.ok(!kinds(r).includes('chain_broken'), 'the chain itself is consistent');
});

void test('tamper: records removed with the chain recomputed', () => {
  const d = copy();
  const recs = readRecords(d).filter((r) => r.type !== 'pause' && r.type !== 'resume');
  writeRecords(d, recs, { rechain: true });
  const r = verify(d);
  expectFinding(r, 'signature_invalid');
  // …and the timeline shows what the removal hid.
  expectFinding(r, 'coverage_hole');
});

void test('tamper: the tail truncated (shift_end and final signature cut off)', () => {
  const d = copy();
  const recs = readRecords(d);
  writeRecords(d, recs.slice(0, recs.length - 2), { rechain: false });
  const r = verify(d);
  expectFinding(r, 'no_shift_end');
  expectFinding(r, 'unsigned_tail', `${JOURNAL}:${recs.length - 2}`);
  assert.equal(r.json?.verdict, 'incomplete');
});

void test('tamper: journal cut mid-line', () => {
  const d = copy();
  const p = join(d, JOURNAL);
  truncateSync(p, statSync(p).size - 40);
  const r = verify(d);
  expectFinding(r, 'torn_tail');
  // The cut hit the final signature: shift_end is there but no longer signed.
  expectFinding(r, 'unsigned_tail');
});

void test('tamper: timestamps shifted by an hour, chain recomputed', () => {
  const d = copy();
  const shift = (v: unknown): string => new Date(Date.parse(String(v)) + 3_600_000).toISOString();
  const recs = readRecords(d).map((r) => ({ ...r, at: shift(r.at), ...(r.start ? { start: shift(r.start), end: shift(r.end) } : {}) }));
  writeRecords(d, recs, { rechain: true });
  expectFinding(verify(d), 'signature_invalid');
});

void test('tamper: timestamps shifted without recomputing the chain', () => {
  const d = copy();
  const lines = readFileSync(join(d, JOURNAL), 'utf8').split('\n');
  lines[5] = lines[5]!.replace(/"at":"2026-11-22T08/, '"at":"2026-11-22T09');
  writeFileSync(join(d, JOURNAL), lines.join('\n'));
  expectFinding(verify(d), 'chain_broken', `${JOURNAL}:7`);
});

void test('tamper: journal re-signed with another key', () => {
  const d = copy();
  const recs = readRecords(d).filter((r) => r.type !== 'fault');
  writeRecords(d, recs, { rechain: true, resignWith: { key: other.privateKey, pub: other.publicKey } });
  const r = verify(d);
  expectFinding(r, 'signature_other_key');
  assert.ok(!kinds(r).includes('chain_broken'));
  // The same shift verifies against the other key: the key given decides, nothing in the shift.
  assert.equal(bodycam(['verify', d, '--pubkey', other.publicKeyPath]).code, 0);
});

void test('tamper: journal lines reordered', () => {
  const d = copy();
  const lines = readFileSync(join(d, JOURNAL), 'utf8').split('\n');
  const a = lines.findIndex((l) => l.includes('seg-000001.ts'));
  const b = lines.findIndex((l) => l.includes('seg-000002.ts'));
  [lines[a], lines[b]] = [lines[b]!, lines[a]!];
  writeFileSync(join(d, JOURNAL), lines.join('\n'));
  const r = verify(d);
  expectFinding(r, 'seq', `${JOURNAL}:${a + 1}`);
  expectFinding(r, 'chain_broken');
  expectFinding(r, 'segment_order');
});

void test('tamper: an unjournaled torn-tail file planted', () => {
  const d = copy();
  writeFileSync(join(d, 'journal.torn-0'), '{"seq":99');
  expectFinding(verify(d), 'extra_file', 'journal.torn-0');
});

void test('a journal torn by a power cut and recovered by the writer verifies', async () => {
  const { Journal } = await import('../../agent/evidence/journal.js');
  const { JournalSigner } = await import('../../agent/evidence/signer.js');
  const d = copy();
  const recs = readRecords(d);
  // Cut the signed shift before shift_end, then simulate a torn write and a writer restart.
  writeRecords(d, recs.slice(0, recs.length - 3), { rechain: false });
  appendFileSync(join(d, JOURNAL), '{"seq":999,"type":"gest');
  const lastEnd = Math.max(...recs.filter((x) => x.type === 'segment').map((x) => Date.parse(String(x.end))));
  const j = new Journal(d, () => lastEnd + 100);
  const existing = j.open();
  const s = new JournalSigner(device, 2);
  s.resume(j, existing);
  j.append('shift_end', { reason: 'wearer' });
  s.signNow(j, 'shift_end');
  j.close();
  const r = verify(d);
  assert.equal(r.code, 0, r.stdout);
});

void test('the device journaled a hole: coverage finding with the line before it', async () => {
  const d = (await makeShift({ root: join(root, 'hole'), identity: device, media, hole: true })).dir;
  const r = verify(d);
  expectFinding(r, 'coverage_hole');
  assert.equal(r.json?.verdict, 'incomplete');
  assert.match(r.json!.findings.find((f) => f.kind === 'coverage_hole')!.message, /^0\.4 s /);
});

void test('a crashed shift verifies up to its last signature and reports the unsigned tail', async () => {
  const d = (await makeShift({ root: join(root, 'crash'), identity: device, media, crash: true, signEvery: 2 })).dir;
  const r = verify(d);
  assert.equal(r.code, 1);
  const j = r.json as unknown as { verdict: string; journal: { signedThroughLine: number; unsignedTail: number; lines: number } };
  assert.equal(j.verdict, 'incomplete', 'authentic but incomplete, not tampered');
  assert.ok(j.journal.signedThroughLine > 1);
  assert.equal(j.journal.unsignedTail, j.journal.lines - j.journal.signedThroughLine);
  assert.ok(j.journal.unsignedTail > 0);
  expectFinding(r, 'unsigned_tail');
  expectFinding(r, 'no_shift_end');
  expectFinding(r, 'unsealed_segment', 'seg-000004.ts');
});

void test('garbage gives exit 2', () => {
  const g = join(root, 'garbage');
  cpSync(pristine, g, { recursive: true });
  writeFileSync(join(g, JOURNAL), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
  assert.equal(verify(g).code, 2, 'random bytes as journal');
  assert.equal(verify(join(root, 'does-not-exist')).code, 2, 'no such directory');
  assert.equal(verify(join(pristine, 'seg-000001.ts')).code, 2, 'a file, not a directory');
  assert.equal(verify(media.dir).code, 2, 'a directory without journal');
  const badKey = join(root, 'bad.pem');
  writeFileSync(badKey, 'not a key\n');
  assert.equal(bodycam(['verify', pristine, '--pubkey', badKey]).code, 2, 'garbage key');
  assert.equal(bodycam(['verify', pristine, '--pubkey', join(root, 'nope.pem')]).code, 2, 'missing key file');
  assert.equal(bodycam(['verify', pristine]).code, 2, '--pubkey is required');
  const r = bodycam(['verify', pristine, '--pubkey', device.publicKeyPath, '--key', device.publicKeyPath]);
  assert.equal(r.code, 2, 'an Ed25519 key as central key');
  assert.match(r.stderr, /central private key .*not a PEM private key/);
});

/**
 * Issue 18 item 5: one count everywhere. The count of findings (causes) in the text's summary and
 * findings header, the JSON's `findingCounts` and the HTML's heading agree, and follow-ons are
 * listed beneath their cause, never counted on their own.
 */
function assertOneCount(d: string, want: { findings: number; followOns: number }): NonNullable<ReturnType<typeof bodycam>['json']> {
  const html = join(d, '..', 'report.html');
  const j = verify(d, '--html', html);
  const text = bodycam(['verify', d, '--pubkey', device.publicKeyPath]);
  assert.equal(j.code, 1);
  assert.equal(text.code, 1);
  const json = j.json as unknown as { findings: { id: number; causedBy?: number; kind: string; where: string; line?: number }[]; findingCounts: { findings: number; followOns: number }; summary: string };
  assert.equal(json.findingCounts.findings, want.findings, JSON.stringify(json.findings));
  assert.equal(json.findingCounts.followOns, want.followOns, JSON.stringify(json.findings));
  assert.equal(json.findings.filter((f) => f.causedBy === undefined).length, want.findings);
  assert.equal(json.findings.length, want.findings + want.followOns);
  for (const f of json.findings) if (f.causedBy !== undefined) assert.ok(json.findings.some((c) => c.id === f.causedBy && c.causedBy === undefined), `cause of ${f.kind} listed`);
  const n = `${want.findings} finding(s)`;
  assert.ok(json.summary.includes(n), json.summary);
  const lines = text.stdout.split('\n');
  assert.ok(lines[1]!.includes(n), lines[1]);
  assert.ok(lines.some((l) => l.startsWith(`findings: ${n}`)), text.stdout);
  const listed = lines.slice(lines.findIndex((l) => l.startsWith('findings:')) + 1);
  assert.equal(listed.filter((l) => /^ {2}(error|warning|info) /.test(l)).length, want.findings, text.stdout);
  assert.equal(listed.filter((l) => l.includes('↳ follows:')).length, want.followOns, text.stdout);
  const page = readFileSync(html, 'utf8');
  assert.match(page, new RegExp(`<h2 id="findings-heading" data-count="${want.findings}">Findings \\(${want.findings}\\)</h2>`));
  assert.equal((page.match(/<tr class="(error|warning|info) follow"/g) ?? []).length, want.followOns);
  assert.doesNotMatch(text.stdout + page, /signed through line 0/);
  return j.json!;
}

void test('one garbage line appended: one finding (the damaged line 21), the unsigned tail beneath it, the same count in text, JSON and HTML', () => {
  const d = copy();
  const nLines = readRecords(d).length;
  appendFileSync(join(d, JOURNAL), 'garbage line {{{\n');
  const j = assertOneCount(d, { findings: 1, followOns: 1 });
  const cause = j.findings.find((f) => f.kind === 'line_not_json')!;
  assert.equal(cause.where, `${JOURNAL}:${nLines + 1}`);
  assert.equal((cause as unknown as { line: number }).line, nLines + 1, 'line is 1-based');
});

void test('one segment record replaced by garbage: one cause, no false extra_file, the segment unaccounted, the chain break and signatures beneath it', () => {
  const d = copy();
  const raw = readFileSync(join(d, JOURNAL), 'utf8').split('\n');
  const idx = raw.findIndex((l) => l.includes('"type":"segment"'));
  raw[idx] = 'garbage';
  writeFileSync(join(d, JOURNAL), raw.join('\n'));
  const j = assertOneCount(d, { findings: 1, followOns: 4 });
  const ks = j.findings.map((f) => f.kind);
  assert.ok(!ks.includes('extra_file'), ks.join(' '));
  assert.ok(!ks.includes('segment_order'), ks.join(' '));
  assert.deepEqual(ks.sort(), ['chain_broken', 'coverage_hole', 'line_not_json', 'no_valid_signature', 'segment_unaccounted']);
  const u = j.findings.find((f) => f.kind === 'segment_unaccounted')!;
  assert.equal(u.where, 'seg-000001.ts');
  assert.match(u.message, new RegExp(`damaged line ${idx + 1}\\b`));
  const text = bodycam(['verify', d, '--pubkey', device.publicKeyPath]).stdout;
  assert.match(text, new RegExp(`chain breaks at line ${idx + 1} before any of them: no line is authenticated`));
  const tl = (j as unknown as { timeline: { kind: string; line: number }[] }).timeline;
  assert.ok(tl.some((t) => t.kind === 'missing' && t.line === idx + 1), 'the lost record marked on the timeline');
});

void test('a segment record removed and the chain rebuilt: one segment_order finding, the later ones beneath it', () => {
  const d = copy();
  const recs = readRecords(d);
  const i = recs.findIndex((r) => r.type === 'segment');
  recs.splice(i, 1);
  writeRecords(d, recs, { rechain: true });
  const r = verify(d);
  const order = r.json!.findings.filter((f) => f.kind === 'segment_order') as unknown as { causedBy?: number }[];
  assert.ok(order.length >= 2, JSON.stringify(r.json!.findings));
  assert.equal(order.filter((f) => f.causedBy === undefined).length, 1, 'one cause, the rest follow it');
});

void test('the pause record replaced by garbage: one cause; the hole, the unsigned records, the chain break and the resume without pause beneath it', () => {
  const d = copy();
  const raw = readFileSync(join(d, JOURNAL), 'utf8').split('\n');
  const idx = raw.findIndex((l) => l.includes('"type":"pause"'));
  raw[idx] = 'garbage';
  writeFileSync(join(d, JOURNAL), raw.join('\n'));
  const j = assertOneCount(d, { findings: 1, followOns: 4 });
  assert.deepEqual(j.findings.map((f) => f.kind).sort(), ['chain_broken', 'coverage_hole', 'line_not_json', 'resume_without_pause', 'unsigned_tail']);
});
