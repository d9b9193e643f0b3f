/**
 * live_view_start / live_view_stop (agent/commands/commands.ts): verified into their actions, bad
 * fields refused as invalid_argument, a team cannot be addressed; `bodycam central sign` refuses
 * what the camera would refuse. The live-view room's end causes by shift state; the recording
 * argv with a live tap (tee: the same segment muxer options, plus RTP to loopback).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCommand, signCommand, verifyCommand, type RefusedCommand } from '../../agent/commands/commands.js';
import { endCauseFor } from '../../agent/live-view/extension.js';
import { buildRecordingArgs } from '../../hal/encoder/args.js';
import { CLI } from '../helpers/agent.js';

const central = generateKeyPairSync('ed25519');
const NOW = Date.UTC(2026, 11, 4, 8, 0, 0);
const opts = { deviceId: 'cam-1', groupId: 'team-a', keys: [central.publicKey], nowMs: NOW, maxBytes: 4096, maxTtlMs: 86_400_000, clockSkewMs: 300_000, seen: () => false };
const start = { type: 'live_view_start', viewerId: 'sup-1', reason: 'complaint 117', maxS: 300, gatewayHost: 'media.central.example', gatewayPort: 20000, sessionId: 'lv-abc_1' } as const;

void test('live_view_start and live_view_stop verify into their actions', () => {
  for (const action of [start, { ...start, gatewayHost: '10.0.0.7' }, { ...start, gatewayHost: 'fd00::7' }, { type: 'live_view_stop', sessionId: 'lv-abc_1' } as const]) {
    const v = verifyCommand(signCommand(buildCommand({ deviceId: 'cam-1', action, issuedAtMs: NOW }), central.privateKey), opts);
    assert.ok(v.ok, JSON.stringify(v));
    assert.deepEqual(v.action, action);
  }
});

void test('live_view_start: a bad viewer, reason, max_s, gateway or session id is invalid_argument; a team cannot be addressed', () => {
  const bads = [{ viewerId: 'a b' }, { reason: '' }, { reason: 'x'.repeat(257) }, { reason: 'line\nbreak' }, { maxS: 0 }, { maxS: 3601 }, { gatewayHost: 'evil host' }, { gatewayHost: '' }, { gatewayPort: 0 }, { gatewayPort: 70000 }, { sessionId: '../x' }];
  for (const bad of bads) {
    const r = verifyCommand(signCommand(buildCommand({ deviceId: 'cam-1', action: { ...start, ...bad }, issuedAtMs: NOW }), central.privateKey), opts) as RefusedCommand;
    assert.equal(r.ok, false, JSON.stringify(bad));
    assert.equal(r.refusal, 'invalid_argument', `${JSON.stringify(bad)}: ${r.reason}`);
  }
  const team = verifyCommand(signCommand(buildCommand({ deviceId: '', groupId: 'team-a', action: start, issuedAtMs: NOW }), central.privateKey), opts) as RefusedCommand;
  assert.equal(team.refusal, 'wrong_device', team.reason);
});

void test('central sign: refuses a live_view_start the camera would refuse (exit 2, nothing written), signs a valid one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bodycam-lv-'));
  try {
    assert.equal(spawnSync(process.execPath, [CLI, 'central', 'keygen', '--out', dir], { encoding: 'utf8' }).status, 0);
    const sign = (...extra: string[]) => spawnSync(process.execPath, [CLI, 'central', 'sign', '--key', join(dir, 'central-cmd.key.pem'), '--device', 'cam-1', '--out', join(dir, 'cmd.bin'), ...extra], { encoding: 'utf8' });
    const bad = sign('--type', 'live_view_start', '--viewer', 'sup-1', '--reason', 'r', '--gateway', 'gw:99999', '--session', 's1');
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /gateway port/);
    assert.equal(existsSync(join(dir, 'cmd.bin')), false);
    const long = sign('--type', 'live_view_start', '--viewer', 'sup-1', '--reason', 'r', '--gateway', '[fd00::7]:20000', '--session', 's1', '--max-s', '900');
    assert.equal(long.status, 0, long.stderr);
    assert.match(long.stderr, /default policy refuses --max-s above 600/);
    const stop = sign('--type', 'live_view_stop', '--session', 's1');
    assert.equal(stop.status, 0, stop.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a session ends when a pause begins or the shift ends, not on an encoder fault', () => {
  assert.equal(endCauseFor('PAUSED'), 'pause');
  for (const s of ['CLOSING', 'OFF_DUTY', 'OFFLOADING'] as const) assert.equal(endCauseFor(s), 'shift_end');
  assert.equal(endCauseFor('RECORDING'), undefined);
  assert.equal(endCauseFor('FAULT'), undefined);
});

void test('recording argv with a live tap: one tee output carrying the same segment options and RTP of the video to loopback', () => {
  const base = {
    video: { kind: 'lavfi', width: 640, height: 360, fps: 30 }, audio: { kind: 'lavfi', sampleRate: 48000, channels: 1 },
    encoder: { video: 'libx264', preset: 'veryfast', videoKbps: 1200, audioKbps: 64, fps: 30 }, burnIn: undefined, segmentS: 2, startNumber: 7, outDir: '/data/s',
  } as const;
  const plain = buildRecordingArgs(base);
  const a = buildRecordingArgs({ ...base, liveTap: { port: 47001 } });
  assert.equal(a[a.indexOf('-f', a.indexOf('-c:a')) + 1], 'tee');
  const spec = a[a.indexOf('tee') + 1]!;
  assert.equal(spec,
    '[f=segment:segment_format=mpegts:segment_time=2:reset_timestamps=0:segment_start_number=7:segment_list=pipe\\\\\\:3:segment_list_type=csv:segment_format_options=flush_packets=1]/data/s/seg-%06d.ts' +
    '|[f=rtp:select=v:onfail=ignore]rtp://127.0.0.1:47001?pkt_size=1200');
  // Everything before the output (inputs, filters, encoders) is the same argv: one encoding.
  assert.deepEqual(a.slice(0, a.indexOf('-flush_packets')), plain.slice(0, plain.indexOf('-f', plain.indexOf('-c:a'))));
  assert.throws(() => buildRecordingArgs({ ...base, outDir: '/data/a:b', liveTap: { port: 47001 } }), /tee output spec/);
});
