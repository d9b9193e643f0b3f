/**
 * The one retry/backoff helper: exponential with full jitter and a cap. Every retry loop in the
 * agent (encoder restarts, MQTT reconnects, upload retries, device re-probes) goes through it, so
 * pacing is tuned in one place and a storm of restarts cannot hammer a device or a server.
 */
export interface BackoffOptions {
  /** First delay in ms. */
  readonly initialMs: number;
  /** Upper bound of any delay in ms. */
  readonly maxMs: number;
  /** Growth factor per attempt (default 2). */
  readonly factor?: number;
  /** 0 = no jitter, 1 = full jitter (default 0.5: delay in [d/2, d]). */
  readonly jitter?: number;
  /** Random source in [0,1); injectable for tests. */
  readonly random?: () => number;
  /**
   * The first attempt after a reset is made at once (0 ms), the growth from `initialMs` starts at
   * the second: a one-off failure of something that was working is retried without a pause,
   * repeated failures are still paced.
   */
  readonly immediateFirst?: boolean;
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly o: BackoffOptions) {}

  /** The delay to wait before the next attempt; advances the attempt counter. */
  next(): number {
    const factor = this.o.factor ?? 2;
    const jitter = this.o.jitter ?? 0.5;
    const first = this.o.immediateFirst === true;
    if (first && this.attempt === 0) {
      this.attempt++;
      return 0;
    }
    const raw = Math.min(this.o.maxMs, this.o.initialMs * factor ** (this.attempt - (first ? 1 : 0)));
    this.attempt++;
    const r = (this.o.random ?? Math.random)();
    return Math.round(raw * (1 - jitter) + raw * jitter * r);
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Runs `fn` until it resolves, waiting `backoff.next()` between failures; stops on abort. */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: BackoffOptions & { signal?: AbortSignal; retries?: number; onError?: (e: unknown, attempt: number, delayMs: number) => void },
): Promise<T> {
  const b = new Backoff(opts);
  for (;;) {
    try {
      return await fn(b.attempts);
    } catch (e) {
      if (opts.retries !== undefined && b.attempts >= opts.retries) throw e;
      const d = b.next();
      opts.onError?.(e, b.attempts, d);
      await sleep(d, opts.signal);
    }
  }
}
