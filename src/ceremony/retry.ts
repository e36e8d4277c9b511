import { KmsByokError } from '../core/errors.js';

/**
 * Retries `fn` while it fails with ERR_KMS_NOT_FOUND: KMS is eventually consistent, so a key can be
 * briefly invisible right after CreateKey (Terraform's AWS provider retries the same way).
 * Precondition: only used for calls on a key this ceremony has just created.
 */
export async function retryWhileNotFound<T>(
  fn: () => Promise<T>,
  sleep: (ms: number) => Promise<void>,
  delaysMs: readonly number[] = [250, 500, 1000, 2000, 4000],
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const delay = delaysMs[attempt];
      if (!(e instanceof KmsByokError) || e.code !== 'ERR_KMS_NOT_FOUND' || delay === undefined) throw e;
      await sleep(delay);
    }
  }
}
