/**
 * The fleet rate limiter (src/fleet/limiter.ts): its rate bound as a property, AIMD, backoff
 * with full jitter, retries through limitKms, and defaults equal to the emulator's documented quotas.
 */
import { describe, expect, it } from 'vitest';
import { fc, test as prop } from '@fast-check/vitest';
import { KmsByokError } from '../../src/core/errors.js';
import { FLEET_DEFAULT_QUOTAS, RateLimiter, backoffDelay, limitKms, resolveRates, runPool } from '../../src/fleet/limiter.js';
import { KMS_DEFAULT_QUOTAS } from '../../src/emulator/index.js';
import type { KmsPort } from '../../src/kms/port.js';

const RUNS = process.env.SLOW ? 1000 : 100;

/** A virtual clock: `now` is set by the test; sleeps record when the request really goes. */
function virtual(): { t: number; clock: { now: () => number; sleep: (ms: number) => Promise<void> }; starts: number[] } {
  const v = {
    t: 0,
    starts: [] as number[],
    clock: {
      now: () => v.t,
      sleep: async (ms: number) => {
        v.starts.push(v.t + ms);
      },
    },
  };
  return v;
}

describe('fleet rate limiter', () => {
  it('client defaults equal the emulator\'s KMS_DEFAULT_QUOTAS for every operation kms-byok calls', () => {
    for (const [op, rate] of Object.entries(FLEET_DEFAULT_QUOTAS)) expect([op, KMS_DEFAULT_QUOTAS[op]]).toEqual([op, rate]);
  });

  prop.prop([fc.double({ min: 0.2, max: 500, noNaN: true }), fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 200 })], { numRuns: RUNS })(
    'never admits more than 1 + T·rate/1000 requests of one scope and operation in any window of T ms',
    async (rate, gaps) => {
      const v = virtual();
      const limiter = new RateLimiter({ GetParametersForImport: rate }, v.clock);
      for (const g of gaps) {
        v.t += g;
        const before = v.starts.length;
        await limiter.acquire('a/us-east-1', 'GetParametersForImport');
        if (v.starts.length === before) v.starts.push(v.t);
      }
      const s = [...v.starts].sort((a, b) => a - b);
      for (let i = 0; i < s.length; i++) {
        for (let j = i + 1; j < s.length; j++) {
          const window = s[j]! - s[i]!;
          expect(j - i + 1).toBeLessThanOrEqual(1 + (window * rate) / 1000 + 1e-6);
        }
      }
    },
  );

  it('scopes and operations are paced independently; unlimited operations do not wait', async () => {
    const v = virtual();
    const limiter = new RateLimiter({ GetParametersForImport: 1 }, v.clock);
    await limiter.acquire('a/us-east-1', 'GetParametersForImport');
    await limiter.acquire('a/eu-west-1', 'GetParametersForImport');
    await limiter.acquire('b/us-east-1', 'GetParametersForImport');
    await limiter.acquire('a/us-east-1', 'DescribeKey');
    expect(v.starts).toEqual([]);
    await limiter.acquire('a/us-east-1', 'GetParametersForImport');
    expect(v.starts).toHaveLength(1);
    expect(v.starts[0]).toBeCloseTo(1000 / 0.97);
  });

  it('cuts the rate by 0.85 when throttled, down to the floor, and climbs back additively to the configured rate', () => {
    const limiter = new RateLimiter({ ImportKeyMaterial: 16 }, virtual().clock, 1 / 16, 1);
    limiter.throttled('s', 'ImportKeyMaterial');
    expect(limiter.stats('s', 'ImportKeyMaterial')!.rate).toBeCloseTo(13.6);
    for (let i = 0; i < 40; i++) limiter.throttled('s', 'ImportKeyMaterial');
    expect(limiter.stats('s', 'ImportKeyMaterial')).toMatchObject({ rate: 1, max: 16, throttles: 41 });
    limiter.succeeded('s', 'ImportKeyMaterial');
    expect(limiter.stats('s', 'ImportKeyMaterial')!.rate).toBeCloseTo(1 + 16 / 50);
    for (let i = 0; i < 100; i++) limiter.succeeded('s', 'ImportKeyMaterial');
    expect(limiter.stats('s', 'ImportKeyMaterial')!.rate).toBe(16);
    expect(new RateLimiter({ ImportKeyMaterial: 10 }, virtual().clock).stats('s', 'ImportKeyMaterial')!.max).toBeCloseTo(9.7);
  });

  prop.prop([fc.nat({ max: 30 }), fc.double({ min: 0, max: 0.999999, noNaN: true })], { numRuns: RUNS })('backoff is full jitter below min(cap, base·2^attempt)', (attempt, r) => {
    const d = backoffDelay(attempt, () => r, 100, 10_000);
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThan(Math.min(10_000, 100 * 2 ** attempt));
  });

  it('--rate overrides and --rate-scale; bad values are refused', () => {
    expect(resolveRates(['GetParametersForImport=20'], 2)).toMatchObject({ GetParametersForImport: 20, ImportKeyMaterial: 30 });
    expect(() => resolveRates(['Nope=1'])).toThrow(/invalid --rate "Nope=1"/);
    expect(() => resolveRates(['ImportKeyMaterial=0'])).toThrow(/invalid --rate/);
    expect(() => resolveRates([], 0)).toThrow(/--rate-scale/);
  });

  it('limitKms retries ThrottlingException and transient errors, adapts down, and passes other errors through', async () => {
    const v = virtual();
    const limiter = new RateLimiter({ DescribeKey: 100 }, v.clock);
    let calls = 0;
    const port = {
      region: 'us-east-1',
      forRegion: async () => port,
      describeKey: async () => {
        calls++;
        if (calls === 1) throw new KmsByokError('ERR_KMS_THROTTLED', 'rate exceeded');
        if (calls === 2) throw new KmsByokError('ERR_KMS_INTERNAL', 'internal');
        return { KeyId: 'k' };
      },
      listKeys: async () => {
        throw new KmsByokError('ERR_KMS_ACCESS_DENIED', 'no');
      },
    } as unknown as KmsPort;
    const retries: string[] = [];
    const kms = limitKms(port, { limiter, scope: (r) => `p/${r}`, clock: v.clock, random: () => 0.5, onRetry: (op, code) => retries.push(`${op} ${code}`) });
    await expect(kms.describeKey('k')).resolves.toMatchObject({ KeyId: 'k' });
    expect(retries).toEqual(['DescribeKey ERR_KMS_THROTTLED', 'DescribeKey ERR_KMS_INTERNAL']);
    expect(limiter.stats('p/us-east-1', 'DescribeKey')!.throttles).toBe(1);
    await expect(kms.listKeys()).rejects.toMatchObject({ code: 'ERR_KMS_ACCESS_DENIED' });
    const always = limitKms({ ...port, describeKey: async () => { throw new KmsByokError('ERR_KMS_THROTTLED', 'x'); } } as KmsPort, { limiter, scope: () => 's', clock: v.clock, maxThrottledAttempts: 3 });
    await expect(always.describeKey('k')).rejects.toMatchObject({ code: 'ERR_KMS_THROTTLED' });
  });

  it('limitKms: throttles have their own budget (default 16), so a call throttled more often than maxAttempts still completes; transient errors keep maxAttempts; the two are counted apart', async () => {
    const v = virtual();
    const limiter = new RateLimiter({ DescribeKey: 100 }, v.clock);
    let throttles = 0;
    let internals = 0;
    const port = {
      region: 'us-east-1',
      forRegion: async () => port,
      describeKey: async () => {
        if (throttles < 12) {
          throttles++;
          throw new KmsByokError('ERR_KMS_THROTTLED', 'rate exceeded');
        }
        return { KeyId: 'k' };
      },
      listKeys: async () => {
        internals++;
        throw new KmsByokError('ERR_KMS_INTERNAL', 'internal');
      },
    } as unknown as KmsPort;
    const kms = limitKms(port, { limiter, scope: () => 's', clock: v.clock, random: () => 0.5, maxAttempts: 8 });
    await expect(kms.describeKey('k')).resolves.toMatchObject({ KeyId: 'k' });
    expect(throttles).toBe(12);
    expect(limiter.stats('s', 'DescribeKey')!.throttles).toBe(12);
    await expect(kms.listKeys()).rejects.toMatchObject({ code: 'ERR_KMS_INTERNAL' });
    expect(internals).toBe(8);

    // Always throttled: 16 attempts by default, and the error says so.
    let tries = 0;
    const always = limitKms({ ...port, describeKey: async () => { tries++; throw new KmsByokError('ERR_KMS_THROTTLED', 'rate exceeded', { hint: 'slow down' }); } } as KmsPort, { limiter, scope: () => 't', clock: v.clock, random: () => 0.5 });
    await expect(always.describeKey('k')).rejects.toMatchObject({ code: 'ERR_KMS_THROTTLED', hint: 'slow down', message: 'rate exceeded (throttled 16 times in a row while the pace slowed down)' });
    expect(tries).toBe(16);

    // Mixed: 7 transient errors and 15 throttles, interleaved, still within both budgets.
    let n = 0;
    const mixed = limitKms({ ...port, describeKey: async () => {
      n++;
      if (n <= 14) throw new KmsByokError(n % 2 === 1 ? 'ERR_KMS_INTERNAL' : 'ERR_KMS_THROTTLED', 'x');
      if (n <= 22) throw new KmsByokError('ERR_KMS_THROTTLED', 'x');
      return { KeyId: 'k' };
    } } as unknown as KmsPort, { limiter, scope: () => 'm', clock: v.clock, random: () => 0.5 });
    await expect(mixed.describeKey('k')).resolves.toMatchObject({ KeyId: 'k' });
    expect(n).toBe(23);
  });

  it('limitKms forwards TagResource and ListResourceTags, each paced by its own quota and retried when throttled', async () => {
    const v = virtual();
    const limiter = new RateLimiter(resolveRates([]), v.clock);
    const tagged: unknown[] = [];
    let listCalls = 0;
    const port = {
      region: 'us-east-1',
      forRegion: async () => port,
      tagResource: async (keyId: string, tags: unknown) => {
        tagged.push([keyId, tags]);
      },
      listResourceTags: async () => {
        if (++listCalls === 1) throw new KmsByokError('ERR_KMS_THROTTLED', 'rate exceeded');
        return [{ TagKey: 'a', TagValue: 'b' }];
      },
    } as unknown as KmsPort;
    const kms = limitKms(port, { limiter, scope: (r) => `p/${r}`, clock: v.clock, random: () => 0 });
    await kms.tagResource('k', [{ TagKey: 'a', TagValue: 'b' }]);
    expect(tagged).toEqual([['k', [{ TagKey: 'a', TagValue: 'b' }]]]);
    await expect(kms.listResourceTags('k')).resolves.toEqual([{ TagKey: 'a', TagValue: 'b' }]);
    expect(limiter.stats('p/us-east-1', 'TagResource')).toMatchObject({ admitted: 1, max: 10 * 0.97 });
    expect(limiter.stats('p/us-east-1', 'ListResourceTags')).toMatchObject({ admitted: 2, throttles: 1, max: 2000 * 0.97 });
  });

  it('runPool keeps at most `concurrency` in flight per group and runs groups in parallel', async () => {
    const inFlight = new Map<string, number>();
    let peak = 0;
    let groupsAtOnce = 0;
    const groups = new Map<string, [string, number][]>([['a', Array.from({ length: 20 }, (_, i): [string, number] => ['a', i])], ['b', Array.from({ length: 20 }, (_, i): [string, number] => ['b', i])]]);
    await runPool(groups, 3, async ([g]) => {
      inFlight.set(g, (inFlight.get(g) ?? 0) + 1);
      peak = Math.max(peak, inFlight.get(g)!);
      groupsAtOnce = Math.max(groupsAtOnce, [...inFlight.values()].filter((n) => n > 0).length);
      await new Promise((r) => setTimeout(r, 1));
      inFlight.set(g, inFlight.get(g)! - 1);
    });
    expect(peak).toBe(3);
    expect(groupsAtOnce).toBe(2);
  });

  it('runPool: after a throw no item starts, in-flight items finish, then it rejects with the first error', async () => {
    const groups = new Map<string, number[]>([['a', Array.from({ length: 10 }, (_, i) => i)], ['b', Array.from({ length: 10 }, (_, i) => 100 + i)]]);
    const started: number[] = [];
    let inFlight = 0;
    let inFlightAtReject = -1;
    const pool = runPool(groups, 2, async (n) => {
      started.push(n);
      inFlight++;
      try {
        if (n === 1) throw new Error('disk full');
        await new Promise((r) => setTimeout(r, n === 100 ? 30 : 5));
      } finally {
        inFlight--;
      }
    });
    await expect(pool.finally(() => (inFlightAtReject = inFlight))).rejects.toThrow('disk full');
    expect(inFlightAtReject).toBe(0);
    expect(started.sort((x, y) => x - y)).toEqual([0, 1, 100, 101]);
  });
});
