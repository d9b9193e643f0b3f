/**
 * `\n`-terminated lines of bytes that arrive in pieces (a file read 64 KiB at a time): one
 * splitter for the journal writer's scan, the outbox's reconcile and whoever needs only a file's
 * first line, so none of them holds a whole journal in memory. A line is decoded only when its
 * visitor asks (`text()`, valid during the call), and only once whole: a multi-byte character cut
 * by a piece boundary reads as written (`\n` never occurs inside a UTF-8 sequence). The bytes
 * after the last `\n` are the torn tail, not a line.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** How much of a file {@link feedFile} reads at a time. */
export const PIECE_BYTES = 64 * 1024;

/** Called per complete line (0-based index); returning `false` stops the split. */
export type LineVisitor = (index: number, text: () => string) => boolean | void;

export class LineSplitter {
  /** Complete lines so far. */
  lines = 0;
  /** Byte length of the complete lines so far. */
  goodBytes = 0;
  stopped = false;
  /** The bytes of a line not ended yet (copies: readers reuse their buffer). */
  private carry: Buffer[] = [];
  private carryBytes = 0;

  constructor(private readonly visit: LineVisitor) {}

  /** Takes the next piece of bytes; false once the visitor stopped. */
  push(piece: Buffer): boolean {
    let start = 0;
    for (let nl = piece.indexOf(0x0a); nl >= 0 && !this.stopped; nl = piece.indexOf(0x0a, start)) {
      const from = start;
      const carried = this.carryBytes > 0 ? this.carry : undefined;
      const text = carried ? (): string => Buffer.concat([...carried, piece.subarray(from, nl)]).toString('utf8') : (): string => piece.toString('utf8', from, nl);
      this.goodBytes += this.carryBytes + nl - start + 1;
      this.carry = [];
      this.carryBytes = 0;
      start = nl + 1;
      if (this.visit(this.lines++, text) === false) this.stopped = true;
    }
    if (!this.stopped && start < piece.length) {
      this.carry.push(Buffer.from(piece.subarray(start)));
      this.carryBytes += piece.length - start;
    }
    return !this.stopped;
  }

  /** What followed the last `\n` (a torn write), if anything. */
  tail(): Buffer | undefined {
    return this.carryBytes > 0 ? Buffer.concat(this.carry) : undefined;
  }
}

/** Feeds the file behind `fd` to `s` from its first byte, `pieceBytes` at a time, until its end or the visitor stops. */
export function feedFile(fd: number, s: LineSplitter, pieceBytes = PIECE_BYTES): LineSplitter {
  const piece = Buffer.allocUnsafe(pieceBytes);
  for (let pos = 0; ;) {
    const n = readSync(fd, piece, 0, pieceBytes, pos);
    if (n === 0 || !s.push(piece.subarray(0, n))) break;
    pos += n;
  }
  return s;
}

/** A file's first complete line, read no further than it ends; undefined when it has none. Throws as open(2) does. */
export function readFirstLine(path: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    let first: string | undefined;
    feedFile(fd, new LineSplitter((_i, text) => {
      first = text();
      return false;
    }));
    return first;
  } finally {
    closeSync(fd);
  }
}
