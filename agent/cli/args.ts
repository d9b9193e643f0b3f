/**
 * Typed flags on node's `util.parseArgs`: declared flags only, every unknown or malformed flag is
 * a UsageError (exit 2) naming it. parseArgs tokenizes; the checks below keep the messages ours
 * (its strict-mode errors carry the flag only inside their message text) and add what it lacks:
 * number flags, a value that is another flag, a single-valued flag given twice.
 */
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';
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

type NodeOptions = NonNullable<ParseArgsConfig['options']>;

export function parseArgs<S extends FlagSpecs>(argv: readonly string[], specs: S, command: string): Parsed<S> {
  const options: NodeOptions = {};
  for (const [name, s] of Object.entries(specs)) {
    // Numbers travel as strings and are checked below: parseArgs knows only string and boolean.
    options[name] = { type: s.type === 'boolean' ? 'boolean' : 'string', ...(s.short ? { short: s.short } : {}), ...(s.multiple ? { multiple: true } : {}) };
  }
  // Not strict: an unknown flag becomes a token we reject with our own message, and a missing or
  // flag-like value is ours to judge (strict mode would call `--file --json` ambiguous, in words only).
  const { tokens } = nodeParseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  const known = (): string => Object.keys(specs).map((k) => '--' + k).join(', ') || 'none';
  let grouped = -1;
  for (const t of tokens) {
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind === 'option-terminator') continue;
    // Only `-x` is a short flag, as before: `-450` (`bodycam sim current -450`) or `-ab` is one
    // positional, not the short-flag group parseArgs splits it into (one token per letter).
    const arg = argv[t.index]!;
    if (!arg.startsWith('--') && !/^-[A-Za-z]$/.test(arg)) {
      if (t.index !== grouped) positionals.push(arg);
      grouped = t.index;
      continue;
    }
    const spec = Object.hasOwn(specs, t.name) ? specs[t.name] : undefined;
    if (!spec) throw new UsageError(t.rawName.startsWith('--') ? `${command}: unknown option '${t.rawName}' (known: ${known()})` : `${command}: unknown option '${t.rawName}'`);
    const name = t.name;
    if (spec.type === 'boolean') {
      if (t.inlineValue) throw new UsageError(`${command}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = t.value;
    if (raw === undefined || (!t.inlineValue && raw.startsWith('--'))) throw new UsageError(`${command}: --${name} needs a value`);
    let v: unknown = raw;
    if (spec.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${command}: --${name} must be a number, got '${raw}'`);
      v = n;
    }
    if (spec.multiple) flags[name] = [...((flags[name] as unknown[] | undefined) ?? []), v];
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
