/**
 * A small typed argument parser: declared flags only, every unknown or malformed flag is a
 * UsageError (exit 2) naming it. No dependency: the CLI must start fast on a small board.
 */
import { UsageError } from '../lib/errors.js';

export type FlagSpec = { type: 'string' | 'number' | 'boolean'; short?: string; multiple?: boolean; help?: string };
export type FlagSpecs = Record<string, FlagSpec>;

export type ParsedFlags<S extends FlagSpecs> = {
  [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : S[K]['type'] extends 'number' ? number : S[K]['multiple'] extends true ? string[] : string;
};

export interface Parsed<S extends FlagSpecs> {
  flags: ParsedFlags<S>;
  positionals: string[];
}

export function parseArgs<S extends FlagSpecs>(argv: readonly string[], specs: S, command: string): Parsed<S> {
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(specs).filter(([, s]) => s.short).map(([k, s]) => [s.short!, k]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq > 0 ? a.slice(eq + 1) : undefined;
    } else if (/^-[A-Za-z]$/.test(a)) {
      name = byShort.get(a.slice(1));
      if (!name) throw new UsageError(`${command}: unknown option '${a}'`);
    } else {
      positionals.push(a);
      continue;
    }
    const spec = specs[name];
    if (!spec) throw new UsageError(`${command}: unknown option '--${name}' (known: ${Object.keys(specs).map((k) => '--' + k).join(', ') || 'none'})`);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${command}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined || (inline === undefined && raw.startsWith('--'))) throw new UsageError(`${command}: --${name} needs a value`);
    let v: unknown = raw;
    if (spec.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${command}: --${name} must be a number, got '${raw}'`);
      v = n;
    }
    if (spec.multiple) flags[name] = [...((flags[name] as unknown[]) ?? []), v];
    else if (name in flags) throw new UsageError(`${command}: --${name} given twice`);
    else flags[name] = v;
  }
  return { flags: flags as ParsedFlags<S>, positionals };
}

/** `--data-dir`, else $BODYCAM_DATA_DIR, else /var/lib/bodycam. */
export function dataDirFrom(flag: string | undefined): string {
  return flag ?? process.env.BODYCAM_DATA_DIR ?? '/var/lib/bodycam';
}

export const DATA_DIR_FLAG = { 'data-dir': { type: 'string', help: 'data directory (default $BODYCAM_DATA_DIR or /var/lib/bodycam)' } } as const satisfies FlagSpecs;
