/**
 * What the ceremony unit tests over stub ports share: the symmetric EXTERNAL key they describe.
 * Test-only (never imported by the product; tsconfig.build.json leaves test files out).
 */
import type { KeyInfo } from '../kms/port.js';

/** An Enabled SYMMETRIC_DEFAULT key with imported material, as DescribeKey would show it. */
export const STUB_KEY: KeyInfo = {
  KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
  Arn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  KeyState: 'Enabled',
  KeySpec: 'SYMMETRIC_DEFAULT',
  KeyUsage: 'ENCRYPT_DECRYPT',
  Origin: 'EXTERNAL',
  Enabled: true,
  AccountId: '111122223333',
  Region: 'us-east-1',
};
