/**
 * Bounded retries with exponential backoff and full jitter (the AWS architecture blog's
 * "Exponential Backoff And Jitter", 2015): sleep = random(0, min(maxDelay, base × 2^attempt)).
 * Bounded both in attempts and in total time.
 */

/** Retry policy. */
export interface RetryPolicy {
  /** Total attempts including the first (>= 1). */
  attempts: number;
  /** Base delay in ms. */
  baseMs: number;
  /** Cap for one delay in ms. */
  maxDelayMs: number;
  /** Give up once this much time has passed since the first attempt (ms). */
  deadlineMs: number;
}

/** Defaults for downloads and API calls. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 250, maxDelayMs: 8_000, deadlineMs: 120_000 };

/** Hooks that make retries testable without real sleeping. */
export interface RetryHooks {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Called before each retry with the error and the delay chosen. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Delay before retry number `attempt` (0-based) under full jitter. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * Runs `fn` until it succeeds, `isRetryable(err)` is false, or the policy's attempts or deadline run out;
 * then rethrows the last error.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  isRetryable: (err: unknown) => boolean,
  policy: RetryPolicy = DEFAULT_RETRY,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = hooks.now ?? Date.now;
  const start = now();
  for (let attempt = 0;; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const last = attempt + 1 >= policy.attempts;
      if (last || !isRetryable(err)) throw err;
      const delay = backoffDelay(policy, attempt, hooks.random);
      if (now() - start + delay > policy.deadlineMs) throw err;
      hooks.onRetry?.(err, attempt + 1, delay);
      await sleep(delay);
    }
  }
}
