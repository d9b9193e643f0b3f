/** v4l2-ctl output parsing and the format check, on output captured from vivid and a UVC camera. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseFormat, parseFormats, parseInfo } from '../../hal/camera/v4l2-parse.js';

const VIVID_INFO = `Driver Info:
	Driver name      : vivid
	Card type        : vivid
	Bus info         : platform:vivid-000
	Driver version   : 6.1.192
	Capabilities     : 0x85200005
		Video Capture
		Video Overlay
		Read/Write
		Streaming
		Extended Pix Format
		Device Capabilities
	Device Caps      : 0x05200005
		Video Capture
		Video Overlay
		Read/Write
		Streaming
		Extended Pix Format
Media Driver Info:
	Driver name      : vivid
	Model            : vivid
`;

const UVC_META_INFO = `Driver Info:
	Driver name      : uvcvideo
	Card type        : HD Pro Webcam C920
	Bus info         : usb-0000:01:00.0-1.2
	Driver version   : 6.1.21
	Capabilities     : 0x84a00001
		Video Capture
		Metadata Capture
		Streaming
		Extended Pix Format
		Device Capabilities
	Device Caps      : 0x04a00000
		Metadata Capture
		Streaming
		Extended Pix Format
`;

const FORMATS = `ioctl: VIDIOC_ENUM_FMT
	Type: Video Capture

	[0]: 'YUYV' (YUYV 4:2:2, csc-colorspace, csc-ycbcr, csc-quantization, csc-xfer-func)
		Size: Discrete 320x180
			Interval: Discrete 0.033s (30.000 fps)
		Size: Discrete 640x360
			Interval: Discrete 0.033s (30.000 fps)
	[1]: 'MJPG' (Motion-JPEG, compressed)
		Size: Discrete 1280x720
			Interval: Discrete 0.033s (30.000 fps)
	[2]: 'NV12' (Y/UV 4:2:0)
		Size: Stepwise 16x16 - 1920x1080 with step 2/2
`;

void test('--info: driver, card and the node’s own capabilities', () => {
  const v = parseInfo(VIVID_INFO);
  assert.equal(v.driver, 'vivid');
  assert.equal(v.card, 'vivid');
  assert.equal(v.bus, 'platform:vivid-000');
  assert.deepEqual(v.caps, ['Video Capture', 'Video Overlay', 'Read/Write', 'Streaming', 'Extended Pix Format']);
  // A UVC metadata node: the device can capture, this node cannot (Device Caps win).
  assert.equal(parseInfo(UVC_META_INFO).caps.includes('Video Capture'), false);
});

void test('--list-formats-ext: formats with discrete and stepwise sizes', () => {
  const f = parseFormats(FORMATS);
  assert.deepEqual(f.map((x) => x.fourcc), ['YUYV', 'MJPG', 'NV12']);
  assert.deepEqual(f[0]!.sizes, [{ kind: 'discrete', w: 320, h: 180 }, { kind: 'discrete', w: 640, h: 360 }]);
  assert.deepEqual(f[2]!.sizes, [{ kind: 'stepwise', minW: 16, minH: 16, maxW: 1920, maxH: 1080 }]);
});

void test('the configured format and size are checked before capture', () => {
  const f = parseFormats(FORMATS);
  assert.deepEqual(chooseFormat(f, { inputFormat: 'yuyv422', width: 320, height: 180 }), { ok: true, inputFormat: 'yuyv422' });
  assert.deepEqual(chooseFormat(f, { inputFormat: 'mjpeg', width: 1280, height: 720 }), { ok: true, inputFormat: 'mjpeg' });
  const noSize = chooseFormat(f, { inputFormat: 'yuyv422', width: 1280, height: 720 });
  assert.equal(noSize.ok, false);
  assert.match(noSize.problem!, /no 1280x720 \(320x180, 640x360\)/);
  const noFmt = chooseFormat(f, { inputFormat: 'h264', width: 640, height: 360 });
  assert.match(noFmt.problem!, /'h264' not offered \(offered: yuyv422, mjpeg, nv12\)/);
  // Unconfigured: a raw format that offers the size wins over a compressed one.
  assert.deepEqual(chooseFormat(f, { width: 1280, height: 720 }), { ok: true, inputFormat: 'nv12' });
  assert.deepEqual(chooseFormat(f, { width: 640, height: 360 }), { ok: true, inputFormat: 'yuyv422' });
  assert.equal(chooseFormat(f, { width: 4000, height: 3000 }).ok, false);
});
