/**
 * Bandwidth pacing for uploads: a token bucket whose rate is read on every take, so a policy
 * change (offloadBandwidthKbps) applies to the part being sent. Parts are streamed to the socket
 * in small chunks through it, so the link sees a steady rate, not a burst per part.
 */
import { Readable } from 'node:stream';
import { sleep } from '../lib/backoff.js';

export class RateLimiter {
  private tokens = 0;
  private last = performance.now();
  /** @param kbps returns the current limit in kbit/s; 0 = unlimited. */
  constructor(private readonly kbps: () => number, private readonly burstMs = 250) {}

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const limit = this.kbps();
      if (!(limit > 0)) return;
      const bytesPerMs = (limit * 1000) / 8 / 1000;
      const now = performance.now();
      this.tokens = Math.min(this.tokens + (now - this.last) * bytesPerMs, Math.max(bytes, bytesPerMs * this.burstMs));
      this.last = now;
      if (this.tokens >= bytes) {
        this.tokens -= bytes;
        return;
      }
      await sleep(Math.max(1, Math.ceil((bytes - this.tokens) / bytesPerMs)), signal);
    }
  }
}

/** A one-shot body stream over `buf`, paced through `limiter` in `chunk`-byte pieces. */
export function pacedBody(buf: Buffer, limiter: RateLimiter, signal: AbortSignal | undefined, onChunk: (n: number) => void, chunk = 64 * 1024): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (let off = 0; off < buf.length; off += chunk) {
      const piece = buf.subarray(off, Math.min(buf.length, off + chunk));
      await limiter.take(piece.length, signal);
      // Counted as it is handed to the request, before the yield: a caller that must not abort a
      // request once its last byte is out (a PutObject may then be stored) learns it in time.
      onChunk(piece.length);
      yield piece;
    }
  }
  return Readable.from(gen(), { objectMode: false });
}
