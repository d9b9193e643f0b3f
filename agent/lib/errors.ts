/**
 * Typed errors. Callers branch on the class (or the `code`) through the guards below, never on
 * message text. Every error that reaches a user carries a message that names the problem.
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'DEVICE'
  | 'ENCODER'
  | 'EVIDENCE'
  | 'STORAGE'
  | 'PROTOCOL'
  | 'CRYPTO'
  | 'STATE'
  | 'UPDATE';

export class BodycamError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad command-line usage: exit code 2. */
export class UsageError extends BodycamError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** One problem found while validating an input (config file, payload, board file). */
export interface Issue {
  /** Where: a JSON pointer, a file:line, or a CLI flag. */
  readonly where: string;
  readonly message: string;
}

/** Invalid configuration: carries every problem found, not only the first. */
export class ConfigError extends BodycamError {
  readonly issues: readonly Issue[];
  readonly source: string;
  constructor(source: string, issues: readonly Issue[]) {
    super('CONFIG', `${source}: ${issues.length} problem(s)\n` + issues.map((i) => `  - ${i.where}: ${i.message}`).join('\n'));
    this.source = source;
    this.issues = issues;
  }
}

/** A hardware device is missing, vanished or answered nonsense. */
export class DeviceError extends BodycamError {
  readonly device: string;
  constructor(device: string, message: string, options?: { cause?: unknown }) {
    super('DEVICE', `${device}: ${message}`, options);
    this.device = device;
  }
}

export class EncoderError extends BodycamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENCODER', message, options);
  }
}

export class EvidenceError extends BodycamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVIDENCE', message, options);
  }
}

export class ProtocolError extends BodycamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROTOCOL', message, options);
  }
}

export class CryptoError extends BodycamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CRYPTO', message, options);
  }
}

/**
 * A firmware update step failed: `step` names which (download, hash, version, install, status,
 * mark, reboot), so the update room journals and reports it without reading the message.
 */
export type UpdateStep = 'download' | 'hash' | 'version' | 'install' | 'status' | 'mark' | 'reboot' | 'busy';
export class UpdateError extends BodycamError {
  readonly step: UpdateStep;
  constructor(step: UpdateStep, message: string, options?: { cause?: unknown }) {
    super('UPDATE', message, options);
    this.step = step;
  }
}

export const isUpdateError = (e: unknown): e is UpdateError => e instanceof UpdateError;
export const isBodycamError = (e: unknown): e is BodycamError => e instanceof BodycamError;
export const isUsageError = (e: unknown): e is UsageError => e instanceof UsageError;
export const isConfigError = (e: unknown): e is ConfigError => e instanceof ConfigError;
export const isDeviceError = (e: unknown): e is DeviceError => e instanceof DeviceError;

/** Node's system errors (ENOENT, ENOSPC, …) carry a string `code`. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return undefined;
}

export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
