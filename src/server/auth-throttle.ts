/**
 * Failed-login throttling shared by SMTP and POP3: per client address and per account, a delay that grows with each
 * failure and then a temporary lockout. Successful logins clear the account's and the address's record.
 */
export interface AuthThrottleOptions {
  /** Failures before any delay applies. */
  freeFailures?: number;
  /** Delay added per failure past the free ones, in ms. */
  delayStepMs?: number;
  /** Largest delay, in ms. */
  maxDelayMs?: number;
  /** Failures (per address or per account) that trigger a lockout. */
  lockoutAfter?: number;
  /** How long a lockout lasts, in ms. */
  lockoutMs?: number;
  /** Forget failures older than this, in ms. */
  windowMs?: number;
  now?: () => number;
}

export const DEFAULT_AUTH_THROTTLE: Required<Omit<AuthThrottleOptions, 'now'>> = {
  freeFailures: 2,
  delayStepMs: 1000,
  maxDelayMs: 5000,
  lockoutAfter: 10,
  lockoutMs: 15 * 60_000,
  windowMs: 15 * 60_000,
};

interface Record_ {
  failures: number;
  last: number;
  lockedUntil: number;
}

export type ThrottleVerdict = { allowed: true; delayMs: number } | { allowed: false; retryAfterMs: number };

export class AuthThrottle {
  private readonly options: Required<Omit<AuthThrottleOptions, 'now'>>;
  private readonly now: () => number;
  private readonly byAddress = new Map<string, Record_>();
  private readonly byAccount = new Map<string, Record_>();

  constructor(options: AuthThrottleOptions = {}) {
    const { now, ...rest } = options;
    this.options = { ...DEFAULT_AUTH_THROTTLE, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
    this.now = now ?? Date.now;
  }

  /** Before checking credentials: may this attempt go ahead, and after how long a delay? */
  check(address: string, account?: string): ThrottleVerdict {
    const now = this.now();
    let delay = 0;
    for (const rec of [this.get(this.byAddress, address, now), account ? this.get(this.byAccount, account.toLowerCase(), now) : undefined]) {
      if (!rec) continue;
      if (rec.lockedUntil > now) return { allowed: false, retryAfterMs: rec.lockedUntil - now };
      const over = rec.failures - this.options.freeFailures;
      if (over > 0) delay = Math.max(delay, Math.min(this.options.maxDelayMs, over * this.options.delayStepMs));
    }
    return { allowed: true, delayMs: delay };
  }

  recordFailure(address: string, account?: string): void {
    const now = this.now();
    this.bump(this.byAddress, address, now);
    if (account) this.bump(this.byAccount, account.toLowerCase(), now);
  }

  recordSuccess(address: string, account: string): void {
    this.byAddress.delete(address);
    this.byAccount.delete(account.toLowerCase());
  }

  private get(map: Map<string, Record_>, key: string, now: number): Record_ | undefined {
    const rec = map.get(key);
    if (rec && rec.lockedUntil <= now && now - rec.last > this.options.windowMs) {
      map.delete(key);
      return undefined;
    }
    return rec;
  }

  private bump(map: Map<string, Record_>, key: string, now: number): void {
    const rec = this.get(map, key, now) ?? { failures: 0, last: now, lockedUntil: 0 };
    if (rec.lockedUntil && rec.lockedUntil <= now) {
      rec.failures = 0;
      rec.lockedUntil = 0;
    }
    rec.failures++;
    rec.last = now;
    if (rec.failures >= this.options.lockoutAfter) rec.lockedUntil = now + this.options.lockoutMs;
    map.set(key, rec);
    if (map.size > 100_000) {
      // Bound memory under a spray of addresses: drop the oldest entries.
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
  }
}
