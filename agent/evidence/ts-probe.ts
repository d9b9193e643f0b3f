/**
 * MPEG-TS probe in one pass over bytes already in memory (the sealer reads each segment once to
 * hash it; probing the same buffer costs far less than spawning ffprobe every 2 s). It finds the
 * H.264 and AAC streams from the PAT/PMT, counts video access units (one PES per frame in
 * ffmpeg's muxer), reads the first/last video PTS, and checks that the segment starts with a
 * decodable IDR (SPS present) — "fresh, valid output" for the encoder watchdog.
 */
export interface TsProbe {
  readonly valid: boolean;
  /** Why it is not valid (first problem found). */
  readonly problem: string | undefined;
  readonly packets: number;
  readonly videoFrames: number;
  readonly audioPes: number;
  /** Seconds (90 kHz PTS / 90000), or undefined without video. */
  readonly firstPts: number | undefined;
  readonly lastPts: number | undefined;
  /** Bytes after the last whole 188-byte packet (a torn tail). */
  readonly trailingBytes: number;
  readonly startsWithKeyframe: boolean;
}

const PKT = 188;

function readPts(b: Buffer, o: number): number {
  // 33-bit PTS spread over 5 bytes with marker bits.
  return (((b[o]! >> 1) & 0x07) * 2 ** 30 + ((b[o + 1]! << 7) | (b[o + 2]! >> 1)) * 2 ** 15 + ((b[o + 3]! << 7) | (b[o + 4]! >> 1))) / 90000;
}

/** Does this H.264 Annex B payload carry an SPS (7) or IDR slice (5)? */
function hasKeyNal(p: Buffer): boolean {
  for (let i = 0; i + 3 < p.length; i++) {
    if (p[i] === 0 && p[i + 1] === 0 && p[i + 2] === 1) {
      const t = p[i + 3]! & 0x1f;
      if (t === 7 || t === 5) return true;
    }
  }
  return false;
}

export function probeTs(buf: Buffer): TsProbe {
  const packets = Math.floor(buf.length / PKT);
  const trailingBytes = buf.length - packets * PKT;
  let pmtPid = -1;
  let videoPid = -1;
  let audioPid = -1;
  let videoFrames = 0;
  let audioPes = 0;
  let firstPts: number | undefined;
  let lastPts: number | undefined;
  let startsWithKeyframe = false;
  let problem: string | undefined;
  for (let i = 0; i < packets; i++) {
    const o = i * PKT;
    if (buf[o] !== 0x47) {
      problem ??= `lost sync at packet ${i}`;
      break;
    }
    const pusi = (buf[o + 1]! & 0x40) !== 0;
    const pid = ((buf[o + 1]! & 0x1f) << 8) | buf[o + 2]!;
    const afc = (buf[o + 3]! >> 4) & 0x3;
    let p = o + 4;
    if (afc === 2 || afc === 3) p += 1 + buf[p]!;
    if (afc === 2 || p >= o + PKT) continue;
    if (pid === 0 && pusi) {
      // PAT: first program's PMT pid.
      const s = p + 1 + buf[p]!;
      pmtPid = ((buf[s + 10]! & 0x1f) << 8) | buf[s + 11]!;
    } else if (pid === pmtPid && pusi && videoPid < 0) {
      const s = p + 1 + buf[p]!;
      const sectionLen = ((buf[s + 1]! & 0x0f) << 8) | buf[s + 2]!;
      const progInfoLen = ((buf[s + 10]! & 0x0f) << 8) | buf[s + 11]!;
      let e = s + 12 + progInfoLen;
      const end = s + 3 + sectionLen - 4;
      while (e + 5 <= end) {
        const type = buf[e]!;
        const epid = ((buf[e + 1]! & 0x1f) << 8) | buf[e + 2]!;
        const esInfo = ((buf[e + 3]! & 0x0f) << 8) | buf[e + 4]!;
        if (type === 0x1b && videoPid < 0) videoPid = epid;
        if (type === 0x0f && audioPid < 0) audioPid = epid;
        e += 5 + esInfo;
      }
    } else if (pid === videoPid && pusi) {
      if (buf[p] !== 0 || buf[p + 1] !== 0 || buf[p + 2] !== 1) continue;
      videoFrames++;
      const flags = buf[p + 7]!;
      const hdrLen = buf[p + 8]!;
      if (flags & 0x80) {
        const pts = readPts(buf, p + 9);
        firstPts ??= pts;
        lastPts = lastPts === undefined ? pts : Math.max(lastPts, pts);
      }
      if (videoFrames === 1) startsWithKeyframe = hasKeyNal(buf.subarray(p + 9 + hdrLen, o + PKT));
    } else if (pid === audioPid && pusi) {
      audioPes++;
    }
  }
  if (!problem && packets === 0) problem = 'empty';
  if (!problem && videoPid < 0) problem = 'no H.264 stream in the PMT';
  if (!problem && videoFrames === 0) problem = 'no video frames';
  if (!problem && !startsWithKeyframe) problem = 'does not start with a keyframe';
  return { valid: problem === undefined, problem, packets, videoFrames, audioPes, firstPts, lastPts, trailingBytes, startsWithKeyframe };
}
