/**
 * The synchronous recipient check (src/escrow/recipient-syntax.ts) that lets `parseRecipient` run
 * without loading age-encryption must agree with age-encryption itself: on fresh X25519 and hybrid
 * recipients, and on every kind of damage — one character changed, dropped or added, case changed,
 * truncated, a payload of the wrong length with a valid checksum.
 */
import * as age from 'age-encryption';
import { bech32 } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidRecipientSyntax, x25519IdentityScalar } from '../../src/escrow/recipient-syntax.js';

/** age-encryption accepts `s` as a recipient of the kinds kms-byok takes (tag recipients are refused before: seal.ts). */
function ageAccepts(s: string): boolean {
  if (s.startsWith('age1tag')) return false;
  try {
    new age.Encrypter().addRecipient(s);
    return true;
  } catch {
    return false;
  }
}

const CHARS = 'qpzry9x8gf2tvdw0s3jn54khce6mua7lQPbio1-_ ';

describe('isValidRecipientSyntax agrees with age-encryption', async () => {
  const x25519 = await Promise.all([0, 1, 2].map(async () => age.identityToRecipient(await age.generateX25519Identity())));
  const hybrid = await age.identityToRecipient(await age.generateHybridIdentity());
  const valid = [...x25519, hybrid];

  it('accepts what age-encryption generates', () => {
    for (const r of valid) {
      expect(ageAccepts(r)).toBe(true);
      expect(isValidRecipientSyntax(r)).toBe(true);
    }
  });

  it('agrees on damaged recipients (changed, dropped, inserted characters; case; truncation)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.nat(),
        fc.constantFrom(...CHARS),
        fc.constantFrom('change', 'drop', 'insert', 'upper', 'truncate'),
        (r, at, c, how) => {
          const i = at % r.length;
          const damaged =
            how === 'change' ? r.slice(0, i) + c + r.slice(i + 1)
            : how === 'drop' ? r.slice(0, i) + r.slice(i + 1)
            : how === 'insert' ? r.slice(0, i) + c + r.slice(i)
            : how === 'upper' ? r.slice(0, i) + r.slice(i).toUpperCase()
            : r.slice(0, i);
          expect(isValidRecipientSyntax(damaged), damaged).toBe(ageAccepts(damaged));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('agrees on well-formed Bech32 of the wrong length or prefix', () => {
    const cases = [
      bech32.encodeFromBytes('age', new Uint8Array(31)),
      bech32.encodeFromBytes('age', new Uint8Array(33)),
      bech32.encodeFromBytes('age', new Uint8Array(32)),
      bech32.encode('age1pq', bech32.toWords(new Uint8Array(1215)), false),
      bech32.encode('age1pq', bech32.toWords(new Uint8Array(1216)), false),
      bech32.encodeFromBytes('agf', new Uint8Array(32)),
      bech32.encodeFromBytes('age1tag', new Uint8Array(33)),
    ];
    for (const s of cases) expect(isValidRecipientSyntax(s), s).toBe(ageAccepts(s));
    expect(cases.filter(isValidRecipientSyntax)).toEqual([cases[2], cases[4]]);
  });
});

describe('x25519IdentityScalar (the identity seal.ts imports once as a WebCrypto key)', () => {
  it('decodes an age identity to the scalar age itself uses: the imported key has the same recipient', async () => {
    for (let i = 0; i < 3; i++) {
      const identity = await age.generateX25519Identity();
      const scalar = x25519IdentityScalar(identity)!;
      expect(scalar).toHaveLength(32);
      const pkcs8 = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20, ...scalar]);
      const key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']);
      expect(await age.identityToRecipient(key as never)).toBe(await age.identityToRecipient(identity));
    }
  });

  it('gives nothing for a damaged, lower-case or hybrid identity (age then reports it)', async () => {
    const identity = await age.generateX25519Identity();
    const damaged = `${identity.slice(0, 20)}${identity[20] === 'Q' ? 'P' : 'Q'}${identity.slice(21)}`;
    expect(x25519IdentityScalar(damaged)).toBeUndefined();
    expect(x25519IdentityScalar(identity.toLowerCase())).toBeUndefined();
    expect(x25519IdentityScalar(await age.generateHybridIdentity())).toBeUndefined();
    expect(x25519IdentityScalar('AGE-SECRET-KEY-1')).toBeUndefined();
  });
});
