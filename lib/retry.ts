/**
 * Bounded exponential backoff with full jitter, shared by downloads, the IMDS client and the AWS API calls.
 * Full jitter: the wait before retry n is `random() * min(maxMs, baseMs * 2^n)`, the scheme from the
 * AWS Architecture Blog post "Exponential Backoff And Jitter" (2015-03-04).
 */

/** What one attempt learns about the retry budget left. */
export interface AttemptInfo {
  /** 0 for the first try, 1 for the first retry, ... */
  attempt: number;
  /** Milliseconds left before the total time bound; Infinity when there is none. */
  remainingMs: number;
}

/** Knobs of {@link withBackoff}; every one has a default. */
export interface BackoffOptions {
  /** Most tries in all, the first included (default 5). */
  attempts?: number;
  /** Base wait before the first retry, in ms (default 200). */
  baseMs?: number;
  /** Cap on any single wait, in ms (default 5000). */
  maxMs?: number;
  /** Bound on the whole call, waits included, in ms (default none). No retry starts past it. */
  totalMs?: number;
  /** Whether an error deserves another try (default: every error). */
  isRetryable?: (err: unknown) => boolean;
  /** Called before each wait, e.g. to log "retrying in 400 ms". */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Injectable wait, for tests (default: setTimeout). */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable [0,1) source, for tests (default: Math.random). */
  random?: () => number;
  /** Injectable clock in ms, for tests (default: performance.now). */
  now?: () => number;
}

/** Waits `ms` milliseconds. */
export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The full-jitter wait before retry number `attempt` (1-based): a value in [0, min(maxMs, baseMs·2^(attempt-1))). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `fn` until it succeeds, a non-retryable error occurs, or the count or time bound is reached;
 * then rethrows the last error unchanged.
 *
 * @example
 * const out = await withBackoff(() => client.send(cmd), { attempts: 4, isRetryable: isThrottle });
 */
export async function withBackoff<T>(
  fn: (info: AttemptInfo) => Promise<T>,
  opts: BackoffOptions = {},
): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const baseMs = opts.baseMs ?? 200;
  const maxMs = opts.maxMs ?? 5000;
  const totalMs = opts.totalMs ?? Infinity;
  const isRetryable = opts.isRetryable ?? (() => true);
  const sleep = opts.sleep ?? sleepMs;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? (() => performance.now());
  const start = now();
  for (let attempt = 0;; attempt++) {
    const remainingMs = totalMs - (now() - start);
    try {
      return await fn({ attempt, remainingMs });
    } catch (err) {
      if (attempt + 1 >= attempts || !isRetryable(err)) throw err;
      const delay = backoffDelay(attempt + 1, baseMs, maxMs, random);
      // A retry that would start after the deadline is not worth waiting for.
      if (now() - start + delay >= totalMs) throw err;
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay);
    }
  }
}
