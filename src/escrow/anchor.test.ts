import { describe, expect, it } from 'vitest';
import { SecretBytes } from '../core/secret.js';
import { anchorDescription, anchorFingerprint, anchorsFromTags, ANCHOR_RE } from './anchor.js';

const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

describe('anchorFingerprint', () => {
  it('matches the value computed independently with openssl', () => {
    // printf 'kms-byok escrow anchor v1\0%s\0%s' 1234abcd-12ab-34cd-56ef-1234567890ab 2 \
    //   | openssl dgst -sha256 -mac HMAC -macopt hexkey:0001…1e1f -binary | base64 | tr '+/' '-_' | tr -d '='
    const fp = anchorFingerprint(SecretBytes.copyOf(Buffer.from(KEY_HEX, 'hex')), KEY_ID, 2);
    expect(fp).toBe('1gtItovEJYesKY9PZiJFO2KUWdU1w9ZRFYTUgZf34pY');
    expect(ANCHOR_RE.test(fp)).toBe(true);
    expect(anchorDescription(fp).length).toBeLessThanOrEqual(256);
  });

  it('binds the key id and the material index', () => {
    const m = SecretBytes.copyOf(Buffer.from(KEY_HEX, 'hex'));
    const a = anchorFingerprint(m, KEY_ID, 1);
    expect(anchorFingerprint(m, KEY_ID, 2)).not.toBe(a);
    expect(anchorFingerprint(m, KEY_ID.replace('1234abcd', '1234abce'), 1)).not.toBe(a);
    expect(() => anchorFingerprint(m, KEY_ID, 0)).toThrow(RangeError);
  });

  it('reads anchors from tags and reports malformed ones instead of ignoring them', () => {
    const fp = '1gtItovEJYesKY9PZiJFO2KUWdU1w9ZRFYTUgZf34pY';
    const { anchors, malformed } = anchorsFromTags([
      { TagKey: 'kms-byok:material-1', TagValue: fp },
      { TagKey: 'kms-byok:material-2', TagValue: 'short' },
      { TagKey: 'kms-byok:material-x', TagValue: fp },
      { TagKey: 'kms-byok:ceremony', TagValue: 'abc' },
    ]);
    expect([...anchors]).toEqual([[1, fp]]);
    expect(malformed).toEqual(['kms-byok:material-2', 'kms-byok:material-x']);
  });
});
