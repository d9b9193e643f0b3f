import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordingArgs } from '../../hal/encoder/args.js';
import { sceneFor } from '../../hal/sim/lavfi-camera.js';

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

test('obstruction analysis: a separate filtergraph taps the inputs; the recorded output is the same argv', () => {
  const plain = buildRecordingArgs(base);
  const a = buildRecordingArgs({ ...base, analysis: { fps: 2, width: 64, height: 36, audioRate: 4000 } });
  const rec = a.indexOf('/data/s/seg-%06d.ts');
  assert.deepEqual(a.slice(0, rec + 1), plain, 'everything up to the segment output is unchanged');
  assert.equal(after(a, '-filter_complex'), '[0:v]fps=2:round=up,scale=64:36:flags=area,format=gray[anv];[1:a]aresample=4000,aformat=sample_fmts=s16:channel_layouts=mono[ana]');
  assert.deepEqual(a.slice(a.indexOf('[anv]') - 1, a.indexOf('pipe:5') + 1), ['-map', '[anv]', '-f', 'rawvideo', '-flush_packets', '1', 'pipe:5']);
  assert.deepEqual(a.slice(a.indexOf('[ana]') - 1), ['-map', '[ana]', '-f', 's16le', '-flush_packets', '1', 'pipe:6']);
  const silent = buildRecordingArgs({ ...base, audio: { kind: 'none', sampleRate: 48000, channels: 1 }, analysis: { fps: 2, width: 64, height: 36, audioRate: 4000 } });
  assert.ok(!silent.includes('pipe:6') && !silent.join(' ').includes('[1:a]'), 'no audio, no audio analysis');
});

test('sim scene: lavfi picture behind a zmq-commanded streamselect, tone behind a zmq-commanded volume', () => {
  const a = buildRecordingArgs({
    ...base,
    video: { ...base.video, scene: { endpoint: '/tmp/d/v.zmq', picture: 'black' } },
    audio: { ...base.audio, scene: { endpoint: '/tmp/d/a.zmq', silent: true } },
  });
  const inputs = a.filter((_, i) => a[i - 1] === '-i');
  assert.equal(inputs[0], 'testsrc2=size=640x360:rate=30[live];color=c=black:s=640x360:r=30[black];smptebars=s=640x360:r=30[still];[live][black][still]streamselect@scene=inputs=3:map=1,zmq=bind_address=ipc\\\\:///tmp/d/v.zmq[out0]');
  assert.equal(inputs[1], 'sine=frequency=440:sample_rate=48000,volume@scene=volume=0,azmq=bind_address=ipc\\\\:///tmp/d/a.zmq');
  assert.throws(() => buildRecordingArgs({ ...base, video: { ...base.video, scene: { endpoint: '/tmp/a:b', picture: 'live' } } }), /cannot go into a filtergraph/);
  assert.equal(sceneFor('/var/lib/body cam', { picture: 'live', mic: 'live' }), undefined, 'an unusable data dir path gives a plain source, never a failing argv');
  assert.deepEqual(sceneFor('/d', { picture: 'frozen', mic: 'silent' }), { video: { endpoint: '/d/sim-scene-video.zmq', picture: 'frozen' }, audio: { endpoint: '/d/sim-scene-audio.zmq', silent: true } });
});
