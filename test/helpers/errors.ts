import { expect } from 'vitest';
import { KmsByokError } from '../../src/core/errors.js';

/** Runs `fn`, which must throw a KmsByokError, and returns it (fails the test otherwise). */
export function thrown(fn: () => unknown): KmsByokError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KmsByokError);
    return e as KmsByokError;
  }
  throw new Error('expected a KmsByokError, nothing was thrown');
}
