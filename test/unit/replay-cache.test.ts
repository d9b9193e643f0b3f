/**
 * The replay cache (agent/commands/replay-cache.ts) on a real temp dir, driven by the real
 * verifier with explicit clocks: a captured command is refused after the wall clock moves back,
 * after its nonce was forgotten, and after a restart (a new cache loaded from disk).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplayCache } from '../../agent/commands/replay-cache.js';
import { buildCommand, signCommand, verifyCommand, type VerifyOptions, type VerifyResult } from '../../agent/commands/commands.js';

const central = generateKeyPairSync('ed25519');
const T = Date.UTC(2026, 11, 4, 12, 0, 0);

function verifier(cache: ReplayCache) {
  return (payload: Uint8Array, nowMs: number): VerifyResult => {
    const o: VerifyOptions = { deviceId: 'cam-1', keys: [central.publicKey], nowMs, maxBytes: 4096, maxTtlMs: 86_400_000, clockSkewMs: 300_000, seen: (id, exp) => cache.has(id, exp) };
    const v = verifyCommand(payload, o);
    if (v.ok) cache.add(v.id, v.expiresAtMs, nowMs);
    return v;
  };
}

const identify = (issuedAtMs: number, ttlS = 60): Uint8Array => signCommand(buildCommand({ deviceId: 'cam-1', action: { type: 'identify', seconds: 3 }, issuedAtMs, ttlS }), central.privateKey);

void test('a command replayed after its nonce was forgotten and the clock moved back is refused as replayed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  try {
    const cache = new ReplayCache(dir);
    const check = verifier(cache);
    const captured = identify(T);
    assert.equal(check(captured, T + 1000).ok, true, 'first delivery accepted');
    assert.equal(check(captured, T + 2000).ok, false, 'replay within its validity refused');
    // Two minutes later another command arrives: the captured one's nonce (expired) is forgotten.
    assert.equal(check(identify(T + 120_000), T + 120_000).ok, true);
    assert.equal(cache.has(Buffer.alloc(16).toString('hex')), false);
    assert.equal(cache.floor, T + 60_000, 'the floor is the latest forgotten expiry');
    // The clock steps back 100 s (an RTC that lost power, an NTP correction): the captured
    // command is inside its validity again on this clock.
    const v = check(captured, T + 20_000);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.refusal, 'replayed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('after a restart the floor and the nonces come back from disk: the captured command stays refused, a new one is accepted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  try {
    const before = new ReplayCache(dir);
    const check = verifier(before);
    const captured = identify(T);
    assert.equal(check(captured, T + 1000).ok, true);
    assert.equal(check(identify(T + 120_000), T + 120_000).ok, true);
    const onDisk = JSON.parse(readFileSync(join(dir, 'replay-cache.json'), 'utf8')) as { floor_ms: number };
    assert.equal(onDisk.floor_ms, T + 60_000);

    // Restart with the clock 100 s behind.
    const after = new ReplayCache(dir);
    after.load(T + 20_000);
    const again = verifier(after);
    const v = again(captured, T + 20_000);
    assert.equal(!v.ok && v.refusal, 'replayed', JSON.stringify(v));
    assert.equal(again(identify(T + 15_000), T + 20_000).ok, true, 'a command expiring after the floor is accepted');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a cache file from before the floor existed: expired nonces raise the floor as they load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  try {
    writeFileSync(join(dir, 'replay-cache.json'), JSON.stringify({ nonces: { ['a'.repeat(32)]: T + 60_000 } }));
    const old = new ReplayCache(dir);
    old.load(T + 600_000);
    assert.equal(old.has('a'.repeat(32)), false, 'an expired nonce is not kept');
    assert.equal(old.has('a'.repeat(32), T + 60_000), true, 'but its command counts as seen through the floor');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
