/**
 * kms-byok as a library: the same ceremonies the CLI runs, over ports you wire yourself.
 *
 * Every ceremony is a function of an options object and its dependencies: a {@link KmsPort} (use
 * {@link createAwsKms} for AWS KMS or any endpoint speaking its protocol), an escrow vault (use
 * {@link openFileVault}), a clock and a progress callback. Secrets are {@link SecretBytes}; every
 * failure is a {@link KmsByokError} with a stable `code`.
 *
 * The embedded emulator is a separate entry, `kms-byok/emulator`, so that loading the library does
 * not load it.
 *
 * @example Rehearse a ceremony in-process against the embedded emulator
 * ```ts
 * import { createAwsKms, openFileVault, runOnboard } from 'kms-byok';
 * import { startEmulator } from 'kms-byok/emulator';
 *
 * const emulator = await startEmulator();                      // AWS KMS protocol on 127.0.0.1
 * const kms = await createAwsKms({                             // for AWS: { region, profile }
 *   endpoint: emulator.endpoint, region: 'us-east-1',
 *   credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' },
 * });
 * const { vault } = await openFileVault('./escrow');           // created 0700; files 0600, create-only
 * const result = await runOnboard(
 *   {
 *     keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', alias: 'alias/embedded',
 *     wrapping: { WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096' },
 *     expiry: { ExpirationModel: 'KEY_MATERIAL_EXPIRES', expiresInMs: 90 * 86_400_000 },
 *     sealing: { recipients: [{ recipient: 'age1…', label: 'alice' }] },
 *     createdBy: 'ops@example',
 *   },
 *   { kms, escrow: vault, now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), progress: console.error },
 * );
 * console.log(result.keyArn, result.checkValue, result.escrow.path);
 * await emulator.close();
 * ```
 *
 * @packageDocumentation
 */

// Errors and secrets
export { KmsByokError, ExitCode, type ErrorCode } from './core/errors.js';
export { SecretBytes } from './core/secret.js';
export type {
  KeySpec,
  KeyUsage,
  WrappingAlgorithm,
  WrappingKeySpec,
  ExpirationModel,
  ImportType,
} from './core/aws-names.js';

// KMS
export type { KeyLastUsage, KmsPort, KeyInfo, ImportParameters, KeyMaterialInfo, CreateKeyInput, ImportKeyMaterialInput, KmsCallGate } from './kms/port.js';
export type { AwsKmsOptions } from './kms/aws.js';

// Ceremonies and the ports they take
export type { CeremonyDeps, WrittenEscrow as CeremonyWrittenEscrow } from './ceremony/ports.js';
export type { EscrowRef, JournalPort, LifecycleDeps, LifecycleEscrow, WrappingOverride } from './ceremony/shared.js';
export { runOnboard, type OnboardOptions, type OnboardDeps, type OnboardResult, type ExpiryChoice } from './ceremony/onboard.js';
export { runVerify, type VerifyResult } from './ceremony/verify.js';
export { runReimport, type ReimportOptions, type ReimportResult } from './ceremony/reimport.js';
export { runRotateInPlace, runRotateNewKey, type RotateInPlaceOptions, type RotateNewKeyOptions, type RotateInPlaceResult, type RotateNewKeyResult } from './ceremony/rotate.js';
export { runRevoke, type RevokeOptions, type RevokeResult } from './ceremony/revoke.js';
export { runStatus, type StatusOptions, type StatusResult, type StatusDeps, type KeyStatus } from './ceremony/status.js';
export { createKeyFromMaterial, type NewKeyOptions, type NewKeyResult } from './ceremony/new-key.js';
export {
  runExportParameters,
  runWrap,
  runImportBundle,
  type BundleKey,
  type ExportParametersOptions,
  type ImportBundle,
  type ImportBundleDeps,
  type ImportBundleOptions,
  type ImportBundleResult,
  type ParametersBundle,
  type WrapDeps,
  type WrapOptions,
} from './airgap/ceremony.js';
export { proveKeyMaterial, type Proof } from './ceremony/prove.js';

// Key material, check values, wrapping
export { generateKeyMaterial } from './material/generate.js';
export { parseMaterial } from './material/parse.js';
export { checkValue, parseCheckValue, type CheckValue } from './material/check-value.js';
export {
  keySpecInfo,
  chooseWrapping,
  validWrappings,
  assertWrappingAllowed,
  type ImportableKeySpecInfo,
  type NotImportableKeySpecInfo,
  type WrappingChoice,
  type WrappingRefusal,
} from './material/key-specs.js';
export { wrapKeyMaterial, parseWrappingPublicKey, type WrappingParameters } from './wrapping/index.js';
export type { WrappingPublicKey } from './wrapping/public-key.js';

// Escrow
export {
  sealEscrow,
  openEscrow,
  inspectEscrow,
  parseRecipient,
  recordImport,
  type EscrowSealing,
  type EscrowOpener,
  type EscrowPayload,
  type EscrowSidecar,
  type SealedEscrow,
  type HandoverOpener,
  type HandoverClaim,
  type OneTimeIdentity,
  type OpenPurpose,
} from './escrow/index.js';
export type { ComputeCheckValue, EscrowContents, EscrowDeps, EscrowSummary, ImportFact, LoadedEscrow } from './escrow/vault.js';
export type { EscrowCustodians, EscrowKeyFacts, EscrowManifest, EscrowMaterial, SidecarFile, SidecarMaterial } from './escrow/format.js';
export {
  openFileVault,
  readEscrow,
  readIdentityFile,
  readPassphraseFile,
  writeSealedEscrow,
  type WrittenEscrow,
  type EscrowFs,
  type FileStoreOptions,
  type InputFileOptions,
} from './escrow/file-store.js';

/**
 * The KMS port over `@aws-sdk/client-kms` (kms/aws.ts). The SDK is loaded on the first call, not when
 * `kms-byok` is imported: a program that only reads escrows, parses material or rehearses on
 * `kms-byok/emulator` never loads it (README, "Embedding").
 */
export async function createAwsKms(options: import('./kms/aws.js').AwsKmsOptions): Promise<import('./kms/port.js').KmsPort> {
  return (await import('./kms/aws.js')).createAwsKms(options);
}
