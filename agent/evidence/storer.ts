/**
 * Where sealed segments go. The encoder writes each segment into `stageDir`; when the sealer has
 * probed and hashed a closed segment it hands it to the storer, which puts it into the shift
 * directory and says what the journal's `segment` record must carry.
 *
 * PlainStorer: the stage dir *is* the shift dir (a power cut keeps the flushed part of the last
 * segment). EncryptingStorer (encrypt.ts, on when the config has an `encryption` section): ffmpeg
 * writes to a tmpfs stage, the shift dir receives ciphertext only.
 */
import type { Fields } from './journal.js';
import { sectionOf, type AgentConfig } from '../config/agent-config.js';
import { EncryptingStorer, type EncryptionConfig } from './encrypt.js';

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
   * Stores one sealed segment. `plain` is the staged file's content already read by the sealer
   * (so it is read once), `plainSha256` its hash.
   */
  store(stagedPath: string, shiftDir: string, file: string, plain: Buffer, plainSha256: string): Promise<StoredSegment>;
}

export class PlainStorer implements SegmentStorer {
  stageDir(_shiftId: string, shiftDir: string): string {
    return shiftDir;
  }
  async store(_staged: string, _shiftDir: string, file: string, plain: Buffer, plainSha256: string): Promise<StoredSegment> {
    return { file, sha256: plainSha256, bytes: plain.length };
  }
}

export function createSegmentStorer(config: AgentConfig): SegmentStorer {
  const enc = sectionOf<EncryptionConfig | undefined>(config, 'encryption');
  return enc ? new EncryptingStorer(enc) : new PlainStorer();
}
