/**
 * The IP camera's stream URL and its credentials, pure: checked once at the edge (board config),
 * joined only where ffmpeg needs them, and scrubbed from anything that may be logged or journaled.
 *
 * Credentials never live in the board config's URL: the URL is printed by `bodycam board check`,
 * `status`, logs and the journal's fault details, and a board file is copied between boxes. ffmpeg
 * takes credentials only inside the URL (it percent-decodes them), so the joined URL exists only
 * in the encoder's argv — and ffmpeg echoes its input URL in its own error lines ("rtsp://u:p@…:
 * Connection refused", seen with ffmpeg 5.1), which is why every stderr line goes through `redact`.
 */
import { URL } from 'node:url';

export interface RtspCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Default of the board config's camera.timeoutS: a camera silent this long is lost. Short on purpose: the segment muxer's output is constant
 * frame rate, so a silence shorter than this inside a run comes out as the last picture repeated
 * (a frozen picture), not as a journaled gap.
 */
export const RTSP_TIMEOUT_S = 2;
/** Default of camera.reconnectMaxS: the longest wait between reconnects while the camera is lost. */
export const RTSP_RECONNECT_MAX_S = 2;

const SCHEMES = new Set(['rtsp:', 'rtsps:']);

/** Every problem with a configured stream URL (empty = usable). */
export function rtspUrlProblems(text: string): string[] {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return [`'${text}' is not a URL (expected rtsp://HOST[:PORT]/PATH)`];
  }
  const out: string[] = [];
  if (!SCHEMES.has(u.protocol)) out.push(`scheme '${u.protocol.replace(/:$/, '')}' is not rtsp or rtsps`);
  if (!u.hostname) out.push('no host');
  // Not echoed back: the point is that they should not be in this file at all.
  if (u.username || u.password) out.push('user or password inside the URL: put them in camera.credentialsFile (the URL is logged)');
  if (u.hash) out.push("a '#fragment' means nothing to an RTSP server");
  if (/\s/.test(text)) out.push('white space inside the URL');
  return out;
}

/** Problems with a credentials value read from its file (empty = usable). */
export function credentialsProblems(v: unknown): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return ['expected a JSON object {"username": "...", "password": "..."}'];
  const o = v as Record<string, unknown>;
  const out: string[] = [];
  for (const k of ['username', 'password'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') out.push(`'${k}' must be a non-empty string`);
  }
  for (const k of Object.keys(o)) if (k !== 'username' && k !== 'password') out.push(`unknown key '${k}'`);
  return out;
}

/** The URL ffmpeg opens: credentials percent-encoded into the user-info part. */
export function urlWithCredentials(url: string, c: RtspCredentials | undefined): string {
  if (!c) return url;
  const u = new URL(url);
  // WHATWG URL percent-encodes what user-info must not hold raw (':' '@' '/' …); ffmpeg decodes it.
  u.username = encodeURIComponent(c.username);
  u.password = encodeURIComponent(c.password);
  return u.toString();
}

/**
 * A function that removes the credentials from a text, in every form ffmpeg may print them:
 * raw, percent-encoded, and as the whole user-info of a URL.
 */
export function redactor(c: RtspCredentials | undefined): (text: string) => string {
  if (!c) return (t) => t;
  const secrets = [...new Set([c.password, encodeURIComponent(c.password), new URL(`rtsp://x:${encodeURIComponent(c.password)}@h`).password])]
    .filter((s) => s.length > 0)
    .sort((a, b) => b.length - a.length);
  return (text) => {
    // user-info first (any user:pass@ after a scheme), then any stray copy of the password.
    let t = text.replace(/(rtsps?:\/\/)[^/@\s]*@/gi, '$1***@');
    for (const s of secrets) t = t.split(s).join('***');
    return t;
  };
}
