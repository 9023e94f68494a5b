// Retrying transient failures with exponential backoff and full jitter (the AWS architecture blog's
// recommendation: spreads the retries of many concurrent callers instead of synchronising them).

export interface RetryPolicy {
  /** total tries, the first one included */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 6, baseDelayMs: 50, maxDelayMs: 2000 };

export interface RetryOptions extends RetryPolicy {
  isRetryable(err: unknown): boolean;
}

/** Calls `fn` until it succeeds, fails with a non-retryable error, or `attempts` are used up. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= options.attempts || !options.isRetryable(err)) throw err;
      const ceilingMs = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
    }
  }
}
