/**
 * The sealed escrow (format v1): explicit re-exports of the pure modules only. Ceremonies may import
 * this; the filesystem edge (`file-store.ts`) is opened for commands by the CLI context (`cli/context.ts`).
 */
export {
  COMPONENT_CHECK_METHOD,
  ESCROW_FORMAT_VERSION,
  componentCheckValue,
  escrowStem,
  parseEscrowFileName,
  parsePayload,
  parseSidecar,
  sealedFileName,
  serializeSidecar,
  sidecarFileName,
  type ComponentDocument,
  type CustodianRecipient,
  type EscrowCustodians,
  type EscrowKeyFacts,
  type EscrowManifest,
  type EscrowMaterial,
  type EscrowPayload,
  type EscrowSidecar,
  type ImportRecord,
  type RecipientKind,
  type SealedFileRole,
  type ShareDocument,
  type SidecarFile,
  type SidecarMaterial,
  type ValidToRecord,
} from './format.js';
export { DEFAULT_SCRYPT_WORK_FACTOR, abbreviateRecipient, generateIdentity, parseIdentities, recipientOfIdentity, unsealArmored } from './seal.js';
export { custodianPart, handOver, heldFiles, openHandovers, readHandoverClaim, type Handover, type HandoverClaim, type OneTimeIdentity, type OpenedHandovers } from './handover.js';
export {
  assertSealingValid,
  assertSidecarUpdate,
  carryOverFacts,
  resealContents,
  disposePayload,
  inspectEscrow,
  nextEscrowContents,
  openCustodianFile,
  openEscrow,
  parseRecipient,
  recordImport,
  sealEscrow,
  sealingMode,
  unattendedOpening,
  type ComputeCheckValue,
  type EscrowContents,
  type EscrowDeps,
  type EscrowOpener,
  type HandoverOpener,
  type EscrowSealing,
  type EscrowSummary,
  type ImportFact,
  type LoadedEscrow,
  type SealedEscrow,
  type SealedFile,
  type SealingMode,
} from './vault.js';
// The filesystem edge, `./file-store.js`, is deliberately not re-exported: import it directly from the CLI.
export { ANCHOR_LABEL, ANCHOR_RE, ANCHOR_TAG_PREFIX, anchorDescription, anchorFingerprint, anchorTagKey, anchorsFromTags } from './anchor.js';
