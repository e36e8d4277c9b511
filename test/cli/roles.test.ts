/**
 * The shared role credentials (src/cli/roles.ts): one AssumeRole for concurrent callers, reused until
 * shortly before expiry, fetched again after; a failure is not kept.
 */
import { describe, expect, it } from 'vitest';
import { REFRESH_BEFORE_MS, sharedCredentials, type AwsCredentials } from '../../src/cli/roles.js';

describe('sharedCredentials', () => {
  it('shares one fetch, refreshes before expiry, and retries after a failure', async () => {
    let now = 1_000_000;
    let calls = 0;
    let fail = false;
    const inner = async (): Promise<AwsCredentials> => {
      calls++;
      if (fail) throw new Error('AccessDenied');
      return { accessKeyId: `ASIA${calls}`, secretAccessKey: 's', expiration: new Date(now + 3_600_000) };
    };
    const shared = sharedCredentials(inner, () => now);
    const [a, b] = await Promise.all([shared(), shared()]);
    expect(calls).toBe(1);
    expect(a).toBe(b);
    now += 3_600_000 - REFRESH_BEFORE_MS - 1;
    expect((await shared()).accessKeyId).toBe('ASIA1');
    now += 1;
    expect((await shared()).accessKeyId).toBe('ASIA2');
    now += 3_600_000;
    fail = true;
    await expect(shared()).rejects.toThrow('AccessDenied');
    fail = false;
    expect((await shared()).accessKeyId).toBe('ASIA4');
  });
});
