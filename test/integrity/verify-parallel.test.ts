/**
 * The verifier hashes segment files on worker threads (agent/evidence/hash-pool.ts) that finish in
 * whatever order the scheduler gives them. These tests prove the report does not depend on it: a
 * shift with a corrupted, a missing, a truncated, a renamed and a swapped segment and extra files
 * gives the same findings, in the same order, whether its files are hashed on the calling thread
 * (one after the other, as before the pool) or on 2, 3 or 5 workers; and an encrypted shift is
 * still checked on the hash of its stored ciphertext. The segments are random bytes of very
 * different sizes (4 kB to 3 MB) so the workers' completion order differs from the files' order.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { provisionIdentity, type DeviceIdentity } from '../../agent/identity/identity.js';
import { generateX25519, loadPublicKey } from '../../agent/evidence/crypto.js';
import { verifyShift } from '../../agent/evidence/verify/verify.js';
import type { VerifyReport } from '../../agent/evidence/verify/report.js';
import { makeShift, type Media } from '../helpers/shift-fixture.js';

const SEGMENTS = 40;
let root: string;
let device: DeviceIdentity;
let media: Media;
let pristine: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bodycam-verify-parallel-'));
  device = provisionIdentity(join(root, 'device'), { deviceId: 'cam-par' });
  // Not media: nothing here decodes it. Sizes vary a thousandfold so a worker on a 3-MB file is
  // still busy while the other takes several small ones.
  const dir = join(root, 'media');
  mkdirSync(dir);
  const files: string[] = [];
  for (let i = 1; i <= SEGMENTS; i++) {
    const f = `seg-${String(i).padStart(6, '0')}.ts`;
    writeFileSync(join(dir, f), randomBytes(i % 7 === 0 ? 3 << 20 : 4096 * (1 + (i % 5))));
    files.push(f);
  }
  media = { dir, files, frames: files.map(() => 20) };
  pristine = (await makeShift({ root: join(root, 'pristine'), identity: device, media, signEvery: 5 })).dir;
});

after(() => rmSync(root, { recursive: true, force: true }));

const publicKey = (): ReturnType<typeof loadPublicKey> => loadPublicKey(device.publicKeyPath, 'ed25519');
const seg = (i: number): string => `seg-${String(i).padStart(6, '0')}.ts`;

/** The report as a pure function of the evidence: the same under any thread count. */
async function reports(dir: string): Promise<Map<number, VerifyReport>> {
  const out = new Map<number, VerifyReport>();
  for (const hashThreads of [1, 2, 3, 5]) out.set(hashThreads, await verifyShift({ shiftDir: dir, publicKey: publicKey(), hashThreads }));
  return out;
}

void test('a damaged shift: corrupted, missing, truncated, renamed and swapped segments and extra files are the same findings in the same order on 1, 2, 3 or 5 hashing threads', async () => {
  const d = join(root, 'damaged', 'shift');
  cpSync(pristine, d, { recursive: true });
  // corrupted: one byte flipped in the middle of a 3-MB segment (7)
  const b7 = readFileSync(join(d, seg(7)));
  b7.writeUInt8(b7.readUInt8(b7.length >> 1) ^ 0x01, b7.length >> 1);
  writeFileSync(join(d, seg(7)), b7);
  unlinkSync(join(d, seg(12))); // missing
  truncateSync(join(d, seg(21)), 1000); // truncated (a 3-MB segment cut short)
  renameSync(join(d, seg(30)), join(d, 'seg-000777.ts')); // renamed
  // swapped: 33 and 34 exchange contents
  const b33 = readFileSync(join(d, seg(33)));
  writeFileSync(join(d, seg(33)), readFileSync(join(d, seg(34))));
  writeFileSync(join(d, seg(34)), b33);
  writeFileSync(join(d, 'seg-000500.ts'), randomBytes(5000)); // an extra segment file nobody journaled
  writeFileSync(join(d, 'notes.txt'), 'added later'); // an extra file of another kind

  const all = await reports(d);
  const serial = all.get(1)!;
  assert.equal(serial.verdict, 'tampered');
  const errors = serial.findings.filter((f) => f.severity === 'error').map((f) => `${f.kind} ${f.where}`);
  // The report's order (by place: file names, then journal lines).
  assert.deepEqual(errors, [
    'extra_file notes.txt',
    `segment_hash ${seg(7)}`,
    `segment_missing ${seg(12)}`,
    `segment_hash ${seg(21)}`,
    `segment_renamed ${seg(30)}`,
    `segment_swapped ${seg(33)}`,
    `segment_swapped ${seg(34)}`,
    'extra_file seg-000500.ts',
  ]);
  assert.match(serial.findings.find((f) => f.where === seg(21))!.message, /1000 bytes/);
  assert.equal(serial.totals.segments, SEGMENTS);
  for (const [threads, r] of all) assert.deepEqual(r, serial, `the report on ${threads} hashing thread(s) differs from the report on the calling thread`);
});

void test('the pristine shift is intact on every thread count, with the same report', async () => {
  const all = await reports(pristine);
  for (const [threads, r] of all) {
    assert.equal(r.verdict, 'intact', `${threads} thread(s): ${r.summary}`);
    assert.deepEqual(r, all.get(1));
  }
});

void test('an encrypted shift verifies on the hash of its stored ciphertext on worker threads; a flipped ciphertext byte is found there without central key', async () => {
  const central = generateX25519();
  const enc = (await makeShift({ root: join(root, 'encrypted'), identity: device, media, signEvery: 5, encryptFor: central.publicKey })).dir;
  const intact = await verifyShift({ shiftDir: enc, publicKey: publicKey(), hashThreads: 3 });
  assert.equal(intact.verdict, 'intact', intact.summary);
  assert.equal(intact.encrypted, true);
  const d = join(root, 'encrypted-damaged');
  cpSync(enc, d, { recursive: true });
  const f = `${seg(14)}.enc`;
  const b = readFileSync(join(d, f));
  b.writeUInt8(b.readUInt8(b.length - 100) ^ 0x80, b.length - 100);
  writeFileSync(join(d, f), b);
  const all = await reports(d);
  const serial = all.get(1)!;
  assert.deepEqual(serial.findings.filter((x) => x.severity === 'error').map((x) => `${x.kind} ${x.where}`), [`segment_hash ${f}`]);
  for (const [threads, r] of all) assert.deepEqual(r, serial, `${threads} thread(s)`);
});
