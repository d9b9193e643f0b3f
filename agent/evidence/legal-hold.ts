/**
 * Legal holds: `<data-dir>/holds/<shift-id>.json`. A shift under hold is never deleted locally,
 * whatever else says so. Kept outside the shift directory, which holds evidence only.
 */
import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic, readJsonIfExists, fsyncDir } from '../lib/atomic.js';
import { SHIFT_ID } from './shift-id.js';

export interface LegalHold {
  readonly shiftId: string;
  readonly since: string;
  readonly by: string;
  readonly reference: string;
}

const holdsDir = (dataDir: string): string => join(dataDir, 'holds');

export function setLegalHold(dataDir: string, shiftId: string, on: boolean, by: string, reference = ''): void {
  if (!SHIFT_ID.test(shiftId)) throw new Error(`invalid shift id '${shiftId}'`);
  const p = join(holdsDir(dataDir), `${shiftId}.json`);
  if (on) {
    writeJsonAtomic(p, { shiftId, since: new Date().toISOString(), by, reference } satisfies LegalHold);
  } else if (existsSync(p)) {
    unlinkSync(p);
    fsyncDir(holdsDir(dataDir));
  }
}

export function getLegalHold(dataDir: string, shiftId: string): LegalHold | undefined {
  if (!SHIFT_ID.test(shiftId)) return undefined;
  return readJsonIfExists(join(holdsDir(dataDir), `${shiftId}.json`)) as LegalHold | undefined;
}

export function isUnderLegalHold(dataDir: string, shiftId: string): boolean {
  return getLegalHold(dataDir, shiftId) !== undefined;
}

export function listLegalHolds(dataDir: string): string[] {
  const d = holdsDir(dataDir);
  return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];
}
