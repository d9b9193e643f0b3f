/**
 * Provisioning and the journal signer: `bodycam provision` creates a private identity and refuses
 * to overwrite it; the signer signs every N segments, after restarts counts what was already
 * there, and always signs the journal's current head even when appends nest.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createPublicKey } from 'node:crypto';
import { Journal, type WrittenRecord } from '../../agent/evidence/journal.js';
import { JournalSigner, attachSigner } from '../../agent/evidence/signer.js';
import { loadIdentity, provisionIdentity } from '../../agent/identity/identity.js';
import { verifySubject } from '../../agent/evidence/crypto.js';
import { bodycam, readRecords } from './tamper.js';

const root = mkdtempSync(join(tmpdir(), 'bodycam-signer-'));
after(() => rmSync(root, { recursive: true, force: true }));

void test('bodycam provision: private key 0600, prints the public key path, refuses to overwrite without --force', () => {
  const d = join(root, 'prov');
  const r = bodycam(['provision', '--data-dir', d, '--device-id', 'cam-42']);
  assert.equal(r.code, 0, r.stderr);
  const pubPath = r.stdout.trim();
  assert.equal(pubPath, join(d, 'identity', 'device.pub.pem'));
  assert.equal(statSync(join(d, 'identity', 'device.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(d, 'identity')).mode & 0o777, 0o700);
  const id = loadIdentity(d)!;
  assert.equal(id.deviceId, 'cam-42');
  assert.equal(createPublicKey(readFileSync(pubPath)).export({ format: 'der', type: 'spki' }).toString('hex'), id.publicKey.export({ format: 'der', type: 'spki' }).toString('hex'));
  const again = bodycam(['provision', '--data-dir', d]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists.*refusing/);
  assert.equal(loadIdentity(d)!.keyId, id.keyId, 'the key is untouched');
  assert.equal(bodycam(['provision', '--data-dir', d, '--force']).code, 0);
  assert.notEqual(loadIdentity(d)!.keyId, id.keyId, '--force replaces it');
  assert.equal(bodycam(['provision', '--data-dir', join(root, 'bad'), '--device-id', 'no spaces']).code, 2);
});

void test('provisioned by root into an agent-owned data dir: the agent user owns its key', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  const d = join(root, 'owned');
  mkdirSync(d);
  chownSync(d, 4242, 4242);
  assert.equal(bodycam(['provision', '--data-dir', d]).code, 0);
  for (const f of ['', 'device.key', 'device.pub.pem', 'device.json']) assert.equal(statSync(join(d, 'identity', f)).uid, 4242, f || 'identity/');
});

function journalWith(name: string): { j: Journal; dir: string } {
  const dir = join(root, name, 'S1');
  mkdirSync(dir, { recursive: true });
  const j = new Journal(dir);
  j.open();
  return { j, dir };
}

void test('signs every N segments and on demand; each signature covers the head before it', () => {
  const id = provisionIdentity(join(root, 'id1'), { deviceId: 'cam-s' });
  const { j, dir } = journalWith('cadence');
  const s = new JournalSigner(id, 3);
  const sigs: (WrittenRecord | undefined)[] = [];
  sigs.push(s.maybeSign(j, j.append('shift_start', { shift_id: 'S1' })));
  for (let i = 1; i <= 7; i++) {
    sigs.push(s.maybeSign(j, j.append('segment', { file: `seg-${i}` })));
    sigs.push(s.maybeSign(j, j.append('gesture', {})));
  }
  const made = sigs.filter((x): x is WrittenRecord => x !== undefined);
  assert.equal(made.length, 2, 'after segments 3 and 6');
  s.signNow(j, 'shift_end');
  const recs = readRecords(dir);
  const sigRecs = recs.filter((r) => r.type === 'signature');
  assert.equal(sigRecs.length, 3);
  for (const r of sigRecs) {
    assert.equal(r.covers_seq, Number(r.seq) - 1);
    assert.equal(r.head, r.prev);
    assert.ok(verifySubject(id.publicKey, { deviceId: 'cam-s', shiftId: 'S1', coversSeq: Number(r.covers_seq), head: String(r.head) }, String(r.sig)));
  }
  const other = provisionIdentity(join(root, 'id2'), { deviceId: 'cam-s' });
  const r0 = sigRecs[0]!;
  assert.equal(verifySubject(other.publicKey, { deviceId: 'cam-s', shiftId: 'S1', coversSeq: Number(r0.covers_seq), head: String(r0.head) }, String(r0.sig)), false);
  j.close();
});

void test('after a restart the segments already journaled count towards the next signature', () => {
  const id = provisionIdentity(join(root, 'id3'), { deviceId: 'cam-r' });
  const { j, dir } = journalWith('restart');
  const s1 = new JournalSigner(id, 4);
  attachSigner(j, s1);
  j.append('shift_start', { shift_id: 'S1' });
  for (let i = 1; i <= 6; i++) j.append('segment', { file: `seg-${i}` });
  j.close();
  assert.equal(readRecords(dir).filter((r) => r.type === 'signature').length, 1);
  // New process: 2 segments trail the last signature, so 2 more make 4.
  const j2 = new Journal(dir);
  const existing = j2.open();
  attachSigner(j2, new JournalSigner(id, 4), existing);
  j2.append('segment', { file: 'seg-7' });
  assert.equal(readRecords(dir).filter((r) => r.type === 'signature').length, 1);
  j2.append('segment', { file: 'seg-8' });
  const recs = readRecords(dir);
  assert.equal(recs.filter((r) => r.type === 'signature').length, 2);
  assert.equal(recs.at(-1)!.type, 'signature');
  assert.equal(recs.at(-1)!.shift_id, 'S1');
  j2.close();
});

void test('nested appends (a listener journaling in response) never produce a signature over a stale head', () => {
  const id = provisionIdentity(join(root, 'id4'), { deviceId: 'cam-n' });
  const { j, dir } = journalWith('nested');
  // A listener registered before the signer answers every segment with a note.
  j.on('record', (w) => {
    if (w.record.type === 'segment') j.append('note', { what: 'seen' });
  });
  attachSigner(j, new JournalSigner(id, 1));
  j.append('shift_start', { shift_id: 'S1' });
  for (let i = 1; i <= 3; i++) j.append('segment', { file: `seg-${i}` });
  const recs = readRecords(dir);
  const sigs = recs.filter((r) => r.type === 'signature');
  assert.equal(sigs.length, 3);
  for (const r of sigs) {
    assert.equal(r.covers_seq, Number(r.seq) - 1);
    assert.equal(r.head, r.prev);
  }
  j.close();
});
