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
 * - obstruction analysis (optional) taps the *inputs*, not the encoded output, in a separate
 *   `-filter_complex`: 64x36 gray frames at 2 fps (raw, fd 5) and 4 kHz mono s16 audio (raw,
 *   fd 6). The recorded output keeps its own `-map 0:v:0`/`-vf` chain untouched, and the burned-in
 *   timestamp never reaches the analysis. Raw bytes, not ffmpeg's metadata printers: `ametadata
 *   print` to a pipe was only flushed at exit (measured), `-flush_packets 1` makes the raw muxers
 *   write every frame at once.
 * - the sim scene (lavfi only): black and still sources behind a `streamselect`, a `volume` on the
 *   tone, each with a `zmq`/`azmq` filter on a unix socket, so the sim can cover, freeze or mute
 *   the camera while this very ffmpeg keeps recording.
 */
export interface VideoSource {
  readonly kind: 'lavfi' | 'v4l2' | 'rtsp';
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** v4l2 device node. */
  readonly device?: string;
  /** v4l2 input pixel format (ffmpeg name). */
  readonly inputFormat?: string;
  /** rtsp: the stream URL, credentials included (argv only: never logged unredacted). */
  readonly url?: string;
  /** rtsp: socket I/O timeout — a camera silent this long ends the run (camera loss). */
  readonly timeoutS?: number;
  /** lavfi only: a switchable sim scene (live / black / still) commanded over this zmq socket. */
  readonly scene?: { readonly endpoint: string; readonly picture: ScenePicture };
}

export type ScenePicture = 'live' | 'black' | 'frozen';
/** streamselect input per picture (the order of the sources in the lavfi graph). */
export const SCENE_MAP: Readonly<Record<ScenePicture, number>> = { live: 0, black: 1, frozen: 2 };
export const SCENE_VIDEO_FILTER = 'streamselect@scene';
export const SCENE_AUDIO_FILTER = 'volume@scene';

export interface AudioSource {
  readonly kind: 'lavfi' | 'alsa' | 'none';
  readonly device?: string;
  readonly sampleRate: number;
  readonly channels: number;
  /** lavfi only: the tone can be muted over this zmq socket. */
  readonly scene?: { readonly endpoint: string; readonly silent: boolean };
}

/** The tiny side stream the obstruction detectors read (never part of the recording). */
export interface AnalysisOutput {
  /** Gray frames per second on ANALYSIS_VIDEO_FD. */
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  /** Mono s16le sample rate on ANALYSIS_AUDIO_FD (only when the recording has audio). */
  readonly audioRate: number;
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
  /**
   * Where ffmpeg writes its progress report: fd 4 (default), or a FIFO a parked run blocks on
   * until the agent opens it (hal/encoder/parking.ts).
   */
  readonly progress?: string;
  readonly ffmpegLogLevel?: 'error' | 'warning' | 'info';
  /** Obstruction analysis side outputs; absent = none (detection off). */
  readonly analysis?: AnalysisOutput;
  /** Live view (agent/live-view): the encoded video, copied as RTP to this 127.0.0.1 UDP port. */
  readonly liveTap?: { readonly port: number };
}

export const SEGMENT_LIST_FD = 3;
export const PROGRESS_FD = 4;
export const ANALYSIS_VIDEO_FD = 5;
export const ANALYSIS_AUDIO_FD = 6;
export const segmentName = (n: number): string => `seg-${String(n).padStart(6, '0')}.ts`;
export const SEGMENT_RE = /^seg-(\d{6})\.ts$/;

/** Device ids are restricted to this alphabet, so they need no escaping inside a filtergraph. */
const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A zmq endpoint inside a filter option: ':' escaped twice (graph, then option parser). */
function zmqBind(path: string): string {
  if (!sceneEndpointUsable(path)) throw new Error(`sim scene socket path '${path}' cannot go into a filtergraph`);
  return `bind_address=ipc\\\\://${path}`;
}
/** Needs no filtergraph escaping and fits a unix socket address (108 bytes). */
export const sceneEndpointUsable = (path: string): boolean => /^\/[A-Za-z0-9._/-]{1,100}$/.test(path);

function videoInput(v: VideoSource): string[] {
  if (v.kind === 'lavfi') {
    // testsrc2 moves (a counter and a sweep), so a frozen pipeline is visible in the footage.
    const live = `testsrc2=size=${v.width}x${v.height}:rate=${v.fps}`;
    if (!v.scene) return ['-re', '-f', 'lavfi', '-i', live];
    const s = `${v.width}x${v.height}`;
    const graph =
      `${live}[live];color=c=black:s=${s}:r=${v.fps}[black];smptebars=s=${s}:r=${v.fps}[still];` +
      `[live][black][still]${SCENE_VIDEO_FILTER}=inputs=3:map=${SCENE_MAP[v.scene.picture]},zmq=${zmqBind(v.scene.endpoint)}[out0]`;
    return ['-re', '-f', 'lavfi', '-i', graph];
  }
  if (v.kind === 'rtsp') {
    if (!v.url) throw new Error('rtsp source needs a url');
    return [
      // RTP interleaved in the RTSP TCP connection: UDP drops packets silently on a busy LAN, and
      // over TCP a camera that dies is a socket error or a timeout, so the run ends (no frozen
      // picture with a live process). Without -timeout ffmpeg waited forever on a silent camera.
      '-rtsp_transport', 'tcp',
      '-timeout', String(Math.round((v.timeoutS ?? 2) * 1_000_000)),
      // PTS from the camera's RTP timestamps (its media clock), shifted to start at 0 like every
      // other source: wall time comes from the run's anchor on the agent's clock (sealer).
      '-thread_queue_size', '512',
      '-i', v.url,
    ];
  }
  if (!v.device) throw new Error('v4l2 source needs a device');
  return [
    '-f', 'v4l2',
    // The driver's own (monotonic) frame timestamps drive the PTS, unconverted: 'abs' would map
    // them to the wall clock frame by frame, so a clock step (date -s, chrony's makestep) moved
    // the PTS and ffmpeg filled the jump with repeated frames — footage that never happened
    // (seen in HIL: +90 s → ~45 extra segments). Wall time comes from the run's anchor (sealer).
    '-ts', 'default',
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
    case 'lavfi': {
      const tone = `sine=frequency=440:sample_rate=${a.sampleRate}`;
      if (!a.scene) return ['-re', '-f', 'lavfi', '-i', tone];
      return ['-re', '-f', 'lavfi', '-i', `${tone},${SCENE_AUDIO_FILTER}=volume=${a.scene.silent ? 0 : 1},azmq=${zmqBind(a.scene.endpoint)}`];
    }
    case 'alsa':
      return ['-f', 'alsa', '-thread_queue_size', '64', '-sample_rate', String(a.sampleRate), '-channels', String(a.channels), '-i', a.device ?? 'default'];
  }
}

function videoFilter(args: RecordingArgs): string[] {
  const f: string[] = [];
  // A network camera's stream size is the camera's setting, not ours: the recording is the board's.
  if (args.video.kind === 'rtsp') f.push(`scale=${args.video.width}:${args.video.height}`);
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

/**
 * The analysis side outputs. `flags=area` averages each 20x20 block, so sensor noise does not
 * read as motion; `-flush_packets 1` hands every frame to the pipe at once (the detectors' latency).
 * `round=up`: with fps's default `near` rounding the first output frame waits for an input frame
 * at 0.25 s (it cannot know the nearest before), and ffmpeg feeds an output that has not started
 * before the others — so the recording's first frame waited too (measured: 0.50–0.62 s to the
 * first encoded frame at 640x360 against 0.28–0.44 s without analysis; with `round=up` 0.27–0.39 s).
 */
function analysisOutputs(args: RecordingArgs, hasAudio: boolean): string[] {
  const an = args.analysis;
  if (!an) return [];
  const chains = [`[0:v]fps=${an.fps}:round=up,scale=${an.width}:${an.height}:flags=area,format=gray[anv]`];
  if (hasAudio) chains.push(`[1:a]aresample=${an.audioRate},aformat=sample_fmts=s16:channel_layouts=mono[ana]`);
  return [
    '-filter_complex', chains.join(';'),
    '-map', '[anv]', '-f', 'rawvideo', '-flush_packets', '1', `pipe:${ANALYSIS_VIDEO_FD}`,
    ...(hasAudio ? ['-map', '[ana]', '-f', 's16le', '-flush_packets', '1', `pipe:${ANALYSIS_AUDIO_FD}`] : []),
  ];
}

/**
 * Only the inputs and the analysis side outputs of `buildRecordingArgs` — the same sources and
 * the same analysis filtergraph, nothing recorded. For checking the detectors over long scenes
 * faster than real time (`paced: false` drops `-re`) and for the benchmark's cost split.
 */
export function buildAnalysisArgs(args: RecordingArgs & { readonly analysis: AnalysisOutput }, o: { paced: boolean; durationS?: number }): string[] {
  const inputs = [...videoInput(args.video), ...audioInput(args.audio)]
    .filter((a) => o.paced || a !== '-re')
    .flatMap((a) => (a === '-i' && o.durationS !== undefined ? ['-t', String(o.durationS), a] : [a]));
  return ['-hide_banner', '-nostdin', '-loglevel', args.ffmpegLogLevel ?? 'warning', ...inputs, ...analysisOutputs(args, args.audio.kind !== 'none')];
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
    ...(args.liveTap ? teeOutput(args) : segmentOutput(args)),
    '-progress', args.progress ?? `pipe:${PROGRESS_FD}`, '-stats_period', '0.25',
    ...(args.liveTap ? [] : [`${args.outDir}/seg-%06d.ts`]),
    ...analysisOutputs(args, hasAudio),
  ];
}

function segmentOutput(args: RecordingArgs): string[] {
  return [
    '-f', 'segment', '-segment_format', 'mpegts', '-segment_time', String(args.segmentS),
    '-reset_timestamps', '0', '-segment_start_number', String(args.startNumber),
    '-segment_list', `pipe:${SEGMENT_LIST_FD}`, '-segment_list_type', 'csv',
    '-segment_format_options', 'flush_packets=1', '-flush_packets', '1',
  ];
}

/** ':' inside a tee slave's option value: escaped for the option parser, then again for tee's. */
const TEE_COLON = '\\\\\\:';

/**
 * The same segments, plus the already-encoded video as RTP to a loopback UDP port, through the tee
 * muxer: one encoding feeds both, so a live view costs no second encoder, and it is always there,
 * so a session starting or ending never restarts the recording. `onfail=ignore`: a failing RTP
 * slave is dropped, the segments go on. UDP to 127.0.0.1 with nobody bound is sent and dropped by
 * the kernel (unconnected socket: no error reaches ffmpeg), so an absent or slow receiver cannot
 * block the recording. The segment muxer's options sit inside the tee spec: ':' in a value is
 * escaped twice (tee's slave parser, then the option parser); outputs and the -progress pipe
 * stay as without the tee (measured: same segments, same list lines, ffmpeg 5.1).
 */

function teeOutput(args: RecordingArgs): string[] {
  if (/[[\]|:\\]/.test(args.outDir)) throw new Error(`segment directory '${args.outDir}' cannot go into a tee output spec`);
  const port = args.liveTap!.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`live tap port ${port} is not a UDP port`);
  const segment = [
    'f=segment', 'segment_format=mpegts', `segment_time=${args.segmentS}`, 'reset_timestamps=0',
    `segment_start_number=${args.startNumber}`, `segment_list=pipe${TEE_COLON}${SEGMENT_LIST_FD}`, 'segment_list_type=csv',
    'segment_format_options=flush_packets=1',
  ].join(':');
  // pkt_size 1200: RTP packets small enough for any path to the gateway (WebRTC's own MTU budget).
  const rtp = `[f=rtp:select=v:onfail=ignore]rtp://127.0.0.1:${port}?pkt_size=1200`;
  return ['-flush_packets', '1', '-f', 'tee', `[${segment}]${args.outDir}/seg-%06d.ts|${rtp}`];
}
