/**
 * `bodycam board check FILE...` — validates board configs and lists every problem of every file
 * (schema and cross-field rules); exit 0 when all are valid, 2 otherwise.
 * `bodycam board list` — the boards shipped in board-configs/ and how each is tested.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { UsageError, isConfigError, type Issue } from '../../lib/errors.js';
import { BOARD_DIR, parseBoardFile, resolveBoard } from '../../config/board.js';
import { powerIssues } from '../../power/thresholds.js';

const FLAGS = { json: { type: 'boolean', help: 'print the result as JSON' } } as const;

const USAGE = `usage: bodycam board check FILE... [--json]
       bodycam board list

  check   validate board config files; every problem is listed (exit 2 if any file is invalid)
  list    the board configs shipped in ${BOARD_DIR}`;

export interface BoardCheckResult {
  readonly file: string;
  readonly board: string | undefined;
  readonly issues: readonly Issue[];
}

/** Every problem of one board file: the schema's, the validator's cross-field rules, the power rules. */
export function checkBoardFile(file: string): BoardCheckResult {
  try {
    const b = parseBoardFile(file);
    return { file, board: b.name, issues: powerIssues(b) };
  } catch (e) {
    if (isConfigError(e)) return { file, board: undefined, issues: e.issues };
    throw e;
  }
}

export const boardCommand: Command = {
  name: 'board',
  summary: 'check board config files, list the shipped boards',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const { flags, positionals } = parseArgs(rest, FLAGS, 'board');
    if (sub === 'check') {
      if (!positionals.length) throw new UsageError('board check: give at least one FILE');
      const results = positionals.map(checkBoardFile);
      if (flags.json) console.log(JSON.stringify(results, null, 2));
      else {
        for (const r of results) {
          if (!r.issues.length) console.log(`${r.file}: ok (board '${r.board ?? '?'}')`);
          else {
            console.log(`${r.file}: ${r.issues.length} problem(s)`);
            for (const i of r.issues) console.log(`  - ${i.where}: ${i.message}`);
          }
        }
      }
      return results.some((r) => r.issues.length) ? 2 : 0;
    }
    if (sub === 'list') {
      if (positionals.length) throw new UsageError('board list takes no arguments');
      const names = readdirSync(BOARD_DIR).filter((f) => f.endsWith('.json')).sort();
      const rows = names.map((f) => {
        try {
          const { board } = resolveBoard(join(BOARD_DIR, f));
          return { name: board.name, tested: board.tested ?? '-', ok: true };
        } catch (e) {
          return { name: f, tested: `INVALID: ${(e as Error).message.split('\n')[0] ?? ''}`, ok: false };
        }
      });
      if (flags.json) console.log(JSON.stringify(rows, null, 2));
      else {
        const w = Math.max(...rows.map((r) => r.name.length));
        for (const r of rows) console.log(`${r.name.padEnd(w)}  ${r.tested}`);
      }
      return rows.every((r) => r.ok) ? 0 : 2;
    }
    throw new UsageError(sub ? `board: unknown subcommand '${sub}' (check, list)` : 'board: give a subcommand (check, list)');
  },
};
