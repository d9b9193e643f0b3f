/** Types shared by the storers (storer.ts, encrypt.ts): here so that neither imports the other for them. */
import type { Fields } from './journal.js';

export interface StoredSegment extends Fields {
  /** File name inside the shift directory. */
  file: string;
  /** Hex SHA-256 of the stored file's bytes. */
  sha256: string;
  bytes: number;
}

export interface SegmentStorer {
  /** Directory ffmpeg writes this shift's segments into. */
  stageDir(shiftId: string, shiftDir: string): string;
  /**
   * Custody mode: the one directory ffmpeg writes into for as long as it runs, across period
   * rotations (a running encoder cannot be told a new output dir). `store` moves each sealed
   * segment from it into its period's shift dir.
   */
  stableStageDir(dataDir: string): string;
  /**
   * Stores one sealed segment. `plain` is the staged file's content already read by the sealer
   * (so it is read once), `plainSha256` its hash.
   */
  store(stagedPath: string, shiftDir: string, file: string, plain: Buffer, plainSha256: string): Promise<StoredSegment>;
}
