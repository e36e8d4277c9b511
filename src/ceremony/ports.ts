/**
 * What a ceremony needs from the world besides KMS: the escrow vault (durable, create-only storage of
 * sealed escrows — implemented over escrow/file-store by the CLI), a clock, and a progress sink.
 */
import type { KmsPort } from '../kms/port.js';

/** A sealed escrow as written to durable storage. */
export interface WrittenEscrow {
  /** Path (or id) of the main sealed file. */
  path: string;
  /** Path of the non-secret sidecar. */
  sidecarPath: string;
  /** Every sealed file written, with its SHA-256. */
  files: { path: string; sha256: string; role: string; holder?: string }[];
}

export interface CeremonyDeps {
  kms: KmsPort;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** One line per completed step, e.g. "created key 1234…"; the CLI prints them on stderr. */
  progress(step: string): void;
}

/**
 * Material held in a PKCS#11 token (docs/hsm.md): what the custody record holds — a reference and
 * check values, never bytes.
 */
export interface TokenKeyRef {
  token: { label: string; serial: string; manufacturer: string; model: string };
  object: { label: string; /** CKA_ID, hex */ id: string };
  /** RFC 7512 URI of the object. */
  uri: string;
  /** Labelled check values computed by the token (`cmac-aes:…`; `ecb-aes:…` from CKA_CHECK_VALUE; `hmac-…`). */
  checkValues: string[];
}

/**
 * A token that generates and wraps material inside itself (`--custody pkcs11`). The product never
 * reads a key value through it. Every method is synchronous on an open, logged-in session.
 */
export interface TokenCustody {
  /** A short description of the token, for progress lines ("token t1 (serial …)"). */
  readonly description: string;
  /** Refuses (ERR_PKCS11_MECHANISM) a wrapping the token cannot do, naming what it can. No KMS call. */
  assertCanWrap(keySpec: import('../core/aws-names.js').KeySpec, wrapping: { WrappingAlgorithm: import('../core/aws-names.js').WrappingAlgorithm; WrappingKeySpec: import('../core/aws-names.js').WrappingKeySpec }): void;
  /** Every wrapping algorithm KMS accepts for `keySpec` that the token can do, strongest first. */
  wrappingsFor(keySpec: import('../core/aws-names.js').KeySpec): import('../core/aws-names.js').WrappingAlgorithm[];
  /** Refuses (ERR_PKCS11_OBJECT_EXISTS) a label that a key in the token already has. */
  assertLabelFree(label: string): void;
  /** Generates new material in the token (sensitive, extractable only by wrapping, a token object). */
  generate(label: string, id: Uint8Array, keySpec: import('../core/aws-names.js').KeySpec): TokenKeyRef;
  /** Finds the recorded key again and recomputes its check values (ERR_PKCS11_OBJECT_NOT_FOUND). */
  find(ref: Pick<TokenKeyRef, 'object'>, keySpec: import('../core/aws-names.js').KeySpec): TokenKeyRef;
  /** HMAC keys: the MAC the token computes over `message` (proof against KMS GenerateMac). */
  mac(ref: Pick<TokenKeyRef, 'object'>, message: Uint8Array, keySpec: import('../core/aws-names.js').KeySpec): Uint8Array;
  /** The key wrapped inside the token for these import parameters, as ImportKeyMaterial expects it. */
  wrap(ref: Pick<TokenKeyRef, 'object'>, params: import('../kms/port.js').ImportParameters, keySpec: import('../core/aws-names.js').KeySpec): Uint8Array;
  /** RSA/EC key pairs: the DER SubjectPublicKeyInfo of the token's public key (proof against KMS GetPublicKey). */
  publicKeyOf(ref: Pick<TokenKeyRef, 'object'>, keySpec: import('../core/aws-names.js').KeySpec): Uint8Array;
  /**
   * `--also-escrow` only (docs/hsm.md, "Also an age escrow"): the material leaves the token the one way a
   * sensitive key can — wrapped inside the token under an ephemeral key pair of this process, then
   * unwrapped here — never by reading CKA_VALUE. The plaintext then exists outside the token; the
   * caller seals it and disposes it at once.
   */
  exportByWrapping(ref: Pick<TokenKeyRef, 'object'>, keySpec: import('../core/aws-names.js').KeySpec): import('../core/secret.js').SecretBytes;
}
