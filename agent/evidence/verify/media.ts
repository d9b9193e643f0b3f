/**
 * Decoding checks with ffprobe. Plaintext is fed on stdin so that decrypted media never touches
 * a disk on the verifying machine either.
 */
import { spawn } from 'node:child_process';

export interface ProbeResult {
  readonly ok: boolean;
  /** Video frames decoded (ffprobe -count_frames), when it decoded. */
  readonly frames: number | undefined;
  readonly error: string | undefined;
}

export function probeFrames(data: Buffer, ffprobe = 'ffprobe'): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const p = spawn(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', '-i', 'pipe:0'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // ffprobe may stop reading early on garbage: ignore EPIPE on its stdin.
    p.stdin.on('error', () => undefined);
    p.on('error', (e) => resolve({ ok: false, frames: undefined, error: `cannot run ${ffprobe}: ${e.message}` }));
    p.on('close', (code) => {
      const n = Number.parseInt(out.trim().split(/\s+/)[0] ?? '', 10);
      if (code !== 0 || !Number.isFinite(n)) {
        resolve({ ok: false, frames: undefined, error: (err.trim().split('\n').slice(-2).join(' ') || `ffprobe exit ${code}`).slice(0, 300) });
      } else resolve({ ok: n > 0, frames: n, error: n > 0 ? undefined : 'no video frame decodes' });
    });
    p.stdin.end(data);
  });
}
