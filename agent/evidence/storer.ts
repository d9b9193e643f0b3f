/**
 * Where sealed segments go. The encoder writes each segment into `stageDir`; when the sealer has
 * probed and hashed a closed segment it hands it to the storer, which puts it into the shift
 * directory and says what the journal's `segment` record must carry.
 *
 * PlainStorer: the stage dir *is* the shift dir (a power cut keeps the flushed part of the last
 * segment) — except in custody mode, where the encoder runs across period rotations and writes
 * into one stable stage dir on the same filesystem (`<dataDir>/stage`): each sealed segment is
 * then renamed into its period's dir (atomic, both dirs fsynced) before the journal names it. EncryptingStorer (encrypt.ts, on when the config has an `encryption` section): ffmpeg
 * writes to a tmpfs stage, the shift dir receives ciphertext only.
 */
import { open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
  stableStageDir(dataDir: string): string {
    return join(dataDir, 'stage');
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
    const stage = dirname(staged);
    if (stage !== shiftDir) {
      // rename(2) within one filesystem: the file is in exactly one of the two dirs at any
      // instant, and the sealer looks in both after a crash (ShiftSealer.stagedPath).
      await rename(staged, join(shiftDir, file));
      fsyncDir(stage);
    }
    fsyncDir(shiftDir);
    return { file, sha256: plainSha256, bytes: plain.length };
  }
}

export function createSegmentStorer(config: AgentConfig): SegmentStorer {
  const enc = sectionOf<EncryptionConfig | undefined>(config, 'encryption');
  return enc ? new EncryptingStorer(enc) : new PlainStorer();
}
