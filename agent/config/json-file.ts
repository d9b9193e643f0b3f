/** Reads a JSON input file at the edge: unreadable or invalid JSON is a ConfigError naming the file. */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../lib/errors.js';

export function readJsonConfig(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [{ where: path, message: `cannot read: ${(e as Error).message}` }]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ConfigError(path, [{ where: path, message: `not valid JSON: ${(e as Error).message}` }]);
  }
}
