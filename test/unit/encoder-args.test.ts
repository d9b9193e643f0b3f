import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordingArgs } from '../../hal/encoder/args.js';

const base = {
  video: { kind: 'lavfi', width: 640, height: 360, fps: 30 },
  audio: { kind: 'lavfi', sampleRate: 48000, channels: 1 },
  encoder: { video: 'libx264', preset: 'veryfast', videoKbps: 1200, audioKbps: 64, fps: 30 },
  burnIn: { deviceId: 'cam-1', font: '/f.ttf' },
  segmentS: 2,
  startNumber: 7,
  outDir: '/data/s',
} as const;

const after = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

test('segments: MPEG-TS, continuous timestamps, numbered from the start number, list and progress on pipes', () => {
  const a = buildRecordingArgs(base);
  assert.equal(after(a, '-segment_format'), 'mpegts');
  assert.equal(after(a, '-reset_timestamps'), '0');
  assert.equal(after(a, '-segment_start_number'), '7');
  assert.equal(after(a, '-segment_list'), 'pipe:3');
  assert.equal(after(a, '-progress'), 'pipe:4');
  assert.equal(after(a, '-flush_packets'), '1');
  assert.equal(a.at(-1), '/data/s/seg-%06d.ts');
  assert.equal(after(a, '-g'), '60', 'one GOP per segment');
  assert.equal(after(a, '-force_key_frames'), 'expr:gte(t,n_forced*2)');
  assert.ok(a.includes('-re'), 'lavfi is paced like a camera');
});

test('v4l2 + alsa inputs, degraded fps, hardware encoder', () => {
  const a = buildRecordingArgs({
    ...base,
    video: { kind: 'v4l2', width: 640, height: 360, fps: 30, device: '/dev/video0', inputFormat: 'yuyv422' },
    audio: { kind: 'alsa', device: 'hw:0', sampleRate: 16000, channels: 1 },
    encoder: { ...base.encoder, video: 'h264_v4l2m2m', fps: 15 },
  });
  assert.equal(after(a, '-f'), 'v4l2');
  assert.equal(after(a, '-input_format'), 'yuyv422');
  assert.ok(a.includes('/dev/video0') && a.includes('hw:0'));
  assert.equal(after(a, '-c:v'), 'h264_v4l2m2m');
  assert.match(after(a, '-vf')!, /^fps=15,drawtext=.*format=nv12$/);
  assert.ok(!a.includes('-re'), 'a real camera paces itself');
});

test('no audio maps no audio; unsafe device ids are refused for the burn-in', () => {
  const a = buildRecordingArgs({ ...base, audio: { kind: 'none', sampleRate: 48000, channels: 1 } });
  assert.ok(!a.includes('1:a:0') && !a.includes('aac'));
  assert.throws(() => buildRecordingArgs({ ...base, burnIn: { deviceId: "x':y", font: '/f' } }), /cannot be burned in/);
});
