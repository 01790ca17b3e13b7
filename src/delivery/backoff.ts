/**
 * Retry timing. Defaults follow Postfix (minimal_backoff_time 300s, maximal_backoff_time 4000s, maximal_queue_lifetime
 * 5d): the delay doubles from retryFirst up to retryMax, and each delay is jittered by +/- jitter (a fraction) so that
 * messages deferred together do not all retry in the same second.
 */
export interface RetryPolicy {
  /** Seconds before the first retry. */
  retryFirst: number;
  /** Longest delay between attempts, seconds. */
  retryMax: number;
  /** Seconds after queueing when a recipient still failing temporarily is given up (bounced). */
  giveUpAfter: number;
  /** Seconds after queueing when a still-undelivered recipient gets a delay warning (if NOTIFY asks); 0 disables. */
  delayWarningAfter: number;
  /** Relative jitter in [0, 1): 0.2 spreads each delay over +/-20%. */
  jitter: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  retryFirst: 300,
  retryMax: 3600,
  giveUpAfter: 5 * 86400,
  delayWarningAfter: 4 * 3600,
  jitter: 0.2,
};

/** Delay in ms before the next attempt, after `attempts` failed attempts (1 = the first one failed). */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random: () => number = Math.random): number {
  const n = Math.max(1, attempts);
  const base = Math.min(policy.retryMax, policy.retryFirst * 2 ** Math.min(n - 1, 40));
  const factor = 1 + policy.jitter * (2 * random() - 1);
  return Math.max(1000, Math.round(base * factor * 1000));
}
