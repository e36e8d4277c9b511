/**
 * Proof that KMS holds the same key as the escrow, per kind of key (docs/lifecycle.md):
 * - symmetric: Encrypt/Decrypt round trip, and (optionally) a re-import of the escrowed material
 *   passing its `KeyMaterialId`, which KMS accepts only for the very same material;
 * - HMAC: `GenerateMac` in KMS equals the HMAC computed locally over a random message;
 * - asymmetric: `GetPublicKey` equals the public key derived from the material, and for signing keys a
 *   `Sign` from KMS verifies locally.
 */
import { constants, createPublicKey, createHmac, randomBytes, verify as verifySignature } from 'node:crypto';
import { KmsByokError } from '../core/errors.js';
import { bytesEqual } from '../core/bytes.js';
import type { SecretBytes } from '../core/secret.js';
import type { KeySpec, KeyUsage } from '../core/aws-names.js';
import type { KeyInfo, KmsPort, MacAlgorithm, SigningAlgorithm } from '../kms/port.js';
import { importableKeySpecInfo } from '../material/key-specs.js';
import { publicKeyFromMaterial } from '../material/check-value.js';

export type ProofMethod = 'encrypt-decrypt' | 'generate-mac' | 'public-key' | 'public-key+sign';

export interface Proof {
  method: ProofMethod;
  /** Human sentence for progress lines and reports. */
  summary: string;
}

/** The signature algorithm each asymmetric spec is proven with (RSA: PSS, salt = hash length). */
export const SIGNING: Partial<Record<KeySpec, { algorithm: SigningAlgorithm; hash: string; pss?: boolean }>> = {
  RSA_2048: { algorithm: 'RSASSA_PSS_SHA_256', hash: 'sha256', pss: true },
  RSA_3072: { algorithm: 'RSASSA_PSS_SHA_256', hash: 'sha256', pss: true },
  RSA_4096: { algorithm: 'RSASSA_PSS_SHA_256', hash: 'sha256', pss: true },
  ECC_NIST_P256: { algorithm: 'ECDSA_SHA_256', hash: 'sha256' },
  ECC_NIST_P384: { algorithm: 'ECDSA_SHA_384', hash: 'sha384' },
  ECC_NIST_P521: { algorithm: 'ECDSA_SHA_512', hash: 'sha512' },
  ECC_SECG_P256K1: { algorithm: 'ECDSA_SHA_256', hash: 'sha256' },
};

function failed(keyId: string, what: string): KmsByokError {
  return new KmsByokError('ERR_VERIFY_FAILED', `key ${keyId}: ${what}`, {
    hint: 'KMS does not hold the escrowed material: do not use this key; compare check values with the custodians',
  });
}

/**
 * Proves `keyId` in KMS holds `material`. Precondition: the key is Enabled (checked here).
 * Never prints or returns the material; the messages carry no secret.
 */
export async function proveKeyMaterial(kms: KmsPort, keyId: string, keySpec: KeySpec, keyUsage: KeyUsage, material: SecretBytes): Promise<Proof> {
  return (await proveAndDescribe(kms, keyId, keySpec, keyUsage, material)).proof;
}

/**
 * {@link proveKeyMaterial}, also returning the key as DescribeKey showed it just before the proof
 * (a proof changes no key state, so callers need not describe it again).
 */
export async function proveAndDescribe(kms: KmsPort, keyId: string, keySpec: KeySpec, keyUsage: KeyUsage, material: SecretBytes): Promise<{ proof: Proof; key: KeyInfo }> {
  const key = await kms.describeKey(keyId);
  return { proof: await proveWith(kms, key, keyId, keySpec, keyUsage, material), key };
}

/**
 * The proof after re-importing material into `key`, which the ceremony described before the import.
 * For a symmetric key that was Enabled or PendingImport then, the Encrypt/Decrypt round trip alone:
 * KMS encrypts only under a key that is Enabled (or transiently Updating, while UpdatePrimaryRegion
 * runs), and an import does not make a key Updating, so a round trip that succeeds shows the key
 * Enabled without another DescribeKey (one KMS call fewer per key of a fleet re-import:
 * docs/fleet.md, "CPU per key"). When the round trip fails, the key is described, and a key that is
 * not Enabled is reported as such (ERR_VERIFY_FAILED), as {@link proveAndDescribe} does before its
 * proof. Any other state before, and other kinds of key: {@link proveAndDescribe}.
 * Returns `key` as described before the import, with the state the proof showed (its ValidTo and
 * material fields are those from before the import).
 */
export async function proveImported(kms: KmsPort, key: KeyInfo, material: SecretBytes): Promise<{ proof: Proof; key: KeyInfo }> {
  const inferable = importableKeySpecInfo(key.KeySpec).material.kind === 'symmetric' && (key.KeyState === 'Enabled' || key.KeyState === 'PendingImport');
  if (!inferable) return proveAndDescribe(kms, key.KeyId, key.KeySpec, key.KeyUsage, material);
  const enabled: KeyInfo = { ...key, KeyState: 'Enabled', Enabled: true };
  try {
    return { proof: await proveWith(kms, enabled, key.KeyId, key.KeySpec, key.KeyUsage, material), key: enabled };
  } catch (e) {
    if (e instanceof KmsByokError && e.code === 'ERR_VERIFY_FAILED') throw e;
    const now = await kms.describeKey(key.KeyId).catch(() => undefined);
    if (now !== undefined && now.KeyState !== 'Enabled') throw notEnabled(key.KeyId, now.KeyState);
    throw e;
  }
}

function notEnabled(keyId: string, state: string): KmsByokError {
  return new KmsByokError('ERR_VERIFY_FAILED', `key ${keyId} is ${state}, expected Enabled`, {
    hint: 'run kms-byok status for the key; the escrow holds the material',
  });
}

async function proveWith(kms: KmsPort, key: KeyInfo, keyId: string, keySpec: KeySpec, keyUsage: KeyUsage, material: SecretBytes): Promise<Proof> {
  if (key.KeyState !== 'Enabled') throw notEnabled(keyId, key.KeyState);
  const info = importableKeySpecInfo(keySpec);
  const shape = info.material;
  if (shape.kind === 'symmetric') {
    const probe = randomBytes(32);
    const back = await kms.decrypt(keyId, await kms.encrypt(keyId, probe));
    if (!bytesEqual(back, probe)) throw failed(keyId, 'Encrypt/Decrypt round trip returned other bytes');
    return { method: 'encrypt-decrypt', summary: 'Encrypt/Decrypt round trip ok' };
  }
  if (shape.kind === 'hmac') {
    const message = randomBytes(32);
    const algorithm = `HMAC_SHA_${shape.hash.slice(3)}` as MacAlgorithm;
    const kmsMac = await kms.generateMac(keyId, message, algorithm);
    const localMac = material.use((m) => createHmac(shape.hash, m).update(message).digest());
    if (!bytesEqual(kmsMac, localMac)) throw failed(keyId, `GenerateMac (${algorithm}) differs from the HMAC of the escrowed material`);
    return { method: 'generate-mac', summary: `GenerateMac ${algorithm} equals the local HMAC` };
  }
  const localSpki = publicKeyFromMaterial(material, keySpec);
  const kmsSpki = await kms.getPublicKey(keyId);
  if (!bytesEqual(kmsSpki, localSpki)) throw failed(keyId, 'GetPublicKey differs from the public key of the escrowed material');
  const signed = await signatureProof(kms, keyId, keySpec, keyUsage, localSpki);
  if (signed === undefined) return { method: 'public-key', summary: 'GetPublicKey equals the local public key' };
  return { method: 'public-key+sign', summary: `GetPublicKey equals the local public key; ${signed}` };
}

/**
 * For a SIGN_VERIFY key pair: KMS signs a random message and the signature is verified here with
 * `spki`, the public key the caller holds (the escrow's, or the token's). Returns what was shown, or
 * undefined when the key does not sign (ENCRYPT_DECRYPT, KEY_AGREEMENT). ERR_VERIFY_FAILED when the
 * signature does not verify: KMS does not hold the private half of `spki`.
 */
export async function signatureProof(kms: KmsPort, keyId: string, keySpec: KeySpec, keyUsage: KeyUsage, spki: Uint8Array): Promise<string | undefined> {
  const signing = SIGNING[keySpec];
  if (keyUsage !== 'SIGN_VERIFY' || !signing) return undefined;
  const message = randomBytes(32);
  const signature = await kms.sign(keyId, message, signing.algorithm);
  const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const ok = verifySignature(
    signing.hash,
    message,
    signing.pss ? { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : { key: publicKey, dsaEncoding: 'der' },
    signature,
  );
  if (!ok) throw failed(keyId, `a ${signing.algorithm} signature from KMS does not verify with the local public key`);
  return `${signing.algorithm} signature from KMS verifies locally`;
}
