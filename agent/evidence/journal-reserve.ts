/**
 * Space kept back for the journal: a preallocated file (`<dataDir>/.journal-reserve`, 1 MiB by
 * default) on the same filesystem as the shift journals, given up when a journal write hits
 * ENOSPC/EDQUOT.
 *
 * Why: the storage-full case is exactly when the journal has the most to say. Segments fill the
 * card; then the `fault` that says storage is full, the `gap` that accounts for the media not
 * recorded, and the `shift_end` that closes the shift must still be written, or the shift ends
 * as an unverifiable, unclosed journal (a `Journal` holds failed records in memory, but memory
 * is lost at the next power cut). Releasing the reserve turns "full" into ~1 MiB of journal —
 * thousands of records — at the moment it is needed, without depending on anyone deleting media.
 *
 * The bytes are really allocated: zero-filled chunks written and fdatasync'd. A file only
 * extended with ftruncate would be sparse (no blocks on ext4, no pages on tmpfs) and would free
 * nothing when unlinked. Wire it as `journal.onNoSpace = reserve.releaseOnNoSpace`; call
 * `ensure()` at start and again once space has returned (after `writeRecovered`, when the
 * storage monitor sees free space again).
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, statSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../lib/errors.js';
import { fsyncDir } from '../lib/atomic.js';

export const JOURNAL_RESERVE_FILE = '.journal-reserve';
export const DEFAULT_JOURNAL_RESERVE_BYTES = 1024 * 1024;

/** Write size while filling: large enough to be quick, small enough to stop close to the end of a nearly full disk. */
const CHUNK = 64 * 1024;

const isNoSpace = (e: unknown): boolean => {
  const c = errnoCode(e);
  return c === 'ENOSPC' || c === 'EDQUOT';
};

export class JournalReserve {
  readonly path: string;
  private held = 0;

  /** No I/O here: `ensure()` creates the file. `dataDir` must be on the journals' filesystem. */
  constructor(
    readonly dataDir: string,
    readonly bytes: number = DEFAULT_JOURNAL_RESERVE_BYTES,
    fileName: string = JOURNAL_RESERVE_FILE,
  ) {
    this.path = join(dataDir, fileName);
  }

  /**
   * Creates or extends the reserve to `bytes` of allocated space. On a full filesystem it stops
   * quietly, keeps what it got and returns false; true when the whole reserve is held. Other
   * errors (EIO, EACCES) throw.
   */
  ensure(): boolean {
    const created = !existsSync(this.path);
    let fd: number;
    try {
      fd = openSync(this.path, 'a', 0o600);
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      this.held = 0;
      return false;
    }
    let complete = true;
    try {
      const st = fstatSync(fd);
      let size = st.size;
      // Holes (a reserve extended by truncate, or a torn earlier attempt) hold no space: refill.
      if (st.blocks * 512 < size) {
        ftruncateSync(fd, 0);
        size = 0;
      }
      if (size > this.bytes) {
        ftruncateSync(fd, this.bytes);
        size = this.bytes;
      }
      const zeros = Buffer.alloc(Math.min(CHUNK, Math.max(this.bytes, 1)));
      while (size < this.bytes) {
        try {
          size += writeSync(fd, zeros, 0, Math.min(zeros.length, this.bytes - size));
        } catch (e) {
          if (!isNoSpace(e)) throw e;
          complete = false;
          break;
        }
      }
      try {
        fdatasyncSync(fd);
      } catch (e) {
        if (!isNoSpace(e)) throw e;
        complete = false;
      }
      this.held = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
    if (created) fsyncDir(this.dataDir);
    return complete && this.held >= this.bytes;
  }

  /** Deletes the reserve. Returns the bytes of allocated space freed (0 when there was none). */
  release(): number {
    let freed: number;
    try {
      freed = statSync(this.path).blocks * 512;
      unlinkSync(this.path);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      freed = 0;
    }
    this.held = 0;
    return freed;
  }

  /** Bytes held after the last `ensure()`/`release()` (0 before any: the constructor does no I/O). */
  get heldBytes(): number {
    return this.held;
  }

  /** For `Journal.onNoSpace`: releases the reserve; true when that freed space. */
  readonly releaseOnNoSpace = (): boolean => this.release() > 0;
}
