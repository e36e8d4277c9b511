/**
 * Client-side request-rate limiting for fleet runs (docs/fleet.md): one pacer per (account, Region,
 * operation or shared group) whose rate starts at the documented KMS request quota and adapts
 * (AIMD: multiply by 0.85 on ThrottlingException, add back a fiftieth of the configured rate per
 * success, never above it); retries of throttling and transient errors with exponential backoff and full
 * jitter. Pure: time and sleeping are injected.
 *
 * Contract of {@link RateLimiter.acquire}: requests of one scope and operation are spaced at least
 * 1/rate apart (no burst), so over any window of T ms at most 1 + T·rate/1000 are admitted. The pace
 * keeps a small headroom below the configured rate (`headroom`, default 0.97): KMS's bucket refills
 * continuously, so requests sent exactly at the quota are throttled by any network jitter.
 */
import { KmsByokError } from '../core/errors.js';
import type { KmsPort } from '../kms/port.js';

/**
 * AWS KMS default request quotas (requests per second per account and Region) for the operations
 * kms-byok calls, from AWS's "Request quotas" page (2025–2026 edition). A test checks they equal the
 * emulator's `KMS_DEFAULT_QUOTAS` (which this module may not import: the emulator is an independent
 * program).
 */
export const FLEET_DEFAULT_QUOTAS: Readonly<Record<string, number>> = Object.freeze({
  CreateAlias: 5,
  CreateKey: 5,
  DeleteImportedKeyMaterial: 15,
  DescribeKey: 2000,
  GetParametersForImport: 1,
  GetPublicKey: 2000,
  ImportKeyMaterial: 15,
  ListAliases: 500,
  ListKeyRotations: 100,
  ListKeys: 500,
  ListResourceTags: 2000,
  ReplicateKey: 5,
  RotateKeyOnDemand: 5,
  TagResource: 10,
  UpdateAlias: 5,
  CryptographicOperationsSymmetric: 10_000,
  CryptographicOperationsAsymmetric: 1000,
});

/** Operations that share a quota (AWS's cryptographic-operation groups). */
export const FLEET_QUOTA_GROUPS: Readonly<Record<string, string>> = {
  Encrypt: 'CryptographicOperationsSymmetric',
  Decrypt: 'CryptographicOperationsSymmetric',
  GenerateMac: 'CryptographicOperationsSymmetric',
  Sign: 'CryptographicOperationsAsymmetric',
};

/**
 * Parses `--rate OP=N` flags (repeatable) over the defaults, and a `--rate-scale` factor applied to
 * every rate. Returns the rates table; unknown operations and non-positive rates are refused.
 */
export function resolveRates(overrides: readonly string[], scale = 1): Record<string, number> {
  if (!Number.isFinite(scale) || scale <= 0) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --rate-scale ${scale}: expected a positive number`, { hint: 'e.g. --rate-scale 20' });
  const rates: Record<string, number> = {};
  for (const [k, v] of Object.entries(FLEET_DEFAULT_QUOTAS)) rates[k] = v * scale;
  for (const o of overrides) {
    const m = /^([A-Za-z]+)=(\d+(?:\.\d+)?)$/.exec(o.trim());
    if (!m || !Object.hasOwn(FLEET_DEFAULT_QUOTAS, m[1]!) || Number(m[2]) <= 0) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --rate "${o}": expected OPERATION=REQUESTS_PER_SECOND`, {
        hint: `e.g. --rate GetParametersForImport=20; operations: ${Object.keys(FLEET_DEFAULT_QUOTAS).join(', ')}`,
      });
    }
    rates[m[1]!] = Number(m[2]);
  }
  return rates;
}

interface Pacer {
  /** Configured (maximum) rate per second. */
  max: number;
  /** Current adapted rate per second. */
  rate: number;
  /** Earliest time (ms) the next request may start. */
  next: number;
  throttles: number;
  admitted: number;
}

export interface LimiterClock {
  /** Monotonic milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Pacers per scope (e.g. `profile/region`) and operation; see the module contract. */
export class RateLimiter {
  private readonly pacers = new Map<string, Pacer>();

  constructor(
    private readonly rates: Readonly<Record<string, number>>,
    private readonly clock: LimiterClock,
    /** The lowest fraction of the configured rate AIMD may fall to. */
    private readonly floor = 1 / 16,
    /** Fraction of the configured rate actually paced at (margin for network jitter). */
    private readonly headroom = 0.97,
  ) {}

  private bucketOf(operation: string): string | undefined {
    if (Object.hasOwn(this.rates, operation)) return operation;
    const g = FLEET_QUOTA_GROUPS[operation];
    return g !== undefined && Object.hasOwn(this.rates, g) ? g : undefined;
  }

  private pacer(scope: string, operation: string): Pacer | undefined {
    const bucket = this.bucketOf(operation);
    if (bucket === undefined) return undefined;
    const key = `${scope}\u0000${bucket}`;
    let p = this.pacers.get(key);
    if (!p) {
      const max = this.rates[bucket]! * this.headroom;
      p = { max, rate: max, next: 0, throttles: 0, admitted: 0 };
      this.pacers.set(key, p);
    }
    return p;
  }

  /** Waits until `operation` may be sent in `scope`. Unlimited operations return at once. */
  async acquire(scope: string, operation: string): Promise<void> {
    const p = this.pacer(scope, operation);
    if (!p) return;
    const t = this.clock.now();
    const slot = Math.max(t, p.next);
    p.next = slot + 1000 / p.rate;
    p.admitted++;
    if (slot > t) await this.clock.sleep(slot - t);
  }

  /** KMS throttled `operation` in `scope`: multiply its rate by 0.85 (not below the floor). */
  throttled(scope: string, operation: string): void {
    const p = this.pacer(scope, operation);
    if (!p) return;
    p.throttles++;
    p.rate = Math.max(p.max * this.floor, p.rate * 0.85);
  }

  /**
   * A request succeeded: add back a fiftieth of the configured rate (not above it). Slow on purpose:
   * when the real quota is far below the configured rate (an account on lower quotas), adding back a
   * tenth overshot the quota after a single success and kept the run in a throttling storm.
   */
  succeeded(scope: string, operation: string): void {
    const p = this.pacer(scope, operation);
    if (!p || p.rate >= p.max) return;
    p.rate = Math.min(p.max, p.rate + p.max / 50);
  }

  /** Current rate, configured rate, admissions and throttles of a scope's operation (for reports and tests). */
  stats(scope: string, operation: string): { rate: number; max: number; admitted: number; throttles: number } | undefined {
    const p = this.pacer(scope, operation);
    return p && { rate: p.rate, max: p.max, admitted: p.admitted, throttles: p.throttles };
  }
}

/** Error codes worth retrying: throttling and transient service or network failures. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['ERR_KMS_THROTTLED', 'ERR_KMS_INTERNAL', 'ERR_KMS_UNREACHABLE']);

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^attempt)). */
export function backoffDelay(attempt: number, random: () => number, baseMs = 100, capMs = 10_000): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

export interface LimitOptions {
  limiter: RateLimiter;
  /** `profile/region`: the account and Region the port talks to. */
  scope: (region: string) => string;
  clock: LimiterClock;
  random?: () => number;
  /** Attempts per call that may end in a transient error (ERR_KMS_INTERNAL, ERR_KMS_UNREACHABLE), including the first (default 8). */
  maxAttempts?: number;
  /**
   * Attempts per call that may be throttled (default 16), counted apart from `maxAttempts`: a
   * throttled call was not carried out, and the pacer slows down with each throttle, so a call keeps
   * its turn while the pace adapts instead of failing its key after a few unlucky draws of the jitter.
   * With the backoff above, a call throttled every time gives up after about 50 s (at most ~100 s).
   */
  maxThrottledAttempts?: number;
  /** Counts retries by operation (reports). */
  onRetry?: (operation: string, code: string) => void;
}

const OPERATIONS: Record<string, string> = {
  createKey: 'CreateKey',
  describeKey: 'DescribeKey',
  getParametersForImport: 'GetParametersForImport',
  importKeyMaterial: 'ImportKeyMaterial',
  deleteImportedKeyMaterial: 'DeleteImportedKeyMaterial',
  createAlias: 'CreateAlias',
  updateAlias: 'UpdateAlias',
  listAliases: 'ListAliases',
  encrypt: 'Encrypt',
  decrypt: 'Decrypt',
  generateMac: 'GenerateMac',
  getPublicKey: 'GetPublicKey',
  sign: 'Sign',
  rotateKeyOnDemand: 'RotateKeyOnDemand',
  listKeyRotations: 'ListKeyRotations',
  replicateKey: 'ReplicateKey',
  listKeys: 'ListKeys',
  tagResource: 'TagResource',
  listResourceTags: 'ListResourceTags',
  getKeyLastUsage: 'GetKeyLastUsage',
  disableKey: 'DisableKey',
  enableKey: 'EnableKey',
  scheduleKeyDeletion: 'ScheduleKeyDeletion',
  cancelKeyDeletion: 'CancelKeyDeletion',
};

/** The last throttle of a call that used up its throttle budget, saying how often it was throttled. */
function throttledOut(e: KmsByokError, times: number): KmsByokError {
  return new KmsByokError(e.code, `${e.message} (throttled ${times} times in a row while the pace slowed down)`, { ...(e.hint ? { hint: e.hint } : {}), cause: e });
}

/**
 * A KmsPort whose every call waits for the limiter and retries throttling and transient errors with
 * backoff (the wrapped port should not retry itself: give it maxAttempts 1). `forRegion` ports are
 * limited the same way, in their own Region's scope.
 */
export function limitKms(port: KmsPort, o: LimitOptions): KmsPort {
  const scope = o.scope(port.region);
  const random = o.random ?? Math.random;
  const maxAttempts = o.maxAttempts ?? 8;
  const maxThrottledAttempts = o.maxThrottledAttempts ?? 16;
  const wrapped: Record<string, unknown> = {
    region: port.region,
    forRegion: async (region: string) => limitKms(await port.forRegion(region), o),
  };
  for (const [method, operation] of Object.entries(OPERATIONS)) {
    const methods = port as unknown as Record<string, ((...a: unknown[]) => Promise<unknown>) | undefined>;
    if (typeof methods[method] !== 'function') continue;
    const fn = methods[method].bind(port);
    wrapped[method] = async (...args: unknown[]) => {
      let throttled = 0;
      let failed = 0;
      for (let attempt = 0; ; attempt++) {
        await o.limiter.acquire(scope, operation);
        try {
          const out = await fn(...args);
          o.limiter.succeeded(scope, operation);
          return out;
        } catch (e) {
          const code = e instanceof KmsByokError ? e.code : undefined;
          if (code === undefined || !RETRYABLE_CODES.has(code)) throw e;
          if (code === 'ERR_KMS_THROTTLED') {
            if (++throttled >= maxThrottledAttempts) throw throttledOut(e as KmsByokError, throttled);
            o.limiter.throttled(scope, operation);
          } else if (++failed >= maxAttempts) throw e;
          o.onRetry?.(operation, code);
          await o.clock.sleep(backoffDelay(attempt, random));
        }
      }
    };
  }
  return wrapped as unknown as KmsPort;
}

/**
 * Runs `work` over `items` with at most `concurrency` in flight per group (e.g. per account and
 * Region, so every Region's quota is used at once); groups run in parallel. Pulls items lazily from
 * each group's list, so nothing per item is held beyond the ones in flight.
 *
 * When `work` throws, no group starts another item; the items in flight finish (resolved or not),
 * and only then does runPool reject, with the first error. So a caller's cleanup after runPool (e.g.
 * zeroing shared secrets) never runs under work still in progress.
 */
export async function runPool<T>(groups: ReadonlyMap<string, readonly T[]>, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const runners: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;
  for (const items of groups.values()) {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < items.length) {
        const item = items[next++]!;
        try {
          await work(item);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    for (let i = 0; i < Math.min(concurrency, items.length); i++) runners.push(worker());
  }
  await Promise.all(runners);
  if (failure !== undefined) throw failure.error;
}
