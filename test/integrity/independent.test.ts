/**
 * docs/evidence-format.md is complete enough to verify a shift without our code: the small
 * independent verifier (Python standard library + openssl, written from the document only)
 * agrees with `bodycam verify` on pristine, encrypted, tampered, crashed and garbage shifts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { provisionIdentity, type DeviceIdentity } from '../../agent/identity/identity.js';
import { makeMedia, makeShift, type Media } from '../helpers/shift-fixture.js';
import { loadPublicKey } from '../../agent/evidence/crypto.js';
import { bodycam, readRecords, writeRecords } from './tamper.js';

const SCRIPT = join(process.cwd(), 'test/integrity/independent_verify.py');
let root: string;
let media: Media;
let device: DeviceIdentity;
let other: DeviceIdentity;
let plain: string;
let enc: string;
let central: { pub: string; key: string };
let n = 0;

function independent(dir: string, ...extra: string[]): { code: number; out: string } {
  const r = spawnSync('python3', [SCRIPT, dir, '--pubkey', device.publicKeyPath, ...extra], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

/** Both verifiers must reach the same exit code. */
function agree(dir: string, expected: number): string {
  const ours = bodycam(['verify', dir, '--pubkey', device.publicKeyPath]);
  const theirs = independent(dir);
  assert.equal(ours.code, expected, `bodycam verify: ${ours.stdout}${ours.stderr}`);
  assert.equal(theirs.code, expected, `independent verifier: ${theirs.out}`);
  return theirs.out;
}

function copy(src: string): string {
  const d = join(root, `case-${++n}`, 'shift');
  cpSync(src, d, { recursive: true });
  return d;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bodycam-indep-'));
  device = provisionIdentity(join(root, 'device'), { deviceId: 'cam-indep' });
  other = provisionIdentity(join(root, 'other'), { deviceId: 'cam-indep' });
  assert.equal(bodycam(['keygen-central', '--out', join(root, 'central')]).code, 0);
  central = { pub: join(root, 'central', 'central-x25519.pub.pem'), key: join(root, 'central', 'central-x25519.key.pem') };
  media = makeMedia(4);
  plain = (await makeShift({ root: join(root, 'plain'), identity: device, media })).dir;
  enc = (await makeShift({ root: join(root, 'enc'), identity: device, media, encryptFor: loadPublicKey(central.pub, 'x25519') })).dir;
});

after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(media.dir, { recursive: true, force: true });
});

void test('pristine shift: both verifiers say intact', () => {
  assert.match(agree(plain, 0), /^INTACT/);
});

void test('encrypted shift: intact without a key; with central key the script decrypts every segment to plain_sha256', { timeout: 300_000 }, () => {
  agree(enc, 0);
  const r = independent(enc, '--central-key', central.key);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /4 segments decrypted/);
  const wrong = mkdtempSync(join(root, 'wrong-'));
  assert.equal(bodycam(['keygen-central', '--out', wrong]).code, 0);
  const w = independent(enc, '--central-key', join(wrong, 'central-x25519.key.pem'));
  assert.equal(w.code, 2, w.out);
  assert.match(w.out, /wrong key/);
});

void test('tampered shifts: both verifiers say not intact', () => {
  const flipped = copy(plain);
  const b = readFileSync(join(flipped, 'seg-000003.ts'));
  b[500]! ^= 0x10;
  writeFileSync(join(flipped, 'seg-000003.ts'), b);
  assert.match(agree(flipped, 1), /seg-000003\.ts: size or SHA-256 differs/);

  const edited = copy(plain);
  const recs = readRecords(edited);
  recs.find((r) => r.type === 'pause')!.reason = 'SENSITIVE_SITE';
  writeRecords(edited, recs, { rechain: true });
  assert.match(agree(edited, 1), /signature invalid/);

  const resigned = copy(plain);
  writeRecords(resigned, readRecords(resigned).filter((r) => r.type !== 'fault'), { rechain: true, resignWith: { key: other.privateKey, pub: other.publicKey } });
  assert.match(agree(resigned, 1), /signature invalid/);

  const cut = copy(plain);
  const all = readRecords(cut);
  writeRecords(cut, all.slice(0, all.length - 2), { rechain: false });
  assert.match(agree(cut, 1), /no shift_end/);

  const encSwapped = copy(enc);
  const a = readFileSync(join(encSwapped, 'seg-000001.ts.enc'));
  writeFileSync(join(encSwapped, 'seg-000001.ts.enc'), readFileSync(join(encSwapped, 'seg-000002.ts.enc')));
  writeFileSync(join(encSwapped, 'seg-000002.ts.enc'), a);
  agree(encSwapped, 1);
});

void test('a crashed shift and a journaled hole: both verifiers say not intact', async () => {
  const crash = (await makeShift({ root: join(root, 'crash'), identity: device, media, crash: true })).dir;
  const out = agree(crash, 1);
  assert.match(out, /not covered by a valid signature/);
  assert.match(out, /unsealed segment/);
  const hole = (await makeShift({ root: join(root, 'hole'), identity: device, media, hole: true })).dir;
  assert.match(agree(hole, 1), /0\.400 s not covered/);
});

void test('garbage: both verifiers say unusable (2)', () => {
  const g = copy(plain);
  writeFileSync(join(g, 'journal.jsonl'), Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 131) % 256)));
  agree(g, 2);
  agree(join(root, 'nowhere'), 2);
});

void test('an open prefix (journal cut at a signature, the last named segment not arrived yet): both verifiers say intact, shift still open, and agree on verified-through T and the awaited file', async () => {
  const signed = (await makeShift({ root: join(root, 'open'), identity: device, media, signEvery: 1 })).dir;
  const d = copy(signed);
  const lines = readFileSync(join(d, 'journal.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
  const sigs = lines.map((l, i) => ((JSON.parse(l) as { type: string }).type === 'signature' ? i + 1 : 0)).filter((x) => x > 0);
  const cut = sigs[2]!;
  const kept = lines.slice(0, cut);
  writeFileSync(join(d, 'journal.jsonl'), kept.map((l) => l + '\n').join(''));
  const named = kept.map((l) => JSON.parse(l) as { type: string; file?: string }).filter((r) => r.type === 'segment').map((r) => r.file!);
  for (const f of readdirSync(d)) if (f.startsWith('seg-') && !named.includes(f)) rmSync(join(d, f));
  rmSync(join(d, named[named.length - 1]!));
  const theirs = agree(d, 0);
  const ours = bodycam(['verify', d, '--pubkey', device.publicKeyPath, '--json']);
  const j = ours.json as unknown as { verifiedThrough: string; awaited: string[] };
  assert.match(theirs, new RegExp(`^INTACT: covered from start through ${j.verifiedThrough.replace(/\./g, '\\.')}, shift still open; awaited: ${named[named.length - 1]}`), theirs);
  assert.deepEqual(j.awaited, [named[named.length - 1]]);
});
