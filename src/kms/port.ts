/**
 * The KMS port: exactly the KMS calls kms-byok makes, named after the API, with AWS's words for
 * every field. No SDK types cross this boundary; `kms/aws.ts` adapts the SDK to it, and validates
 * every response before it gets here. Binary fields are Uint8Array; times are Date.
 */
import type {
  ExpirationModel,
  ImportState,
  ImportType,
  KeyMaterialState,
  KeySpec,
  KeyState,
  KeyUsage,
  Origin,
  WrappingAlgorithm,
  WrappingKeySpec,
} from '../core/aws-names.js';

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export interface KeyInfo {
  KeyId: string;
  Arn: string;
  KeyState: KeyState;
  KeySpec: KeySpec;
  KeyUsage: KeyUsage;
  Origin: Origin;
  Enabled: boolean;
  CreationDate?: Date;
  Description?: string;
  /** Earliest expiry among the key's materials, when any expires. */
  ValidTo?: Date;
  ExpirationModel?: ExpirationModel;
  CurrentKeyMaterialId?: string;
  DeletionDate?: Date;
  MultiRegion?: boolean;
  /** Multi-Region keys: PRIMARY or REPLICA (from MultiRegionConfiguration). */
  MultiRegionKeyType?: 'PRIMARY' | 'REPLICA';
  /** Multi-Region keys: the primary key's Region. */
  PrimaryRegion?: string;
  /** Multi-Region keys: the Regions of every replica. */
  ReplicaRegions?: string[];
  /** Account id parsed from the ARN. */
  AccountId: string;
  /** Region parsed from the ARN. */
  Region: string;
}

export interface ImportParameters {
  KeyId: string;
  /** DER SubjectPublicKeyInfo of the RSA wrapping key. */
  PublicKey: Uint8Array;
  ImportToken: Uint8Array;
  ParametersValidTo: Date;
  /** Not in the KMS response: echoed from the request, because the token is bound to them. */
  WrappingAlgorithm: WrappingAlgorithm;
  WrappingKeySpec: WrappingKeySpec;
}

export interface ImportKeyMaterialInput {
  KeyId: string;
  ImportToken: Uint8Array;
  EncryptedKeyMaterial: Uint8Array;
  ExpirationModel: ExpirationModel;
  /** Required when ExpirationModel is KEY_MATERIAL_EXPIRES. */
  ValidTo?: Date;
  ImportType?: ImportType;
  KeyMaterialId?: string;
  KeyMaterialDescription?: string;
}

export interface KeyMaterialInfo {
  KeyMaterialId?: string;
  KeyMaterialDescription?: string;
  ImportState?: ImportState;
  KeyMaterialState?: KeyMaterialState;
  ExpirationModel?: ExpirationModel;
  ValidTo?: Date;
  RotationDate?: Date;
  RotationType?: 'AUTOMATIC' | 'ON_DEMAND';
}

export interface AliasInfo {
  AliasName: string;
  TargetKeyId?: string;
}

export interface CreateKeyInput {
  KeySpec: KeySpec;
  KeyUsage: KeyUsage;
  Description?: string;
  MultiRegion?: boolean;
  Tags?: Tag[];
  Policy?: string;
}

/** Every call kms-byok makes to KMS. Errors are KmsByokError with an `ERR_KMS_*` code. */
export interface KmsPort {
  /** The Region this port talks to (from configuration). */
  readonly region: string;
  /** A port for another Region with the same credentials and endpoint (multi-Region replicas). */
  forRegion(region: string): Promise<KmsPort>;
  createKey(input: CreateKeyInput): Promise<KeyInfo>;
  describeKey(keyId: string): Promise<KeyInfo>;
  getParametersForImport(
    keyId: string,
    wrapping: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec },
  ): Promise<ImportParameters>;
  importKeyMaterial(input: ImportKeyMaterialInput): Promise<{ KeyId: string; KeyMaterialId?: string }>;
  deleteImportedKeyMaterial(keyId: string, keyMaterialId?: string): Promise<void>;
  createAlias(aliasName: string, keyId: string): Promise<void>;
  updateAlias(aliasName: string, keyId: string): Promise<void>;
  listAliases(keyId?: string): Promise<AliasInfo[]>;
  /** Encrypt + Decrypt, used to prove a key works (plaintext is test data, never key material). */
  encrypt(keyId: string, plaintext: Uint8Array): Promise<Uint8Array>;
  /**
   * Decrypt; with `encryptionContext`, KMS refuses a ciphertext sealed under another context (the
   * Lambda handler's custodian identity, docs/fleet.md "On AWS"). The caller zeroes the plaintext.
   */
  decrypt(keyId: string, ciphertext: Uint8Array, encryptionContext?: Readonly<Record<string, string>>): Promise<Uint8Array>;
  /** HMAC keys: proves KMS computes the same MAC as the escrowed material. */
  generateMac(keyId: string, message: Uint8Array, macAlgorithm: MacAlgorithm): Promise<Uint8Array>;
  /** Asymmetric keys: the DER SubjectPublicKeyInfo KMS holds. */
  getPublicKey(keyId: string): Promise<Uint8Array>;
  /** Asymmetric signing keys: a signature over `message` (MessageType RAW). */
  sign(keyId: string, message: Uint8Array, signingAlgorithm: SigningAlgorithm): Promise<Uint8Array>;
  /** Symmetric EXTERNAL keys: makes the material imported with NEW_KEY_MATERIAL current. */
  rotateKeyOnDemand(keyId: string): Promise<void>;
  /** Every material of the key (IncludeKeyMaterial ALL_KEY_MATERIAL), all pages. */
  listKeyRotations(keyId: string): Promise<KeyMaterialInfo[]>;
  /** Multi-Region: a replica of `keyId` in `replicaRegion` (no material for EXTERNAL keys). */
  replicateKey(keyId: string, replicaRegion: string): Promise<KeyInfo>;
  /** Every key id the caller can list in this Region, all pages. */
  listKeys(): Promise<string[]>;
  /** The key's `default` key policy document (JSON text). */
  getKeyPolicy(keyId: string): Promise<string>;
  /** Adds tags to the key, or overwrites the values of tags it has (TagResource). Key id or ARN, not an alias. */
  tagResource(keyId: string, tags: Tag[]): Promise<void>;
  /** Every tag of the key, all pages (ListResourceTags). Key id or ARN, not an alias. */
  listResourceTags(keyId: string): Promise<Tag[]>;
}

export type MacAlgorithm = 'HMAC_SHA_224' | 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512';
export type SigningAlgorithm =
  | 'RSASSA_PSS_SHA_256'
  | 'RSASSA_PSS_SHA_384'
  | 'RSASSA_PSS_SHA_512'
  | 'RSASSA_PKCS1_V1_5_SHA_256'
  | 'RSASSA_PKCS1_V1_5_SHA_384'
  | 'RSASSA_PKCS1_V1_5_SHA_512'
  | 'ECDSA_SHA_256'
  | 'ECDSA_SHA_384'
  | 'ECDSA_SHA_512';

/**
 * Whether a failed call may nevertheless have been carried out by KMS: no answer arrived (timeout,
 * connection reset, unreachable after sending), or KMS answered with a server fault. After such an
 * error on a mutating call the outcome is unknown until KMS is asked (docs/architecture.md,
 * "Unknown outcomes"); a KMS error document for a client fault (4xx) is a definite "not done".
 */
export function outcomeUnknown(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ERR_KMS_UNREACHABLE' || code === 'ERR_KMS_INTERNAL' || code === 'ERR_KMS';
}

/**
 * KMS calls that change state in KMS. When the user asks to stop, a call of this kind already in flight
 * is let finish (within its deadline) so its outcome is known; every other call is a read and is
 * aborted at once (docs/architecture.md, "Cancellation").
 */
export const MUTATING_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateKey',
  'CreateAlias',
  'UpdateAlias',
  'PutKeyPolicy',
  'ImportKeyMaterial',
  'RotateKeyOnDemand',
  'ReplicateKey',
  'DeleteImportedKeyMaterial',
  'TagResource',
]);

/**
 * How a stop request reaches the KMS calls of a port (docs/architecture.md, "Cancellation"). Contract
 * of a port given a gate:
 * - no call STARTS once `stop` is aborted: it throws `cancelled(operation, 'not-started')`;
 * - a read in flight when `stop` aborts is aborted and throws `cancelled(operation, 'aborted-read')`;
 * - a mutating call ({@link MUTATING_OPERATIONS}) in flight runs on (within its deadline) until
 *   `abandon` aborts; then it throws `cancelled(operation, 'abandoned')` — its outcome is unknown.
 * The gate never interrupts local work: it only acts at the start of, or during, a KMS call.
 */
export interface KmsCallGate {
  /** Aborted when the user asks to stop at the next safe point. */
  readonly stop: AbortSignal;
  /** Aborted when the user insists: mutating calls in flight are abandoned too. Aborted at or after `stop`. */
  readonly abandon: AbortSignal;
  /** A mutating call starts (`description` names it, e.g. "ImportKeyMaterial on key …"); call the result when it settles, with whether it succeeded. */
  begin(description: string): (succeeded: boolean) => void;
  /** The error a call throws when the gate refused or aborted it (code ERR_CANCELLED). */
  cancelled(operation: string, how: 'not-started' | 'aborted-read' | 'abandoned'): Error;
}
