/**
 * Where sealed segments go. The encoder writes each segment into `stageDir`; when the sealer has
 * probed and hashed a closed segment it hands it to the storer, which puts it into the shift
 * directory and says what the journal's `segment` record must carry.
 *
 * PlainStorer: the stage dir *is* the shift dir (a power cut keeps the flushed part of the last
 * segment). EncryptingStorer (encrypt.ts, on when the config has an `encryption` section): ffmpeg
 * writes to a tmpfs stage, the shift dir receives ciphertext only.
 */
import { open } from 'node:fs/promises';
import type { SegmentStorer, StoredSegment } from './types.js';
import { fsyncDir } from '../lib/atomic.js';
import { sectionOf, type AgentConfig } from '../config/agent-config.js';
import { EncryptingStorer } from './encrypt.js';
import type { EncryptionConfig } from './config.js';

export type { SegmentStorer, StoredSegment } from './types.js';

export class PlainStorer implements SegmentStorer {
  stageDir(_shiftId: string, shiftDir: string): string {
    return shiftDir;
  }
  /**
   * The journal is about to name this file with this hash, so its bytes and its directory entry
   * must be on disk first: ffmpeg's flushes reach the page cache only, and the HIL power-cut test
   * found journaled segments shortened or emptied after a hard power-off without this.
   */
  async store(staged: string, shiftDir: string, file: string, plain: Buffer, plainSha256: string): Promise<StoredSegment> {
    const fh = await open(staged, 'r');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
    fsyncDir(shiftDir);
    return { file, sha256: plainSha256, bytes: plain.length };
  }
}

export function createSegmentStorer(config: AgentConfig): SegmentStorer {
  const enc = sectionOf<EncryptionConfig | undefined>(config, 'encryption');
  return enc ? new EncryptingStorer(enc) : new PlainStorer();
}
