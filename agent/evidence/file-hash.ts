/**
 * SHA-256 of a file, streamed through one reused buffer: the one way evidence files are hashed,
 * by the offload manifest and live offload on the device, and by the verifier and central ingest
 * (through the pool in hash-pool.ts, whose workers call `hashFileSync`).
 *
 * Why a reused buffer: a fresh buffer per file (readFileSync) costs a page fault per 4 KiB of it;
 * for the 122-kB segments of the 12-hour bench shift that made reading 5× slower than hashing
 * (505 MB/s against 2.6 GB/s through one buffer, this 2-core box). And a file of any size is
 * hashed in bounded memory.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';

export interface FileDigest {
  readonly bytes: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

/** Read size: large enough that a 2-s 1080p segment (~1 MB) is one read. */
export const HASH_CHUNK = 1024 * 1024;

/** Synchronous: for a thread that does nothing else (a hash-pool worker, the verifier's stragglers). */
export function hashFileSync(path: string, buf: Buffer = Buffer.allocUnsafe(HASH_CHUNK)): FileDigest {
  const h = createHash('sha256');
  let bytes = 0;
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, bytes);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: h.digest('hex') };
}

/**
 * Asynchronous reads, so the event loop stays responsive (the agent hashes while it records). A
 * read stream per file cost ~2 ms of set-up each: 42 s for the 21,600 segments of a 12-hour shift
 * where sha256sum took 14 s (bench `long`).
 */
export async function hashFile(path: string, buf: Buffer = Buffer.allocUnsafe(HASH_CHUNK)): Promise<FileDigest> {
  const h = createHash('sha256');
  let bytes = 0;
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, bytes);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { bytes, sha256: h.digest('hex') };
}
