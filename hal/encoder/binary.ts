/**
 * Which ffmpeg the encoder runs (`$BODYCAM_FFMPEG`, else `ffmpeg` on PATH), and whether it is
 * there right now. Checked before every run: an encoder binary that vanished (a broken update, a
 * remounted /usr) is then one `encoder_start` fault with paced retries, instead of a crash per
 * attempt — each of which would journal a fault and a gap of its own.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function encoderBinary(): string {
  return process.env.BODYCAM_FFMPEG ?? 'ffmpeg';
}

/** The executable's path, or undefined when it cannot be found or run. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/') ? [name] : path.split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}
