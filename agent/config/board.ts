/**
 * Board configs: JSON validated against board-configs/schema/board.schema.json (every error listed), plus the
 * cross-field rules a schema cannot say well. Parsed once at the edge into a typed BoardConfig.
 */
import { existsSync } from 'node:fs';
import { readJsonConfig } from './json-file.js';
import { join, resolve, dirname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Issue } from '../lib/errors.js';
import { rtspUrlProblems } from '../../hal/camera/rtsp-url.js';
import type { BoardConfig, GpioLine } from '../generated/board-config.js';
import { validatorOf } from './schema.js';

export type { BoardConfig, GpioLine };

/** The repo's (or the installed package's) board-configs directory. */
export const BOARD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../board-configs');

// Compiled ahead of time (codegen/gen-config-schemas.mjs), with the schema's defaults filled in.
const validateSchema = validatorOf<BoardConfig>('boardConfigValidate');

function lineIssues(where: string, backend: string, l: GpioLine | undefined): Issue[] {
  if (backend === 'sim') return [];
  const out: Issue[] = [];
  if (!l || l.chip === undefined) out.push({ where: `${where}/chip`, message: `required with backend '${backend}'` });
  if (!l || l.line === undefined) out.push({ where: `${where}/line`, message: `required with backend '${backend}'` });
  return out;
}

/**
 * SPEC lets a board map both logical buttons to one key, but then the gestures must follow the
 * one-key table: a board saying one thing and wired the other would turn every pause into a
 * start/end gesture (or the reverse). Lines are compared as written (chip and line, name or offset).
 */
function layoutIssues(b: BoardConfig['buttons']): Issue[] {
  if (b.backend === 'sim') return [];
  const same = b.shift.chip === b.privacy.chip && b.shift.line === b.privacy.line;
  if ((b.layout ?? 'two-key') === 'one-key') {
    if (!same) return [{ where: '/buttons/privacy', message: "layout 'one-key' needs shift and privacy on the same key (same chip and line)" }];
    if ((b.shift.activeLow ?? false) !== (b.privacy.activeLow ?? false)) return [{ where: '/buttons/privacy/activeLow', message: "layout 'one-key': one key has one polarity (shift and privacy differ in activeLow)" }];
    return [];
  }
  return same ? [{ where: '/buttons/layout', message: "shift and privacy are the same key: set layout to 'one-key' (the two-key gestures cannot be told apart on one key)" }] : [];
}

/** The IP camera's keys: a usable URL without credentials; rtsp-only keys only with rtsp. */
function cameraIssues(c: BoardConfig['camera']): Issue[] {
  const out: Issue[] = [];
  if (c.source === 'rtsp') {
    if (!c.url) out.push({ where: '/camera/url', message: "required when source is 'rtsp' (rtsp://HOST[:PORT]/PATH)" });
    else for (const m of rtspUrlProblems(c.url)) out.push({ where: '/camera/url', message: m });
    if (c.credentialsFile !== undefined && !isAbsolute(c.credentialsFile)) out.push({ where: '/camera/credentialsFile', message: `must be an absolute path (the agent's working directory is not yours): '${c.credentialsFile}'` });
    if (c.device !== undefined || c.inputFormat !== undefined) out.push({ where: '/camera', message: "device and inputFormat are V4L2 keys: an 'rtsp' camera has url (and credentialsFile)" });
  } else {
    for (const k of ['url', 'credentialsFile', 'timeoutS', 'reconnectMaxS'] as const) {
      if (c[k] !== undefined) out.push({ where: `/camera/${k}`, message: `only for source 'rtsp' (this camera is '${c.source}')` });
    }
  }
  return out;
}

/** Validates an already-parsed value. Returns every problem, or the typed config. */
export function validateBoard(value: unknown, source: string): BoardConfig {
  const issues: Issue[] = [];
  if (!validateSchema(value)) {
    for (const e of validateSchema.errors ?? []) {
      const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
      const allowed = e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : '';
      issues.push({ where: e.instancePath || '/', message: `${e.message ?? 'invalid'}${extra}${allowed}` });
    }
    throw new ConfigError(source, issues);
  }
  const b = value;
  issues.push(...lineIssues('/buttons/shift', b.buttons.backend, b.buttons.shift));
  issues.push(...lineIssues('/buttons/privacy', b.buttons.backend, b.buttons.privacy));
  issues.push(...layoutIssues(b.buttons));
  for (const k of ['led_rec', 'led_status', 'haptic'] as const) issues.push(...lineIssues(`/outputs/${k}`, b.outputs.backend, b.outputs[k]));
  if (b.dock.backend !== 'none' && b.dock.backend !== 'sim') issues.push(...lineIssues('/dock/line', b.dock.backend, b.dock.line));
  if (b.camera.source === 'v4l2' && !b.camera.device) issues.push({ where: '/camera/device', message: "required when source is 'v4l2' (a node like /dev/video0, or 'auto')" });
  issues.push(...cameraIssues(b.camera));
  if (b.audio.source === 'alsa' && !b.audio.device) issues.push({ where: '/audio/device', message: "required when source is 'alsa'" });
  if ((b.gauge.backend === 'max17048' || b.gauge.backend === 'bq27441') && b.gauge.bus === undefined && b.gauge.busName === undefined) {
    issues.push({ where: '/gauge/bus', message: `bus or busName required with backend '${b.gauge.backend}'` });
  }
  if (b.thermal.backend === 'sysfs' && !b.thermal.zone) issues.push({ where: '/thermal/zone', message: "required when backend is 'sysfs'" });
  if (issues.length) throw new ConfigError(source, issues);
  return b;
}

export function parseBoardFile(path: string): BoardConfig {
  return validateBoard(readJsonConfig(path), path);
}

/** `--board NAME|PATH`: a path to a file, or the name of a file in board-configs/. */
export function resolveBoard(nameOrPath: string): { path: string; board: BoardConfig } {
  const path = nameOrPath.includes('/') || nameOrPath.endsWith('.json') ? resolve(nameOrPath) : join(BOARD_DIR, `${nameOrPath}.json`);
  if (!existsSync(path)) {
    throw new ConfigError(nameOrPath, [{ where: '--board', message: `no board config '${nameOrPath}' (looked for ${path})` }]);
  }
  return { path, board: parseBoardFile(path) };
}
