/**
 * Cryptographic operations, so a rehearsal can prove a key works: Encrypt, Decrypt, GenerateDataKey,
 * GenerateMac, VerifyMac, Sign, Verify, GetPublicKey.
 *
 * Contracts (AWS KMS API reference, "Key states of AWS KMS keys"):
 * - The key must be Enabled: DisabledException when disabled, KMSInvalidStateException when pending
 *   import or deletion. Its KeyUsage and KeySpec must fit the operation and algorithm
 *   (InvalidKeyUsageException otherwise).
 * - Symmetric ciphertexts use the format of `ciphertext.ts`: Decrypt finds key and material from the
 *   ciphertext alone, honours the EncryptionContext as AAD, and decrypts with any associated material
 *   that is imported (CURRENT or NON_CURRENT); Encrypt always uses the CURRENT material.
 * - RSA keys encrypt with RSAES_OAEP_SHA_1/256; RSA and ECC keys sign with the algorithms of their spec
 *   (RSASSA-PSS with salt length = hash length, ECDSA signatures DER-encoded). MessageType DIGEST is
 *   supported for RSA keys; ECDSA over a caller-supplied digest is not (UnsupportedOperationException).
 */
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import forge from 'node-forge';
import { type Handler, type HandlerContext } from '../context.js';
import { fail } from '../errors.js';
import { blob, bool, int, oneOf, str, stringMap, type Input } from '../input.js';
import { currentMaterial, requireEnabled } from '../lifecycle.js';
import { keyArn, resolveKey } from '../lookup.js';
import { BadCiphertext, openCiphertext, readHeader, sealCiphertext } from '../ciphertext.js';
import { SPECS, algorithmsOf } from '../specs.js';
import type { KeyRecord, KeyUsage } from '../state.js';

const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
const MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;
const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'ED25519_SHA_512',
  'ED25519_PH_SHA_512',
  'ML_DSA_SHAKE_256',
  'SM2DSA',
] as const;

/** The key a cryptographic operation names (aliases allowed), checked for usage and state. */
function usableKey(ctx: HandlerContext, input: Input, usage: KeyUsage, operation: string): KeyRecord {
  const key = resolveKey(ctx, str(input, 'KeyId', { required: true, max: 2048 }), { allowAlias: true });
  requireUsage(key, usage, operation);
  requireEnabled(key);
  return key;
}

function requireUsage(key: KeyRecord, usage: KeyUsage, operation: string): void {
  if (key.keyUsage !== usage) {
    throw fail('InvalidKeyUsageException', `${keyArn(key)} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
  }
}

function dryRun(input: Input): void {
  if (bool(input, 'DryRun')) throw fail('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
}

/** The plaintext bytes of the key's CURRENT material (the key is Enabled, so it is imported). */
function currentBytes(key: KeyRecord): { id: string; bytes: Buffer } {
  const m = currentMaterial(key);
  if (!m || m.material === undefined) throw fail('KMSInvalidStateException', `${keyArn(key)} is pending import.`);
  return { id: m.keyMaterialId, bytes: Buffer.from(m.material, 'base64') };
}

function privateKeyOf(key: KeyRecord): KeyObject {
  return createPrivateKey({ key: currentBytes(key).bytes, format: 'der', type: 'pkcs8' });
}

function oaepHash(algorithm: string): 'sha1' | 'sha256' {
  return algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256';
}

function requireEncryptionAlgorithm(key: KeyRecord, algorithm: string): void {
  const allowed = algorithmsOf(key.keySpec, key.keyUsage).EncryptionAlgorithms ?? [];
  if (!allowed.includes(algorithm)) {
    throw fail('InvalidKeyUsageException', `The encryption algorithm ${algorithm} is not compatible with ${key.keySpec} key ${keyArn(key)}.`);
  }
}

export const encrypt: Handler = (ctx, input) => {
  const plaintext = blob(input, 'Plaintext', { required: true, max: 4096 });
  const context = stringMap(input, 'EncryptionContext');
  const algorithm = oneOf(input, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
  const key = usableKey(ctx, input, 'ENCRYPT_DECRYPT', 'Encrypt');
  requireEncryptionAlgorithm(key, algorithm);
  dryRun(input);
  let ciphertext: Buffer;
  if (SPECS[key.keySpec].kind === 'symmetric') {
    const { id, bytes } = currentBytes(key);
    ciphertext = sealCiphertext({ keyId: key.keyId, keyMaterialId: id }, bytes, plaintext, context);
  } else {
    if (context && Object.keys(context).length > 0) throw fail('ValidationException', 'EncryptionContext is not supported with asymmetric KMS keys.');
    try {
      ciphertext = publicEncrypt({ key: createPublicKey(privateKeyOf(key)), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(algorithm) }, plaintext);
    } catch {
      throw fail('ValidationException', `Plaintext is too long for ${algorithm} with ${key.keySpec}.`);
    }
  }
  return { CiphertextBlob: ciphertext.toString('base64'), KeyId: keyArn(key), EncryptionAlgorithm: algorithm };
};

export const decrypt: Handler = (ctx, input) => {
  const ciphertext = blob(input, 'CiphertextBlob', { required: true, max: 6144 });
  const context = stringMap(input, 'EncryptionContext');
  const algorithm = oneOf(input, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
  const keyIdIn = str(input, 'KeyId', { min: 1, max: 2048 });
  if (algorithm !== 'SYMMETRIC_DEFAULT') {
    if (keyIdIn === undefined) throw fail('ValidationException', `KeyId is required to decrypt with ${algorithm}.`);
    const key = usableKey(ctx, input, 'ENCRYPT_DECRYPT', 'Decrypt');
    requireEncryptionAlgorithm(key, algorithm);
    dryRun(input);
    try {
      const plaintext = privateDecrypt({ key: privateKeyOf(key), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(algorithm) }, ciphertext);
      return { KeyId: keyArn(key), Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: algorithm };
    } catch {
      throw fail('InvalidCiphertextException', 'The ciphertext is invalid for this key and algorithm.');
    }
  }
  let header: ReturnType<typeof readHeader>;
  try {
    header = readHeader(ciphertext);
  } catch {
    throw fail('InvalidCiphertextException', 'The ciphertext is invalid or was not produced by this KMS.');
  }
  const key = resolveKey(ctx, keyIdIn ?? header.keyId, { allowAlias: true });
  if (key.keyId !== header.keyId) {
    throw fail('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.');
  }
  requireUsage(key, 'ENCRYPT_DECRYPT', 'Decrypt');
  requireEncryptionAlgorithm(key, algorithm);
  requireEnabled(key);
  const material = key.materials.find((m) => m.keyMaterialId === header.keyMaterialId);
  if (!material) throw fail('InvalidCiphertextException', 'The ciphertext was not produced with key material of this KMS key.');
  if (material.material === undefined) throw fail('KMSInvalidStateException', `${keyArn(key)} is pending import.`);
  dryRun(input);
  try {
    const plaintext = openCiphertext(ciphertext, Buffer.from(material.material, 'base64'), context);
    return { KeyId: keyArn(key), Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', KeyMaterialId: material.keyMaterialId };
  } catch (e) {
    if (e instanceof BadCiphertext) throw fail('InvalidCiphertextException', 'The ciphertext or its encryption context is not valid.');
    throw e;
  }
};

export const generateDataKey: Handler = (ctx, input) => {
  const context = stringMap(input, 'EncryptionContext');
  const bytes = int(input, 'NumberOfBytes', 1, 1024);
  const spec = oneOf(input, 'KeySpec', ['AES_256', 'AES_128'] as const);
  if ((bytes === undefined) === (spec === undefined)) throw fail('ValidationException', 'Specify either KeySpec or NumberOfBytes, but not both.');
  const key = usableKey(ctx, input, 'ENCRYPT_DECRYPT', 'GenerateDataKey');
  if (SPECS[key.keySpec].kind !== 'symmetric') throw fail('InvalidKeyUsageException', `${keyArn(key)} is not a symmetric encryption key.`);
  dryRun(input);
  const dataKey = randomBytes(bytes ?? (spec === 'AES_128' ? 16 : 32));
  const { id, bytes: material } = currentBytes(key);
  const ciphertext = sealCiphertext({ keyId: key.keyId, keyMaterialId: id }, material, dataKey, context);
  return { CiphertextBlob: ciphertext.toString('base64'), Plaintext: dataKey.toString('base64'), KeyId: keyArn(key), KeyMaterialId: id };
};

function macOf(ctx: HandlerContext, input: Input, operation: string): { key: KeyRecord; mac: Buffer; algorithm: string } {
  const message = blob(input, 'Message', { required: true, max: 4096 });
  const algorithm = oneOf(input, 'MacAlgorithm', MAC_ALGORITHMS, true);
  const key = usableKey(ctx, input, 'GENERATE_VERIFY_MAC', operation);
  if (SPECS[key.keySpec].macAlgorithm !== algorithm) {
    throw fail('InvalidKeyUsageException', `The MAC algorithm ${algorithm} is not compatible with ${key.keySpec} key ${keyArn(key)}.`);
  }
  const hash = `sha${algorithm.slice('HMAC_SHA_'.length)}`;
  const mac = createHmac(hash, currentBytes(key).bytes).update(message).digest();
  return { key, mac, algorithm };
}

export const generateMac: Handler = (ctx, input) => {
  const { key, mac, algorithm } = macOf(ctx, input, 'GenerateMac');
  dryRun(input);
  return { Mac: mac.toString('base64'), MacAlgorithm: algorithm, KeyId: keyArn(key) };
};

export const verifyMac: Handler = (ctx, input) => {
  const given = blob(input, 'Mac', { required: true, max: 6144 });
  const { key, mac, algorithm } = macOf(ctx, input, 'VerifyMac');
  dryRun(input);
  if (given.length !== mac.length || !timingSafeEqual(given, mac)) throw fail('KMSInvalidMacException', 'The MAC is not valid for this message, key and algorithm.');
  return { KeyId: keyArn(key), MacValid: true, MacAlgorithm: algorithm };
};

interface SigningPlan {
  key: KeyRecord;
  algorithm: string;
  hash: 'sha256' | 'sha384' | 'sha512';
  message: Buffer;
  digest: boolean;
}

const DIGEST_INFO: Record<SigningPlan['hash'], string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

function signingPlan(ctx: HandlerContext, input: Input, operation: string): SigningPlan {
  const message = blob(input, 'Message', { required: true, max: 4096 });
  const messageType = oneOf(input, 'MessageType', ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const) ?? 'RAW';
  const algorithm = oneOf(input, 'SigningAlgorithm', SIGNING_ALGORITHMS, true);
  const key = usableKey(ctx, input, 'SIGN_VERIFY', operation);
  if (!(algorithmsOf(key.keySpec, key.keyUsage).SigningAlgorithms ?? []).includes(algorithm)) {
    throw fail('InvalidKeyUsageException', `The signing algorithm ${algorithm} is not compatible with ${key.keySpec} key ${keyArn(key)}.`);
  }
  const hash = `sha${algorithm.slice(-3)}` as SigningPlan['hash'];
  if (messageType === 'EXTERNAL_MU') throw fail('InvalidKeyUsageException', 'MessageType EXTERNAL_MU is valid only with ML-DSA keys.');
  if (messageType === 'DIGEST') {
    const bytes = Number(hash.slice(3)) / 8;
    if (message.length !== bytes) throw fail('ValidationException', `A ${hash.toUpperCase()} digest must be ${bytes} bytes, not ${message.length}.`);
    if (SPECS[key.keySpec].kind === 'ecc') throw fail('UnsupportedOperationException', 'The kms-byok emulator does not sign ECDSA digests; send MessageType RAW.');
  }
  return { key, algorithm, hash, message, digest: messageType === 'DIGEST' };
}

function forgeDigest(hash: SigningPlan['hash'], digest: Buffer): forge.md.MessageDigest {
  // A message digest object whose value is the caller's digest, for node-forge's PSS encoder.
  const md = forge.md[hash].create();
  return Object.assign(Object.create(md) as forge.md.MessageDigest, { digest: () => forge.util.createBuffer(digest.toString('binary')) });
}

function pssScheme(hash: SigningPlan['hash']) {
  return forge.pss.create({ md: forge.md[hash].create(), mgf: forge.mgf.mgf1.create(forge.md[hash].create()), saltLength: Number(hash.slice(3)) / 8 });
}

function signPlan(p: SigningPlan): Buffer {
  const key = privateKeyOf(p.key);
  const pss = p.algorithm.startsWith('RSASSA_PSS');
  if (!p.digest) {
    return nodeSign(p.hash, p.message, pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : { key, dsaEncoding: 'der' });
  }
  if (!pss) {
    // RSASSA-PKCS1-v1_5 over a digest: EMSA-PKCS1-v1_5 is type-1 padding of DigestInfo ‖ digest.
    // node:crypto's privateEncrypt applies PKCS#1 type-1 padding, which is exactly EMSA-PKCS1-v1_5.
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([Buffer.from(DIGEST_INFO[p.hash], 'hex'), p.message]));
  }
  const fk = forge.pki.privateKeyFromPem(key.export({ format: 'pem', type: 'pkcs8' }).toString());
  return Buffer.from(fk.sign(forgeDigest(p.hash, p.message), pssScheme(p.hash)), 'binary');
}

function verifyPlan(p: SigningPlan, signature: Buffer): boolean {
  const pub = createPublicKey(privateKeyOf(p.key));
  const pss = p.algorithm.startsWith('RSASSA_PSS');
  try {
    if (!p.digest) {
      return nodeVerify(p.hash, p.message, pss ? { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : { key: pub, dsaEncoding: 'der' }, signature);
    }
    if (!pss) {
      const recovered = publicDecrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, signature);
      return recovered.equals(Buffer.concat([Buffer.from(DIGEST_INFO[p.hash], 'hex'), p.message]));
    }
    const fk = forge.pki.publicKeyFromPem(pub.export({ format: 'pem', type: 'spki' }).toString());
    return fk.verify(p.message.toString('binary'), signature.toString('binary'), pssScheme(p.hash));
  } catch {
    return false;
  }
}

export const sign: Handler = (ctx, input) => {
  const plan = signingPlan(ctx, input, 'Sign');
  dryRun(input);
  return { KeyId: keyArn(plan.key), Signature: signPlan(plan).toString('base64'), SigningAlgorithm: plan.algorithm };
};

export const verify: Handler = (ctx, input) => {
  const signature = blob(input, 'Signature', { required: true, max: 6144 });
  const plan = signingPlan(ctx, input, 'Verify');
  dryRun(input);
  if (!verifyPlan(plan, signature)) throw fail('KMSInvalidSignatureException', 'The signature is not valid for this message, key and algorithm.');
  return { KeyId: keyArn(plan.key), SignatureValid: true, SigningAlgorithm: plan.algorithm };
};

export const getPublicKey: Handler = (ctx, input) => {
  const key = resolveKey(ctx, str(input, 'KeyId', { required: true, max: 2048 }), { allowAlias: true });
  const kind = SPECS[key.keySpec].kind;
  if (kind === 'symmetric' || kind === 'hmac') throw fail('UnsupportedOperationException', `${keyArn(key)} is not an asymmetric KMS key.`);
  requireEnabled(key);
  const publicKey = createPublicKey(privateKeyOf(key)).export({ format: 'der', type: 'spki' });
  return {
    KeyId: keyArn(key),
    PublicKey: publicKey.toString('base64'),
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    KeyUsage: key.keyUsage,
    ...algorithmsOf(key.keySpec, key.keyUsage),
  };
};
