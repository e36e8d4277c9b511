/**
 * Key specs: which usages each allows, the algorithms KMS reports for it, and what its material is.
 *
 * Contracts:
 * - {@link SPECS} is the single table of supported key specs; CreateKey rejects anything else.
 * - {@link checkImportedMaterial} accepts exactly what AWS documents in "Requirements for imported key
 *   material" (https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-conceptual.html#importing-keys-material-requirements):
 *   SYMMETRIC_DEFAULT 256 bits; HMAC_224/256/384/512 from the spec's length up to 1024 bits; RSA and ECC
 *   private keys as PKCS#8 (DER) of the key's modulus size / named curve. It returns the canonical
 *   material (asymmetric keys re-encoded as PKCS#8 DER) so "same material" compares meaningfully.
 * - {@link keyMaterialId} is 64 lowercase hex derived from key id + material, so the same bytes in two
 *   keys get two ids, and multi-Region related keys (which share a key id) get the same id.
 */
import { createHmac, createPrivateKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import type { KeySpec, KeyUsage } from './state.js';

export interface SpecInfo {
  kind: 'symmetric' | 'hmac' | 'rsa' | 'ecc';
  /** Allowed KeyUsage values; the first is the default where AWS has one (SYMMETRIC_DEFAULT only). */
  usages: readonly KeyUsage[];
  /** HMAC: allowed material lengths in bytes. */
  hmacBytes?: { min: number; max: number };
  /** HMAC: the one MAC algorithm of the spec. */
  macAlgorithm?: string;
  /** RSA: modulus bits. */
  rsaBits?: number;
  /** ECC: the node:crypto / OpenSSL curve name. */
  curve?: string;
  /** ECC: the one ECDSA algorithm of the spec. */
  ecdsaAlgorithm?: string;
}

const RSA_USAGES: readonly KeyUsage[] = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'];
const NIST_USAGES: readonly KeyUsage[] = ['SIGN_VERIFY', 'KEY_AGREEMENT'];

/** Supported key specs. */
export const SPECS: Readonly<Record<KeySpec, SpecInfo>> = {
  SYMMETRIC_DEFAULT: { kind: 'symmetric', usages: ['ENCRYPT_DECRYPT'] },
  HMAC_224: { kind: 'hmac', usages: ['GENERATE_VERIFY_MAC'], hmacBytes: { min: 28, max: 128 }, macAlgorithm: 'HMAC_SHA_224' },
  HMAC_256: { kind: 'hmac', usages: ['GENERATE_VERIFY_MAC'], hmacBytes: { min: 32, max: 128 }, macAlgorithm: 'HMAC_SHA_256' },
  HMAC_384: { kind: 'hmac', usages: ['GENERATE_VERIFY_MAC'], hmacBytes: { min: 48, max: 128 }, macAlgorithm: 'HMAC_SHA_384' },
  HMAC_512: { kind: 'hmac', usages: ['GENERATE_VERIFY_MAC'], hmacBytes: { min: 64, max: 128 }, macAlgorithm: 'HMAC_SHA_512' },
  RSA_2048: { kind: 'rsa', usages: RSA_USAGES, rsaBits: 2048 },
  RSA_3072: { kind: 'rsa', usages: RSA_USAGES, rsaBits: 3072 },
  RSA_4096: { kind: 'rsa', usages: RSA_USAGES, rsaBits: 4096 },
  ECC_NIST_P256: { kind: 'ecc', usages: NIST_USAGES, curve: 'prime256v1', ecdsaAlgorithm: 'ECDSA_SHA_256' },
  ECC_NIST_P384: { kind: 'ecc', usages: NIST_USAGES, curve: 'secp384r1', ecdsaAlgorithm: 'ECDSA_SHA_384' },
  ECC_NIST_P521: { kind: 'ecc', usages: NIST_USAGES, curve: 'secp521r1', ecdsaAlgorithm: 'ECDSA_SHA_512' },
  ECC_SECG_P256K1: { kind: 'ecc', usages: ['SIGN_VERIFY'], curve: 'secp256k1', ecdsaAlgorithm: 'ECDSA_SHA_256' },
};

/** Every key spec in the KMS API; the ones missing from {@link SPECS} are refused as unsupported. */
export const ALL_AWS_KEY_SPECS = [
  ...Object.keys(SPECS),
  'ECC_NIST_EDWARDS25519',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ML_KEM_512',
  'ML_KEM_768',
  'ML_KEM_1024',
  'SM2',
] as const;

export const RSA_SIGNING_ALGORITHMS = [
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
] as const;
export const RSA_ENCRYPTION_ALGORITHMS = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;

/** The algorithm lists KeyMetadata / GetPublicKey report for a key, as AWS gives them. */
export function algorithmsOf(spec: KeySpec, usage: KeyUsage): {
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
} {
  const info = SPECS[spec];
  switch (usage) {
    case 'ENCRYPT_DECRYPT':
      return { EncryptionAlgorithms: info.kind === 'symmetric' ? ['SYMMETRIC_DEFAULT'] : [...RSA_ENCRYPTION_ALGORITHMS] };
    case 'SIGN_VERIFY':
      return { SigningAlgorithms: info.kind === 'rsa' ? [...RSA_SIGNING_ALGORITHMS] : [info.ecdsaAlgorithm!] };
    case 'GENERATE_VERIFY_MAC':
      return { MacAlgorithms: [info.macAlgorithm!] };
    case 'KEY_AGREEMENT':
      return { KeyAgreementAlgorithms: ['ECDH'] };
  }
}

/** The material is not acceptable for the key spec; the message says why. */
export class MaterialRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MaterialRejected';
  }
}

function parsePkcs8(der: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch {
    throw new MaterialRejected('asymmetric key material must be an unencrypted PKCS#8 private key (DER)');
  }
}

/**
 * Checks imported plaintext `material` against `spec` and returns its canonical form.
 * @throws MaterialRejected when the material does not fit the key spec
 */
export function checkImportedMaterial(spec: KeySpec, material: Buffer): Buffer {
  const info = SPECS[spec];
  switch (info.kind) {
    case 'symmetric':
      if (material.length !== 32) throw new MaterialRejected(`SYMMETRIC_DEFAULT key material must be 256 bits (32 bytes), not ${material.length} bytes`);
      return Buffer.from(material);
    case 'hmac': {
      const { min, max } = info.hmacBytes!;
      if (material.length < min || material.length > max) {
        throw new MaterialRejected(`${spec} key material must be ${min * 8} to ${max * 8} bits, not ${material.length * 8}`);
      }
      return Buffer.from(material);
    }
    case 'rsa': {
      const key = parsePkcs8(material);
      if (key.asymmetricKeyType !== 'rsa') throw new MaterialRejected(`${spec} key material must be an RSA private key, not ${key.asymmetricKeyType ?? 'unknown'}`);
      const bits = key.asymmetricKeyDetails?.modulusLength;
      if (bits !== info.rsaBits) throw new MaterialRejected(`${spec} key material must have a ${info.rsaBits}-bit modulus, not ${bits ?? 'unknown'}`);
      return key.export({ format: 'der', type: 'pkcs8' });
    }
    case 'ecc': {
      const key = parsePkcs8(material);
      if (key.asymmetricKeyType !== 'ec') throw new MaterialRejected(`${spec} key material must be an EC private key, not ${key.asymmetricKeyType ?? 'unknown'}`);
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve !== info.curve) throw new MaterialRejected(`${spec} key material must be on curve ${info.curve}, not ${curve ?? 'explicit parameters'}`);
      return key.export({ format: 'der', type: 'pkcs8' });
    }
  }
}

/** 64 lowercase hex: HMAC-SHA256 keyed by the key id, over the canonical material. */
export function keyMaterialId(keyId: string, canonicalMaterial: Uint8Array): string {
  return createHmac('sha256', Buffer.from(`kms-byok-emulator/key-material-id/v1/${keyId}`, 'utf8')).update(canonicalMaterial).digest('hex');
}

/** Generates material for an AWS_KMS-origin key (async for asymmetric specs, so RSA-4096 does not block). */
export async function generateMaterial(spec: KeySpec): Promise<Buffer> {
  const info = SPECS[spec];
  switch (info.kind) {
    case 'symmetric':
      return randomBytes(32);
    case 'hmac':
      return randomBytes(info.hmacBytes!.min);
    case 'rsa':
      return new Promise((resolve, reject) => {
        generateKeyPair('rsa', { modulusLength: info.rsaBits!, publicExponent: 0x10001 }, (err, _pub, priv) => {
          if (err) reject(err);
          else resolve(priv.export({ format: 'der', type: 'pkcs8' }));
        });
      });
    case 'ecc':
      return new Promise((resolve, reject) => {
        generateKeyPair('ec', { namedCurve: info.curve! }, (err, _pub, priv) => {
          if (err) reject(err);
          else resolve(priv.export({ format: 'der', type: 'pkcs8' }));
        });
      });
  }
}
