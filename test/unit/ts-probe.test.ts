import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeTs } from '../../agent/evidence/ts-probe.js';

function pkt(pid: number, pusi: boolean, payload: number[]): Buffer {
  const b = Buffer.alloc(188, 0xff);
  b[0] = 0x47;
  b[1] = (pusi ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  b[2] = pid & 0xff;
  b[3] = 0x10;
  Buffer.from(payload).copy(b, 4);
  return b;
}
const pat = pkt(0, true, [0, 0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0 | 0x10 >> 8, 0x00]);
// PMT on pid 0x1000: one H.264 stream (type 0x1b) on pid 0x100.
const pmt = pkt(0x1000, true, [0, 0x02, 0xb0, 18, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0, 0, 0x1b, 0xe1, 0x00, 0xf0, 0, 0, 0, 0, 0]);
function pes(pts90k: number, key: boolean): Buffer {
  const p = [0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5];
  const v = pts90k;
  p.push(0x21 | ((Math.floor(v / 2 ** 30) & 7) << 1), (v >> 22) & 0xff, (((v >> 15) & 0x7f) << 1) | 1, (v >> 7) & 0xff, ((v & 0x7f) << 1) | 1);
  p.push(0, 0, 0, 1, key ? 0x67 : 0x41);
  return pkt(0x100, true, p);
}

test('counts video frames, reads PTS and sees the leading keyframe', () => {
  const buf = Buffer.concat([pat, pmt, pes(90000, true), pes(93000, false), pes(96000, false)]);
  const r = probeTs(buf);
  assert.equal(r.valid, true, r.problem);
  assert.equal(r.videoFrames, 3);
  assert.equal(r.firstPts, 1);
  assert.ok(Math.abs(r.lastPts! - 96000 / 90000) < 1e-9);
});

test('a segment that does not start with a keyframe, garbage and empty input are invalid', () => {
  assert.equal(probeTs(Buffer.concat([pat, pmt, pes(90000, false)])).problem, 'does not start with a keyframe');
  assert.equal(probeTs(Buffer.alloc(0)).valid, false);
  assert.match(probeTs(Buffer.alloc(1000, 7)).problem!, /lost sync/);
  const torn = probeTs(Buffer.concat([pat, pmt, pes(90000, true), Buffer.alloc(50, 0x47)]));
  assert.equal(torn.trailingBytes, 50);
  assert.equal(torn.valid, true);
});
