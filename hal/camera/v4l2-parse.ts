/**
 * Parsers for `v4l2-ctl` output (v4l-utils 1.22+), kept pure so they are unit-tested against
 * captured output, plus the V4L2 fourcc → ffmpeg pixel-format names the board config uses.
 */
export interface V4l2Info {
  readonly driver: string;
  readonly card: string;
  readonly bus: string;
  /** Device capabilities (the node's own, not the whole device's), e.g. 'Video Capture'. */
  readonly caps: readonly string[];
}

export type FrameSize = { kind: 'discrete'; w: number; h: number } | { kind: 'stepwise'; minW: number; maxW: number; minH: number; maxH: number };

export interface V4l2Format {
  readonly fourcc: string;
  readonly description: string;
  readonly sizes: readonly FrameSize[];
}

/** ffmpeg -input_format names of common V4L2 fourccs. */
export const FOURCC_TO_FFMPEG: Readonly<Record<string, string>> = {
  YUYV: 'yuyv422',
  UYVY: 'uyvy422',
  YVYU: 'yvyu422',
  MJPG: 'mjpeg',
  JPEG: 'mjpeg',
  H264: 'h264',
  NV12: 'nv12',
  NV21: 'nv21',
  NV16: 'nv16',
  YU12: 'yuv420p',
  YV12: 'yuv420p',
  '422P': 'yuv422p',
  RGB3: 'rgb24',
  BGR3: 'bgr24',
  RGBP: 'rgb565le',
  GREY: 'gray',
  BA81: 'bayer_bggr8',
  RGGB: 'bayer_rggb8',
};

export function ffmpegFormat(fourcc: string): string | undefined {
  return FOURCC_TO_FFMPEG[fourcc];
}

export function parseInfo(text: string): V4l2Info {
  const field = (name: string): string => new RegExp(`^\\s*${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const capsAfter = (header: string): string[] => {
    const lines = text.split('\n');
    const i = lines.findIndex((l) => new RegExp(`^\\s*${header}\\s*:`).test(l));
    if (i < 0) return [];
    const indent = /^(\s*)/.exec(lines[i]!)![1]!.length;
    const out: string[] = [];
    for (const l of lines.slice(i + 1)) {
      const ind = /^(\s*)/.exec(l)![1]!.length;
      if (!l.trim() || ind <= indent || l.includes(':')) break;
      out.push(l.trim());
    }
    return out;
  };
  const dev = capsAfter('Device Caps');
  return { driver: field('Driver name'), card: field('Card type'), bus: field('Bus info'), caps: dev.length ? dev : capsAfter('Capabilities') };
}

export function parseFormats(text: string): V4l2Format[] {
  const out: { fourcc: string; description: string; sizes: FrameSize[] }[] = [];
  for (const l of text.split('\n')) {
    const f = /^\s*\[\d+\]: '([^']+)' \((.*)\)\s*$/.exec(l);
    if (f) {
      out.push({ fourcc: f[1]!, description: f[2]!, sizes: [] });
      continue;
    }
    const cur = out.at(-1);
    if (!cur) continue;
    const d = /^\s*Size: Discrete (\d+)x(\d+)/.exec(l);
    if (d) cur.sizes.push({ kind: 'discrete', w: Number(d[1]), h: Number(d[2]) });
    const s = /^\s*Size: (?:Stepwise|Continuous) (\d+)x(\d+) - (\d+)x(\d+)/.exec(l);
    if (s) cur.sizes.push({ kind: 'stepwise', minW: Number(s[1]), minH: Number(s[2]), maxW: Number(s[3]), maxH: Number(s[4]) });
  }
  return out;
}

export function offersSize(f: V4l2Format, w: number, h: number): boolean {
  return f.sizes.some((s) => (s.kind === 'discrete' ? s.w === w && s.h === h : w >= s.minW && w <= s.maxW && h >= s.minH && h <= s.maxH));
}

export interface FormatChoice {
  readonly ok: boolean;
  /** ffmpeg name of the chosen format, when ok. */
  readonly inputFormat?: string;
  readonly problem?: string;
}

/**
 * Checks the configured format and size against what the device offers. Without a configured
 * format, the first raw (uncompressed) format offering the size wins, then any format.
 */
export function chooseFormat(formats: readonly V4l2Format[], want: { inputFormat?: string | undefined; width: number; height: number }): FormatChoice {
  const offered = formats.map((f) => `${ffmpegFormat(f.fourcc) ?? f.fourcc}`).join(', ') || 'none';
  if (want.inputFormat) {
    const f = formats.find((x) => ffmpegFormat(x.fourcc) === want.inputFormat || x.fourcc === want.inputFormat);
    if (!f) return { ok: false, problem: `format '${want.inputFormat}' not offered (offered: ${offered})` };
    if (!offersSize(f, want.width, want.height)) return { ok: false, problem: `format '${want.inputFormat}' has no ${want.width}x${want.height} (${describeSizes(f)})` };
    return { ok: true, inputFormat: ffmpegFormat(f.fourcc) ?? want.inputFormat };
  }
  const fits = formats.filter((f) => ffmpegFormat(f.fourcc) && offersSize(f, want.width, want.height));
  const raw = fits.find((f) => !['mjpeg', 'h264'].includes(ffmpegFormat(f.fourcc)!));
  const pick = raw ?? fits[0];
  if (!pick) return { ok: false, problem: `no format offers ${want.width}x${want.height} (offered: ${offered})` };
  return { ok: true, inputFormat: ffmpegFormat(pick.fourcc)! };
}

function describeSizes(f: V4l2Format): string {
  return f.sizes.map((s) => (s.kind === 'discrete' ? `${s.w}x${s.h}` : `${s.minW}x${s.minH}-${s.maxW}x${s.maxH}`)).join(', ') || 'no sizes listed';
}
