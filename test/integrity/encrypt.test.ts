/**
 * Encryption at rest with the real storer: only ciphertext in the shift dir, central's key
 * decrypts bit-exact, a wrong key is refused, a torn write loses only its chunk, and the
 * journal stays verifiable without any key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { provisionIdentity, type DeviceIdentity } from '../../agent/identity/identity.js';
import { makeMedia, makeShift, type Media } from '../helpers/shift-fixture.js';
import { bodycam, kinds, readRecords } from './tamper.js';
import { loadPrivateKey, loadPublicKey, keyIdOf, generateX25519 } from '../../agent/evidence/crypto.js';
import { decryptSegment, encryptSegment, wrapNewDataKey, EncryptingStorer, encryptionSection, parseHeader } from '../../agent/evidence/encrypt.js';
import { createSegmentStorer, PlainStorer } from '../../agent/evidence/storer.js';
import { parseAgentConfig } from '../../agent/config/agent-config.js';
import { isConfigError, type Issue } from '../../agent/lib/errors.js';

let root: string;
let media: Media;
let device: DeviceIdentity;
let shift: string;
let central: { dir: string; pub: string; key: string };
let wrong: { pub: string; key: string };

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const ffprobeDecodes = (path: string): boolean =>
  /^h264,[1-9]\d*/m.test(spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'csv=p=0', path], { encoding: 'utf8' }).stdout);

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bodycam-enc-'));
  device = provisionIdentity(join(root, 'device'), { deviceId: 'cam-enc' });
  const k = bodycam(['keygen-central', '--out', join(root, 'central')]);
  assert.equal(k.code, 0, k.stderr);
  central = { dir: join(root, 'central'), pub: join(root, 'central', 'central-x25519.pub.pem'), key: join(root, 'central', 'central-x25519.key.pem') };
  assert.equal(bodycam(['keygen-central', '--out', join(root, 'wrong')]).code, 0);
  wrong = { pub: join(root, 'wrong', 'central-x25519.pub.pem'), key: join(root, 'wrong', 'central-x25519.key.pem') };
  media = makeMedia(4);
  shift = (await makeShift({ root: join(root, 'shifts'), identity: device, media, encryptFor: loadPublicKey(central.pub, 'x25519') })).dir;
});

after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(media.dir, { recursive: true, force: true });
});

void test('the shift dir holds ciphertext only: no file in it decodes as media', () => {
  const files = readdirSync(shift).sort();
  assert.deepEqual(files, ['journal.jsonl', 'seg-000001.ts.enc', 'seg-000002.ts.enc', 'seg-000003.ts.enc', 'seg-000004.ts.enc']);
  for (const f of files) {
    assert.equal(ffprobeDecodes(join(shift, f)), false, `${f} must not decode`);
    const b = readFileSync(join(shift, f));
    // No MPEG-TS sync pattern (0x47 every 188 bytes) anywhere in the first KB.
    let tsLike = false;
    for (let o = 0; o + 376 < Math.min(b.length, 1024); o++) if (b[o] === 0x47 && b[o + 188] === 0x47 && b[o + 376] === 0x47) tsLike = true;
    assert.equal(tsLike, false, `${f} looks like MPEG-TS`);
  }
  // The original media does decode (the probe can tell).
  assert.equal(ffprobeDecodes(join(media.dir, media.files[0]!)), true);
});

void test('the journal verifies without any key; with central key it decrypts, hashes and decodes', () => {
  const plainVerify = bodycam(['verify', shift, '--pubkey', device.publicKeyPath, '--json']);
  assert.equal(plainVerify.code, 0, plainVerify.stdout);
  assert.equal((plainVerify.json as unknown as { encrypted: boolean }).encrypted, true);
  const full = bodycam(['verify', shift, '--pubkey', device.publicKeyPath, '--key', central.key, '--json']);
  assert.equal(full.code, 0, full.stdout);
  assert.equal((full.json as unknown as { mediaChecked: number }).mediaChecked, 4);
});

void test('bodycam decrypt with central key is bit-exact to what was encoded', () => {
  const out = join(root, 'plain');
  const r = bodycam(['decrypt', shift, '--key', central.key, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const recs = readRecords(shift).filter((x) => x.type === 'segment');
  assert.equal(recs.length, 4);
  for (const rec of recs) {
    const name = String(rec.file).replace(/\.enc$/, '');
    const plain = readFileSync(join(out, name));
    assert.equal(sha256(plain), rec.plain_sha256, `${name}: plain_sha256`);
    assert.ok(plain.equals(readFileSync(join(media.dir, name))), `${name}: identical to the encoder's output`);
  }
});

void test('a wrong key is refused with a clear error (decrypt and verify exit 2)', () => {
  const r = bodycam(['decrypt', shift, '--key', wrong.key, '--out', join(root, 'nope')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /wrong key/);
  const v = bodycam(['verify', shift, '--pubkey', device.publicKeyPath, '--key', wrong.key]);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /wrong key/);
  // The device's own signing key is no central key either.
  assert.equal(bodycam(['decrypt', shift, '--key', join(root, 'device', 'identity', 'device.key'), '--out', join(root, 'nope')]).code, 2);
});

void test('ciphertext altered: verify names the segment, decrypt names the chunk', () => {
  const d = join(root, 'altered');
  cpSync(shift, d, { recursive: true });
  const p = join(d, 'seg-000002.ts.enc');
  const b = readFileSync(p);
  b[b.length - 100]! ^= 0x01;
  writeFileSync(p, b);
  const v = bodycam(['verify', d, '--pubkey', device.publicKeyPath, '--key', central.key, '--json']);
  assert.equal(v.code, 1);
  assert.ok(v.json!.findings.some((f) => f.kind === 'segment_hash' && f.where === 'seg-000002.ts.enc'), JSON.stringify(v.json!.findings));
  const out = join(root, 'altered-out');
  const r = bodycam(['decrypt', d, '--key', central.key, '--out', out]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /seg-000002\.ts\.enc: chunk \d+ .*fails authentication/);
  assert.deepEqual(readdirSync(out).sort(), ['seg-000001.ts', 'seg-000002.ts.partial', 'seg-000003.ts', 'seg-000004.ts']);
});

void test('encrypted segments swapped: hashes and the name bound in the header catch it', () => {
  const d = join(root, 'swapped');
  cpSync(shift, d, { recursive: true });
  const a = readFileSync(join(d, 'seg-000001.ts.enc'));
  writeFileSync(join(d, 'seg-000001.ts.enc'), readFileSync(join(d, 'seg-000003.ts.enc')));
  writeFileSync(join(d, 'seg-000003.ts.enc'), a);
  const v = bodycam(['verify', d, '--pubkey', device.publicKeyPath, '--json']);
  assert.equal(v.code, 1);
  assert.deepEqual(kinds(v).sort(), ['segment_swapped', 'segment_swapped']);
  const r = bodycam(['decrypt', d, '--key', central.key, '--out', join(root, 'swapped-out')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /container names "seg-000003\.ts"/);
});

void test('a torn write loses only its chunk; a cut at a chunk boundary is detected', () => {
  const pub = loadPublicKey(central.pub, 'x25519');
  const priv = loadPrivateKey(central.key, 'x25519');
  const plain = readFileSync(join(media.dir, media.files[0]!));
  const chunk = 4096;
  const { dataKey, wrap } = wrapNewDataKey(pub);
  const full = encryptSegment(plain, 'seg-000001.ts', dataKey, wrap, chunk);
  const ok = decryptSegment(full, priv, pub);
  assert.equal(ok.complete, true);
  assert.ok(ok.plain.equals(plain));
  const headerLen = ok.header.headerLength;
  // Torn in the middle of chunk 3: chunks 0-2 survive intact.
  const torn = full.subarray(0, headerLen + 3 * (chunk + 16) + 1000);
  const t = decryptSegment(torn, priv, pub);
  assert.equal(t.complete, false);
  assert.equal(t.chunks, 3);
  assert.ok(t.plain.equals(plain.subarray(0, 3 * chunk)));
  assert.match(t.problem ?? '', /chunk 3 .*fails authentication/);
  // Cut exactly after chunk 2: authenticated data, but the final chunk is missing.
  const cut = decryptSegment(full.subarray(0, headerLen + 3 * (chunk + 16)), priv, pub);
  assert.equal(cut.complete, false);
  assert.ok(cut.plain.equals(plain.subarray(0, 3 * chunk)));
  assert.match(cut.problem ?? '', /final chunk is missing/);
  // Chunks cannot be reordered.
  const swapped = Buffer.concat([full.subarray(0, headerLen), full.subarray(headerLen + chunk + 16, headerLen + 2 * (chunk + 16)), full.subarray(headerLen, headerLen + chunk + 16), full.subarray(headerLen + 2 * (chunk + 16))]);
  assert.equal(decryptSegment(swapped, priv, pub).chunks, 0);
});

void test('the device cannot decrypt: its data key is forgotten and only central unwraps', async () => {
  const pub = loadPublicKey(central.pub, 'x25519');
  const stage = mkdtempSync('/dev/shm/bodycam-enc-test-');
  const shiftDir = join(root, 'forget', 'S');
  mkdirSync(shiftDir, { recursive: true });
  const storer = new EncryptingStorer({ centralPublicKey: pub, centralPublicKeyPath: central.pub, centralKeyId: keyIdOf(pub), stageDir: stage, chunkSize: 65536 });
  const sd = storer.stageDir('S', shiftDir);
  const plain = readFileSync(join(media.dir, media.files[1]!));
  writeFileSync(join(sd, 'seg-000001.ts'), plain);
  const stored = await storer.store(join(sd, 'seg-000001.ts'), shiftDir, 'seg-000001.ts', plain, sha256(plain));
  assert.deepEqual(readdirSync(sd), [], 'staged plaintext removed after the ciphertext is durable');
  assert.equal(stored.file, 'seg-000001.ts.enc');
  assert.equal(stored.plain_sha256, sha256(plain));
  storer.forget();
  const cipher = readFileSync(join(shiftDir, 'seg-000001.ts.enc'));
  // An idle key is forgotten by itself: the next segment gets a new data key (a new wrap).
  const quick = new EncryptingStorer({ centralPublicKey: pub, centralPublicKeyPath: central.pub, centralKeyId: keyIdOf(pub), stageDir: stage, chunkSize: 65536 }, 50);
  const qd = quick.stageDir('Q', shiftDir);
  const wrapOf = async (name: string): Promise<string> => {
    writeFileSync(join(qd, name), plain);
    await quick.store(join(qd, name), shiftDir, name, plain, sha256(plain));
    return parseHeader(readFileSync(join(shiftDir, `${name}.enc`))).ephemeralPublic.toString('hex');
  };
  const w1 = await wrapOf('seg-000101.ts');
  assert.equal(await wrapOf('seg-000102.ts'), w1, 'same shift, busy: same data key');
  await new Promise((r) => setTimeout(r, 200));
  assert.notEqual(await wrapOf('seg-000103.ts'), w1, 'after idling: the old key was forgotten');
  quick.forget();
  // Any key but central's is refused, including a fresh one the device could make.
  const other = generateX25519();
  assert.throws(() => decryptSegment(cipher, other.privateKey, other.publicKey), /wrong key/);
  const priv = loadPrivateKey(central.key, 'x25519');
  assert.ok(decryptSegment(cipher, priv, createPublicKey(priv)).plain.equals(plain));
  rmSync(stage, { recursive: true, force: true });
});

void test('config: encryption section parsed and validated; a disk-backed stage is refused', () => {
  const cfg = parseAgentConfig({ encryption: { centralPublicKey: central.pub, stageDir: '/dev/shm/bodycam-cfg-test' } }, 'test');
  const storer = createSegmentStorer(cfg);
  assert.ok(storer instanceof EncryptingStorer);
  assert.ok(createSegmentStorer(parseAgentConfig({}, 'test')) instanceof PlainStorer);
  rmSync('/dev/shm/bodycam-cfg-test', { recursive: true, force: true });
  const issues: Issue[] = [];
  encryptionSection.parse({ centralPublicKey: device.publicKeyPath, stageDir: 'relative', extra: 1 }, '/encryption', issues);
  assert.deepEqual(issues.map((i) => i.where).sort(), ['/encryption/centralPublicKey', '/encryption/extra', '/encryption/stageDir']);
  assert.match(issues.find((i) => i.where === '/encryption/centralPublicKey')!.message, /expected an X25519 key/);
  assert.throws(() => parseAgentConfig({ encryption: { centralPublicKey: join(root, 'missing.pem') } }, 'cfg.json'), (e: unknown) => isConfigError(e) && /no such file/.test(e.message));
  const disk = mkdtempSync(join(process.cwd(), '.cache-stage-'));
  try {
    const s = createSegmentStorer(parseAgentConfig({ encryption: { centralPublicKey: central.pub, stageDir: disk } }, 'test'));
    assert.throws(() => s.stageDir('S', join(root, 'S')), (e: unknown) => isConfigError(e) && /not on tmpfs/.test(e.message));
  } finally {
    rmSync(disk, { recursive: true, force: true });
  }
});
