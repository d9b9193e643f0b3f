/** The firmware/agent version reported in journals and heartbeats (package.json's, or the image's). */
import { readFileSync } from 'node:fs';

function pkgVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const FIRMWARE_VERSION: string = process.env.BODYCAM_FIRMWARE_VERSION ?? pkgVersion();
