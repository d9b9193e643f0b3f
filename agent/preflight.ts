/**
 * Checks made before the agent records anything, so that a camera misconfigured at flashing time
 * says so at once (every problem listed, exit 2) instead of failing at the first shift: the data
 * dir is writable, ffmpeg runs, the burn-in font exists, the encryption stage is RAM-backed.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, describe, type Issue } from './lib/errors.js';
import { sectionOf, type AgentConfig } from './config/agent-config.js';
import type { BoardConfig } from './config/board.js';
import { isVolatileDir, type EncryptionConfig } from './evidence/encrypt.js';
import { encoderBinary } from '../hal/encoder/binary.js';
import { createLogger } from './lib/log.js';

const log = createLogger('preflight');

const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';

export function preflight(dataDir: string, board: BoardConfig, config: AgentConfig, ffmpegTimeoutMs = 10_000): Issue[] {
  const issues: Issue[] = [];
  try {
    mkdirSync(dataDir, { recursive: true });
    const probe = join(dataDir, `.preflight-${process.pid}`);
    const fd = openSync(probe, 'w', 0o600);
    try {
      writeSync(fd, 'ok');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      unlinkSync(probe);
    }
  } catch (e) {
    issues.push({ where: `data dir ${dataDir}`, message: `not writable: ${describe(e)}` });
  }
  const ffmpeg = encoderBinary();
  const r = spawnSync(ffmpeg, ['-hide_banner', '-version'], { stdio: ['ignore', 'ignore', 'ignore'], timeout: ffmpegTimeoutMs });
  // A slow first exec (cold flash after boot, a loaded board) is no configuration problem: these
  // issues end the agent with exit 78, which the unit never restarts. The encoder supervisor
  // reports an ffmpeg that really cannot start (encoder_start fault) and keeps trying.
  const slow = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  if (slow) log.warn('ffmpeg -version did not answer in time; starting anyway', { ffmpeg, timeoutMs: ffmpegTimeoutMs });
  else if (r.error || r.status !== 0) issues.push({ where: 'encoder', message: `'${ffmpeg}' does not run: ${r.error ? r.error.message : `exit ${r.status}`}` });
  if (board.encoder.burnIn !== false) {
    const font = board.encoder.font ?? DEFAULT_FONT;
    if (!existsSync(font)) issues.push({ where: 'board /encoder/font', message: `burn-in font ${font} does not exist (install fonts-dejavu-core, or set encoder.burnIn false)` });
  }
  const enc = sectionOf<EncryptionConfig | undefined>(config, 'encryption');
  if (enc) {
    try {
      mkdirSync(enc.stageDir, { recursive: true, mode: 0o700 });
      if (!isVolatileDir(enc.stageDir)) issues.push({ where: 'config /encryption/stageDir', message: `${enc.stageDir} is not on tmpfs/ramfs: plaintext would reach non-volatile storage` });
    } catch (e) {
      issues.push({ where: 'config /encryption/stageDir', message: `cannot use ${enc.stageDir}: ${describe(e)}` });
    }
  }
  return issues;
}

export function assertPreflight(dataDir: string, board: BoardConfig, config: AgentConfig): void {
  const issues = preflight(dataDir, board, config);
  if (issues.length) throw new ConfigError('pre-flight checks', issues);
}
