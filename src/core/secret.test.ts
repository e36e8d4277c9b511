import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SecretBytes, zero } from './secret.js';

describe('SecretBytes', () => {
  it('never prints its bytes', () => {
    const s = SecretBytes.copyOf(Uint8Array.from([0xde, 0xad, 0xbe, 0xef]));
    const shown = [String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ nested: s })].join(' ');
    expect(shown).not.toMatch(/dead|beef|222|173/i);
    expect(shown).toContain('[redacted]');
  });
  it('take() copies and zeroes the source; dispose() zeroes its own copy', () => {
    const src = Uint8Array.from([1, 2, 3]);
    const s = SecretBytes.take(src);
    expect([...src]).toEqual([0, 0, 0]);
    let lent: Uint8Array | undefined;
    s.use((b) => {
      lent = b;
      expect([...b]).toEqual([1, 2, 3]);
    });
    s.dispose();
    expect([...lent!]).toEqual([0, 0, 0]);
    expect(s.disposed).toBe(true);
    expect(() => s.use(() => 0)).toThrow(/after dispose/);
  });
  it('copyOf() leaves the source, clone() is independent, equals() compares content', () => {
    const src = Uint8Array.from([9, 9]);
    const a = SecretBytes.copyOf(src);
    expect([...src]).toEqual([9, 9]);
    const b = a.clone();
    a.dispose();
    expect(b.use((x) => [...x])).toEqual([9, 9]);
    expect(b.equals(SecretBytes.copyOf(Uint8Array.from([9, 9])))).toBe(true);
    expect(b.equals(SecretBytes.copyOf(Uint8Array.from([9, 8])))).toBe(false);
    expect(b.equals(SecretBytes.copyOf(Uint8Array.from([9])))).toBe(false);
  });
  it('zero() fills every buffer given', () => {
    const a = Uint8Array.from([1]);
    const b = Uint8Array.from([2, 3]);
    zero(a, undefined, b);
    expect([...a, ...b]).toEqual([0, 0, 0]);
  });
});
