import { describe, expect, it } from 'vitest';
import { fromSdkError } from './errors.js';

function sdkError(name: string, message: string, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(message), { name, $fault: 'client', ...extra });
}

describe('fromSdkError', () => {
  it('maps KMS exceptions to stable codes with a next step', () => {
    const cases: [string, string][] = [
      ['ExpiredImportTokenException', 'ERR_KMS_IMPORT_TOKEN_EXPIRED'],
      ['InvalidImportTokenException', 'ERR_KMS_IMPORT_TOKEN_INVALID'],
      ['IncorrectKeyMaterialException', 'ERR_KMS_INCORRECT_KEY_MATERIAL'],
      ['InvalidCiphertextException', 'ERR_KMS_INVALID_CIPHERTEXT'],
      ['KMSInvalidStateException', 'ERR_KMS_INVALID_STATE'],
      ['NotFoundException', 'ERR_KMS_NOT_FOUND'],
      ['AlreadyExistsException', 'ERR_KMS_ALREADY_EXISTS'],
      ['ThrottlingException', 'ERR_KMS_THROTTLED'],
      ['AccessDeniedException', 'ERR_KMS_ACCESS_DENIED'],
      ['UnsupportedOperationException', 'ERR_KMS_UNSUPPORTED'],
    ];
    for (const [name, code] of cases) {
      const e = fromSdkError(sdkError(name, 'Something went wrong.'), 'ImportKeyMaterial', 'x');
      expect(e.code, name).toBe(code);
      expect(e.hint, name).toBeTruthy();
      expect(e.message).toBe('ImportKeyMaterial: something went wrong');
    }
    expect(fromSdkError(sdkError('ExpiredImportTokenException', 'x'), 'ImportKeyMaterial', 'x').hint).toMatch(/fresh import parameters/);
  });
  it("names AWS's Health Dashboard only when the target is AWS", () => {
    const unknown = (target: string) => fromSdkError(Object.assign(new Error('boom'), { name: 'WeirdException', $fault: 'server' }), 'DescribeKey', target).hint;
    expect(unknown('AWS KMS in eu-west-1')).toMatch(/AWS Health Dashboard/);
    expect(unknown('https://kms.eu-west-1.amazonaws.com')).toMatch(/AWS Health Dashboard/);
    expect(unknown('http://127.0.0.1:4599')).not.toMatch(/Health Dashboard/);
    expect(unknown('http://127.0.0.1:4599')).toMatch(/127\.0\.0\.1:4599/);
    expect(unknown('https://kms.example.internal')).not.toMatch(/Health Dashboard/);
  });
  it('maps socket errors to ERR_KMS_UNREACHABLE naming the target', () => {
    const e = fromSdkError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }), 'CreateKey', 'http://127.0.0.1:9');
    expect(e.code).toBe('ERR_KMS_UNREACHABLE');
    expect(e.message).toBe('cannot reach KMS at http://127.0.0.1:9 (ECONNREFUSED)');
    expect(e.exitCode).toBe(1);
  });
  it('maps missing credentials and a missing region', () => {
    expect(fromSdkError(sdkError('CredentialsProviderError', 'Could not load credentials from any providers'), 'CreateKey', 'x').code).toBe('ERR_KMS_CREDENTIALS');
    const r = fromSdkError(new Error('Region is missing'), 'configuration', 'x');
    expect(r.code).toBe('ERR_MISSING_INPUT');
    expect(r.exitCode).toBe(2);
  });
  it('keeps unknown failures as ERR_KMS', () => {
    expect(fromSdkError(new Error('weird'), 'CreateKey', 'x').code).toBe('ERR_KMS');
  });
});
