/**
 * Typed ffmpeg argument builder for the recording pipeline. One function turns a typed
 * description of the capture (source, encoder, segmenting, burn-in) into argv; nothing else in
 * the agent assembles ffmpeg flags. Choices and the failures they prevent:
 * - MPEG-TS segments with `-reset_timestamps 0`: PTS stay continuous across segments, and a
 *   SIGKILLed TS segment stays decodable up to its last flushed packet (fMP4 kept nothing).
 * - flush on every packet, set on the inner TS muxer (`-segment_format_options flush_packets=1`):
 *   the outer `-flush_packets 1` alone left a SIGKILLed segment at 0 bytes after ~1 s of media;
 *   with it, the killed segment kept 23 of ~30 frames (measured on ffmpeg 5.1).
 * - keyframes forced at every segment boundary (`-force_key_frames`, fixed GOP, no scene cut):
 *   each segment starts with an IDR frame, so every segment decodes on its own.
 * - numbered names (`seg-%06d.ts` from `-segment_start_number`): strftime names collided.
 * - the segment list (CSV) goes to an extra pipe (fd 3) so the supervisor learns the instant a
 *   segment is closed; progress goes to fd 4 (first-frame latency, fps, drops) — neither is parsed
 *   from stderr, which stays for diagnostics.
 * - lavfi sources run with `-re`: unpaced they would produce media ~10x faster than real time.
 */
export interface VideoSource {
  readonly kind: 'lavfi' | 'v4l2';
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** v4l2 device node. */
  readonly device?: string;
  /** v4l2 input pixel format (ffmpeg name). */
  readonly inputFormat?: string;
}

export interface AudioSource {
  readonly kind: 'lavfi' | 'alsa' | 'none';
  readonly device?: string;
  readonly sampleRate: number;
  readonly channels: number;
}

export interface EncoderSettings {
  readonly video: 'libx264' | 'h264_v4l2m2m';
  readonly preset: string;
  readonly videoKbps: number;
  readonly audioKbps: number;
  /** Output frame rate (may be below the source's when degraded). */
  readonly fps: number;
}

export interface BurnIn {
  readonly deviceId: string;
  readonly font: string;
}

export interface RecordingArgs {
  readonly video: VideoSource;
  readonly audio: AudioSource;
  readonly encoder: EncoderSettings;
  readonly burnIn: BurnIn | undefined;
  readonly segmentS: number;
  /** Number of the first segment this run writes. */
  readonly startNumber: number;
  readonly outDir: string;
  readonly ffmpegLogLevel?: 'error' | 'warning' | 'info';
}

export const SEGMENT_LIST_FD = 3;
export const PROGRESS_FD = 4;
export const segmentName = (n: number): string => `seg-${String(n).padStart(6, '0')}.ts`;
export const SEGMENT_RE = /^seg-(\d{6})\.ts$/;

/** Device ids are restricted to this alphabet, so they need no escaping inside a filtergraph. */
const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

function videoInput(v: VideoSource): string[] {
  if (v.kind === 'lavfi') {
    // testsrc2 moves (a counter and a sweep), so a frozen pipeline is visible in the footage.
    return ['-re', '-f', 'lavfi', '-i', `testsrc2=size=${v.width}x${v.height}:rate=${v.fps}`];
  }
  if (!v.device) throw new Error('v4l2 source needs a device');
  return [
    '-f', 'v4l2',
    // Camera timestamps, not arrival order, drive the PTS: 'abs' keeps the driver's clock.
    '-ts', 'abs',
    '-thread_queue_size', '64',
    ...(v.inputFormat ? ['-input_format', v.inputFormat] : []),
    '-video_size', `${v.width}x${v.height}`,
    '-framerate', String(v.fps),
    '-i', v.device,
  ];
}

function audioInput(a: AudioSource): string[] {
  switch (a.kind) {
    case 'none':
      return [];
    case 'lavfi':
      return ['-re', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${a.sampleRate}`];
    case 'alsa':
      return ['-f', 'alsa', '-thread_queue_size', '64', '-sample_rate', String(a.sampleRate), '-channels', String(a.channels), '-i', a.device ?? 'default'];
  }
}

function videoFilter(args: RecordingArgs): string[] {
  const f: string[] = [];
  if (args.encoder.fps !== args.video.fps) f.push(`fps=${args.encoder.fps}`);
  if (args.burnIn) {
    const id = args.burnIn.deviceId;
    if (!SAFE_ID.test(id)) throw new Error(`device id '${id}' cannot be burned in`);
    // Wall clock in UTC, as the journal: %{gmtime} is evaluated per frame by ffmpeg.
    f.push(
      `drawtext=fontfile=${args.burnIn.font}:fontsize=${Math.max(12, Math.round(args.video.height / 24))}` +
        `:fontcolor=white:box=1:boxcolor=black@0.6:x=8:y=h-th-8` +
        `:text='${id}  %{gmtime\\:%Y-%m-%d %H\\\\\\:%M\\\\\\:%S}Z'`,
    );
  }
  if (args.encoder.video === 'h264_v4l2m2m') f.push('format=nv12');
  return f.length ? ['-vf', f.join(',')] : [];
}

function videoCodec(args: RecordingArgs): string[] {
  const gop = Math.max(1, Math.round(args.encoder.fps * args.segmentS));
  const common = ['-b:v', `${args.encoder.videoKbps}k`, '-g', String(gop)];
  if (args.encoder.video === 'libx264') {
    return [
      '-c:v', 'libx264', '-preset', args.encoder.preset, '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      ...common, '-keyint_min', String(gop), '-sc_threshold', '0',
      '-maxrate', `${args.encoder.videoKbps}k`, '-bufsize', `${args.encoder.videoKbps * 2}k`,
      '-force_key_frames', `expr:gte(t,n_forced*${args.segmentS})`,
    ];
  }
  // The SoC encoder ignores -force_key_frames on some drivers; the fixed GOP gives the boundary.
  return ['-c:v', 'h264_v4l2m2m', ...common, '-force_key_frames', `expr:gte(t,n_forced*${args.segmentS})`];
}

export function buildRecordingArgs(args: RecordingArgs): string[] {
  const hasAudio = args.audio.kind !== 'none';
  return [
    '-hide_banner', '-nostdin', '-loglevel', args.ffmpegLogLevel ?? 'warning',
    ...videoInput(args.video),
    ...audioInput(args.audio),
    '-map', '0:v:0', ...(hasAudio ? ['-map', '1:a:0'] : []),
    ...videoFilter(args),
    ...videoCodec(args),
    ...(hasAudio ? ['-c:a', 'aac', '-b:a', `${args.encoder.audioKbps}k`, '-ac', String(args.audio.channels)] : []),
    '-f', 'segment', '-segment_format', 'mpegts', '-segment_time', String(args.segmentS),
    '-reset_timestamps', '0', '-segment_start_number', String(args.startNumber),
    '-segment_list', `pipe:${SEGMENT_LIST_FD}`, '-segment_list_type', 'csv',
    '-segment_format_options', 'flush_packets=1', '-flush_packets', '1',
    '-progress', `pipe:${PROGRESS_FD}`, '-stats_period', '0.25',
    `${args.outDir}/seg-%06d.ts`,
  ];
}
