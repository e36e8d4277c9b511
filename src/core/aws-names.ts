/**
 * AWS KMS enumerations, spelled exactly as AWS spells them (see the KMS API reference and
 * `@aws-sdk/client-kms` `models/enums`). Kept here, free of SDK imports, so pure modules can use them.
 */

export const KEY_SPECS = [
  'SYMMETRIC_DEFAULT',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ML_KEM_512',
  'ML_KEM_768',
  'ML_KEM_1024',
  'SM2',
] as const;
export type KeySpec = (typeof KEY_SPECS)[number];

export const KEY_USAGES = [
  'ENCRYPT_DECRYPT',
  'SIGN_VERIFY',
  'GENERATE_VERIFY_MAC',
  'KEY_AGREEMENT',
  'ENCAPSULATE_DECAPSULATE',
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

/** Wrapping algorithms kms-byok can produce. SM2PKE (China Regions) and RSAES_PKCS1_V1_5 (refused by KMS) are not. */
export const WRAPPING_ALGORITHMS = [
  'RSAES_OAEP_SHA_1',
  'RSAES_OAEP_SHA_256',
  'RSA_AES_KEY_WRAP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
] as const;
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];

export const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type WrappingKeySpec = (typeof WRAPPING_KEY_SPECS)[number];

export type ExpirationModel = 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
export type ImportType = 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL';
export type KeyState =
  | 'Creating'
  | 'Enabled'
  | 'Disabled'
  | 'PendingDeletion'
  | 'PendingImport'
  | 'PendingReplicaDeletion'
  | 'Unavailable'
  | 'Updating';
export type Origin = 'AWS_KMS' | 'EXTERNAL' | 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE';
export type KeyMaterialState =
  | 'CURRENT'
  | 'NON_CURRENT'
  | 'PENDING_ROTATION'
  | 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION';
export type ImportState = 'IMPORTED' | 'PENDING_IMPORT';

/** AWS caps `ValidTo` at 365 days after the import request. */
export const MAX_VALID_TO_DAYS = 365;
