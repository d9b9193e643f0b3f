/**
 * Signed-command verification, pure (agent/commands/commands.ts): the valid command and every
 * refusal reason, plus a fuzz loop of malformed payloads that must all be refused, none thrown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { buildCommand, signCommand, verifyCommand, SIGN_PREFIX, type VerifyOptions, type RefusedCommand } from '../../agent/commands/commands.js';
import { pb } from '../../agent/telemetry/proto.js';
import { parseCentralConfig } from '../../agent/commands/config.js';
import { sign } from 'node:crypto';

const central = generateKeyPairSync('ed25519');
const attacker = generateKeyPairSync('ed25519');
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const seen = new Set<string>();
const opts = (o: Partial<VerifyOptions> = {}): VerifyOptions => ({
  deviceId: 'cam-1', keys: [central.publicKey], nowMs: NOW, maxBytes: 4096, maxTtlMs: 86_400_000, clockSkewMs: 300_000, seen: (id) => seen.has(id), ...o,
});
const identify = { type: 'identify' as const, seconds: 5 };
const refused = (r: ReturnType<typeof verifyCommand>): RefusedCommand => {
  assert.equal(r.ok, false, 'expected a refusal');
  return r as RefusedCommand;
};

void test('a valid signed command verifies into a typed action', () => {
  const cmd = buildCommand({ deviceId: 'cam-1', action: { type: 'set_policy', values: { personalNeedsMaxS: 600 } }, issuedAtMs: NOW - 1000, ttlS: 60 });
  const r = verifyCommand(signCommand(cmd, central.privateKey), opts());
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.action, { type: 'set_policy', values: { personalNeedsMaxS: 600 } });
  assert.equal(r.id, Buffer.from(cmd.nonce as Uint8Array).toString('hex'));
  for (const action of [
    { type: 'legal_hold' as const, shiftId: '20261122T120000Z-cam-1', on: true, reference: 'case 7' },
    { type: 'request_offload' as const, shiftId: undefined },
    identify,
    { type: 'confirm_offload' as const, shiftId: '20261122T120000Z-cam-1', manifestSha256: 'a'.repeat(64) },
  ]) {
    const v = verifyCommand(signCommand(buildCommand({ deviceId: 'cam-1', action, issuedAtMs: NOW }), central.privateKey), opts());
    assert.ok(v.ok, `${action.type}: ${JSON.stringify(v)}`);
    assert.deepEqual(v.action, action);
  }
});

void test('every refusal reason', () => {
  const good = (o: Partial<Parameters<typeof buildCommand>[0]> = {}) => buildCommand({ deviceId: 'cam-1', action: identify, issuedAtMs: NOW, ...o });
  // unsigned
  const body = pb.Command.encode(good()).finish();
  assert.equal(refused(verifyCommand(pb.SignedCommand.encode({ command: body }).finish(), opts())).refusal, 'unsigned');
  // signed by someone else
  assert.equal(refused(verifyCommand(signCommand(good(), attacker.privateKey), opts())).refusal, 'bad_signature');
  // signature without the domain prefix (a signature made for some other purpose)
  const noPrefix = pb.SignedCommand.encode({ command: body, signature: sign(null, body, central.privateKey) }).finish();
  assert.equal(refused(verifyCommand(noPrefix, opts())).refusal, 'bad_signature');
  // a bit flipped in the signed bytes
  const flipped = Buffer.from(signCommand(good(), central.privateKey));
  flipped[10]! ^= 0x01;
  assert.ok(['bad_signature', 'malformed'].includes(refused(verifyCommand(flipped, opts())).refusal));
  // other device
  assert.equal(refused(verifyCommand(signCommand(good({ deviceId: 'cam-2' }), central.privateKey), opts())).refusal, 'wrong_device');
  // expired
  assert.equal(refused(verifyCommand(signCommand(good({ issuedAtMs: NOW - 600_000, ttlS: 60 }), central.privateKey), opts())).refusal, 'expired');
  // from the future / too long a validity
  assert.equal(refused(verifyCommand(signCommand(good({ issuedAtMs: NOW + 3_600_000 }), central.privateKey), opts())).refusal, 'not_yet_valid');
  assert.equal(refused(verifyCommand(signCommand(good({ ttlS: 7 * 86400 }), central.privateKey), opts())).refusal, 'malformed', 'a validity longer than the maximum is malformed, not "not yet valid"');
  // replayed
  const once = signCommand(good(), central.privateKey);
  const first = verifyCommand(once, opts());
  assert.ok(first.ok);
  seen.add(first.id);
  assert.equal(refused(verifyCommand(once, opts())).refusal, 'replayed');
  // oversized: refused before decoding
  const big = refused(verifyCommand(randomBytes(5000), opts()));
  assert.equal(big.refusal, 'too_large');
  // bad arguments (signed, so a real central mistake)
  assert.equal(refused(verifyCommand(signCommand(good({ action: { type: 'identify', seconds: 9999 } }), central.privateKey), opts())).refusal, 'invalid_argument');
  assert.equal(refused(verifyCommand(signCommand(good({ action: { type: 'legal_hold', shiftId: '../../etc', on: true, reference: '' } }), central.privateKey), opts())).refusal, 'invalid_argument');
  // `.` and `..` passed the old `[A-Za-z0-9._-]+` form: join() made them the shifts folder or the data dir.
  for (const shiftId of ['.', '..', 'x', '20261122T170059Z']) {
    assert.equal(refused(verifyCommand(signCommand(good({ action: { type: 'legal_hold', shiftId, on: true, reference: '' } }), central.privateKey), opts())).refusal, 'invalid_argument', shiftId);
    assert.equal(refused(verifyCommand(signCommand(good({ action: { type: 'confirm_offload', shiftId, manifestSha256: 'a'.repeat(64) } }), central.privateKey), opts())).refusal, 'invalid_argument', shiftId);
  }
  // no action
  const empty = { deviceId: 'cam-1', issuedAtMs: NOW, expiresAtMs: NOW + 1000, nonce: randomBytes(16) };
  assert.equal(refused(verifyCommand(signCommand(empty, central.privateKey), opts())).refusal, 'unknown_command');
  // short nonce
  assert.equal(refused(verifyCommand(signCommand({ ...empty, nonce: randomBytes(4), identify: { seconds: 3 } }, central.privateKey), opts())).refusal, 'malformed');
  // no key configured
  assert.equal(refused(verifyCommand(signCommand(good(), central.privateKey), opts({ keys: [] }))).refusal, 'no_key');
  // truncated
  const t = signCommand(good(), central.privateKey);
  assert.equal(refused(verifyCommand(t.subarray(0, t.length - 7), opts())).refusal, 'malformed');
});

void test('fuzz: 3000 malformed payloads are all refused with a reason, none throws', () => {
  const valid = Buffer.from(signCommand(buildCommand({ deviceId: 'cam-1', action: identify, issuedAtMs: NOW }), central.privateKey));
  const validSigned = { command: Buffer.from(pb.SignedCommand.decode(valid).command), signature: Buffer.from(pb.SignedCommand.decode(valid).signature) };
  const counts = new Map<string, number>();
  let n = 0;
  for (let i = 0; i < 3000; i++) {
    let p: Buffer;
    switch (i % 6) {
      case 0: p = randomBytes(Math.floor(Math.random() * 600)); break; // random bytes
      case 1: p = valid.subarray(0, Math.floor(Math.random() * valid.length)); break; // truncated
      case 2: { // bit flips in a valid payload
        p = Buffer.from(valid);
        for (let k = 0; k < 1 + (i % 5); k++) p[Math.floor(Math.random() * p.length)]! ^= 1 << (k % 8);
        break;
      }
      case 3: p = Buffer.concat([valid, randomBytes(5000)]); break; // oversized
      case 4: p = Buffer.concat([Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), randomBytes(50)]); break; // absurd length prefix
      default: p = Buffer.concat([SIGN_PREFIX, randomBytes(i % 200)]); // text garbage
    }
    if (p.equals(valid)) continue;
    const r = verifyCommand(p, opts());
    if (r.ok) {
      // Only the unsigned key_id hint may change without effect: the signed bytes must be intact.
      const d = pb.SignedCommand.decode(p);
      assert.ok(Buffer.from(d.command).equals(validSigned.command) && Buffer.from(d.signature).equals(validSigned.signature), `payload ${i} was accepted: ${p.toString('hex')}`);
      continue;
    }
    assert.ok(r.reason.length > 0);
    counts.set(r.refusal, (counts.get(r.refusal) ?? 0) + 1);
    n++;
  }
  assert.ok(n >= 2900);
  for (const reason of ['malformed', 'too_large', 'bad_signature']) assert.ok((counts.get(reason) ?? 0) > 0, `${reason} seen: ${JSON.stringify([...counts])}`);
});

void test('central config: key loading errors are listed', () => {
  const issues: { where: string; message: string }[] = [];
  parseCentralConfig({ commandPublicKey: '/nonexistent.pem', bogus: 1, maxTtlS: -5 }, '/central', issues);
  assert.deepEqual(issues.map((i) => i.where).sort(), ['/central/bogus', '/central/commandPublicKey', '/central/maxTtlS']);
});
