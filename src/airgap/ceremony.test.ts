/** Bundle format v1: canonical fingerprint, strict parsing, and the refusals with their codes. */
import { describe, expect, it } from 'vitest';
import { bundleFingerprint, parseBundle, serializeBundle, type ParametersBundle } from './ceremony.js';

const body: Omit<ParametersBundle, 'sha256'> = {
  format: 'kms-byok-parameters',
  version: 1,
  createdAt: '2026-11-22T10:00:00Z',
  key: {
    keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
    region: 'eu-west-1',
    accountId: '111122223333',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    multiRegion: false,
    alias: 'alias/payments',
  },
  WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
  WrappingKeySpec: 'RSA_4096',
  PublicKey: 'AAAA',
  ImportToken: 'BBBB',
  ParametersValidTo: '2026-11-23T10:00:00Z',
  expiry: { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ExpiresInSeconds: 86400 },
};
const bundle: ParametersBundle = { ...body, sha256: bundleFingerprint(body) };
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const edited = (edit: (b: Record<string, unknown>) => void, refingerprint = true) => {
  const b = JSON.parse(JSON.stringify(bundle)) as Record<string, unknown>;
  edit(b);
  if (refingerprint) b.sha256 = bundleFingerprint(b as never);
  return bytes(b);
};

describe('bundle format v1', () => {
  it('round-trips: serialize → parse gives the same bundle, fingerprint included', () => {
    expect(parseBundle(serializeBundle(bundle), 'p.json')).toEqual(bundle);
  });

  it('the fingerprint is SHA-256 over the canonical JSON without sha256 (a known answer)', () => {
    expect(bundle.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(bundleFingerprint({ ...bundle, sha256: 'ignored' })).toBe(bundle.sha256);
  });

  it('refuses a changed field whose fingerprint was not recomputed: ERR_BUNDLE_TAMPERED', () => {
    expect(() => parseBundle(edited((b) => void (b.ImportToken = 'CCCC'), false), 'p.json')).toThrow(expect.objectContaining({ code: 'ERR_BUNDLE_TAMPERED' }));
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{'), /not JSON/],
    ['another format', bytes({ ...bundle, format: 'other' }), /format is not/],
    ['version 2', bytes({ ...bundle, version: 2 }), /version 2 is not supported/],
    ['an unknown field', edited((b) => void (b.extra = 1)), /unknown field bundle.extra/],
    ['a missing field', edited((b) => void delete b.ImportToken), /missing field bundle.ImportToken/],
    ['an unknown wrapping algorithm', edited((b) => void (b.WrappingAlgorithm = 'RSAES_PKCS1_V1_5')), /WrappingAlgorithm is not one of/],
    ['a key id that disagrees with the ARN', edited((b) => void ((b.key as Record<string, unknown>).keyId = 'other')), /key ARN, id, Region and account disagree/],
    ['a time without a zone', edited((b) => void (b.ParametersValidTo = '2026-11-23 10:00')), /ParametersValidTo is not valid/],
  ])('refuses %s: ERR_BUNDLE_FORMAT', (_name, input, message) => {
    expect(() => parseBundle(input, 'p.json')).toThrow(expect.objectContaining({ code: 'ERR_BUNDLE_FORMAT', message: expect.stringMatching(message) }));
  });
});
