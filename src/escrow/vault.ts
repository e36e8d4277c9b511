/**
 * The escrow as the ceremonies see it: seal a payload for its custodians, open it again with
 * everything verified, summarize a sidecar, and record the facts learned after sealing. Pure: it
 * turns bytes into bytes; `file-store.ts` puts them on disk.
 *
 * Verification when opening, in order (each failure is fatal — the escrow fails closed):
 * 1. every sealed file used matches the SHA-256 in the sidecar (ERR_ESCROW_TAMPERED);
 * 2. age opens it and authenticates it (ERR_ESCROW_DECRYPT / ERR_ESCROW_TAMPERED / ERR_ESCROW_FORMAT);
 * 3. the payload is exactly format v1 (ERR_ESCROW_FORMAT / ERR_ESCROW_VERSION);
 * 4. the sealed manifest equals the sidecar's, and every material's check value and KeyMaterialId
 *    agree with the sidecar (ERR_ESCROW_MISMATCH);
 * 5. every material's check value, recomputed from the material, equals the recorded one
 *    (ERR_CHECK_VALUE_MISMATCH).
 */
import { randomBytes } from 'node:crypto';
import type { ExpirationModel, KeySpec, KeyUsage, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import { KmsByokError } from '../core/errors.js';
import { parseKeyArn } from '../core/aws-ids.js';
import type { SecretBytes } from '../core/secret.js';
import {
  assertKeyId,
  checkValueMethod,
  componentCheckValue,
  type ComponentDocument,
  type CustodianRecipient,
  type EscrowKeyFacts,
  type EscrowManifest,
  type EscrowMaterial,
  type EscrowPayload,
  type EscrowSidecar,
  isIsoUtc,
  manifestDifference,
  parseComponent,
  parsePayload,
  parseShare,
  parseSidecar,
  type RecipientKind,
  type SealedFileRole,
  sealedFileName,
  serializeComponent,
  serializePayload,
  serializeShare,
  sha256Hex,
  SIDECAR_FORMAT,
  sidecarToJson,
  type SidecarFile,
  type SidecarMaterial,
  type ValidToRecord,
  validateManifest,
} from './format.js';
import { abbreviateRecipient, generateIdentity, parseRecipient, recipientOfIdentity, sealArmored, unsealArmored } from './seal.js';
import { handoverHint, makeShareDocuments, recoverPayloadIdentity, xorCombine, xorSplit } from './modes.js';
import { anchorFingerprint } from './anchor.js';
import { openHandovers, type HandoverClaim, type OneTimeIdentity } from './handover.js';

export { parseRecipient } from './seal.js';
export type { EscrowKeyFacts, EscrowManifest, EscrowMaterial, EscrowPayload, EscrowSidecar } from './format.js';

/** Who may open an escrow. */
export interface EscrowSealing {
  /** Custodians' public age recipients (`age1…` X25519 or `age1pq1…` hybrid), each with an optional label. */
  recipients: { recipient: string; label?: string }[];
  /**
   * Also (or only) seal to this passphrase (scrypt). With recipients, a second file is written.
   * Borrowed: sealing neither keeps nor disposes it.
   */
  passphrase?: SecretBytes;
  /** m-of-n: any `threshold` of the recipients open it; each gets a share file. */
  threshold?: number;
  /** Split knowledge: each recipient gets one full-length XOR component of every material; all are needed. */
  split?: 'xor';
  /**
   * Renewal seals (docs/escrow-format.md, "Renewal seals"): the whole payload sealed once more to each
   * of these recipients alone, so a scheduler's identity can re-import a split escrow unattended.
   */
  renewal?: { recipient: string; label?: string }[];
}

/**
 * Computes a labelled check value (e.g. `cmac-aes:1A2B3C`) of `material` with `method` (the label).
 * Injected by the caller (material/check-value.ts in production) so the escrow does not depend on it.
 */
export type ComputeCheckValue = (material: SecretBytes, keySpec: KeySpec, method: string) => string;

/** What sealing and opening need from outside. */
export interface EscrowDeps {
  computeCheckValue: ComputeCheckValue;
  /**
   * TESTS ONLY: scrypt work factor (log2 N) for passphrase sealing. Production leaves it unset and
   * gets age's default, 18 (about a second of work per attempt).
   */
  scryptWorkFactor?: number;
}

/** What goes into a new escrow version. Materials are borrowed: sealing neither keeps nor disposes them. */
export interface EscrowContents {
  key: EscrowKeyFacts;
  /** 1 for a key's first escrow; previous + 1 for each later one. */
  escrowVersion: number;
  /** ISO-8601 UTC. */
  created: string;
  /** `operator@host`. */
  createdBy: string;
  materials: EscrowMaterial[];
}

/** One sealed file, ready to be written: armored age text. */
export interface SealedFile {
  name: string;
  role: SealedFileRole;
  bytes: Uint8Array;
  sha256: string;
  /** Share/component files: the custodian it is sealed to. */
  holder?: { recipient: string; label?: string };
  /** Share/component files: 1-based custodian number. */
  index?: number;
  /** Share files: the share's check value, recorded in the sidecar (docs/escrow-format.md, "Share check values"). */
  checkValue?: string;
}

/** A sealed escrow version: its files and its sidecar. Nothing in it is secret. */
export interface SealedEscrow {
  keyId: string;
  escrowVersion: number;
  manifest: EscrowManifest;
  files: SealedFile[];
  sidecar: EscrowSidecar;
}

/** An escrow version as read back: its sidecar and whichever of its sealed files are at hand. */
export interface LoadedEscrow {
  sidecar: EscrowSidecar;
  files: { name: string; bytes: Uint8Array }[];
}

/**
 * What opens an escrow:
 * - `identities`: age identity strings. Opens a recipients escrow; for m-of-n and XOR escrows, opens
 *   every share/component file at hand that these identities can (all custodians at one machine).
 * - `passphrase`: opens the passphrase-sealed file.
 * - `shares` / `components`: documents each custodian decrypted on their own machine with
 *   {@link openCustodianFile} (or `age -d`), handed over as bytes.
 */
export type EscrowOpener =
  | { identities: string[] }
  | { passphrase: SecretBytes }
  | { shares: SecretBytes[] }
  | { components: SecretBytes[] }
  | HandoverOpener;

/**
 * Hand-over files (docs/custody.md, "Hand-over") and the escrow directory's open one-time identities:
 * checked against the escrow version being opened ({@link openHandovers}), then combined. `used`
 * collects the one-time recipients that opened them, for the host to remove once the ceremony is done.
 */
export interface HandoverOpener {
  handedOver: { name: string; bytes: Uint8Array }[];
  oneTime: OneTimeIdentity[];
  escrowDir: string;
  /** One-time recipients found expired (and removed) when the identities were loaded. */
  expired: string[];
  used: Set<string>;
  /** What the hand-over files that opened the escrow claimed (for the transcript). */
  claims: HandoverClaim[];
}

/** How an escrow version is sealed. */
export type SealingMode = 'recipients' | 'passphrase' | 'recipients+passphrase' | 'threshold' | 'xor';

/** The sealing mode a manifest describes. */
export function sealingMode(m: EscrowManifest): SealingMode {
  if (m.custodians.threshold !== undefined) return 'threshold';
  if (m.custodians.split === 'xor') return 'xor';
  if (m.custodians.recipients.length === 0) return 'passphrase';
  return m.custodians.passphrase ? 'recipients+passphrase' : 'recipients';
}

/** Disposes every material of a payload. */
export function disposePayload(payload: EscrowPayload): void {
  for (const m of payload.materials) m.material.dispose();
}

// ---------------------------------------------------------------------------------------------
// Sealing
// ---------------------------------------------------------------------------------------------

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function checkLabel(label: string | undefined, what: string): void {
  if (label === undefined) return;
  if (label.length === 0 || label.length > 128 || CONTROL_RE.test(label)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `${what}: label must be 1 to 128 printable characters`);
  }
}

/**
 * Checks a sealing as {@link sealEscrow} will (recipients, threshold or split against their count,
 * combinations), so commands can refuse it before any KMS request.
 * @throws KmsByokError with the code sealEscrow would throw
 */
export function assertSealingValid(sealing: EscrowSealing): void {
  validateSealing(sealing);
}

function validateSealing(sealing: EscrowSealing): CustodianRecipient[] {
  const recipients: CustodianRecipient[] = [];
  const seen = new Set<string>();
  for (const r of sealing.recipients) {
    let parsed: { recipient: string; kind: RecipientKind };
    try {
      parsed = parseRecipient(r.recipient);
    } catch (e) {
      if (e instanceof KmsByokError && r.label !== undefined) {
        throw new KmsByokError(e.code, `${e.message} (custodian ${JSON.stringify(r.label)})`, { hint: e.hint ?? '' });
      }
      throw e;
    }
    checkLabel(r.label, `recipient ${abbreviateRecipient(parsed.recipient)}`);
    if (seen.has(parsed.recipient)) {
      throw new KmsByokError('ERR_INVALID_RECIPIENT', `recipient ${abbreviateRecipient(parsed.recipient)} is listed twice`, {
        hint: 'one custodian never holds two shares or components: list each recipient once',
      });
    }
    seen.add(parsed.recipient);
    recipients.push(r.label === undefined ? parsed : { ...parsed, label: r.label });
  }
  if (sealing.passphrase !== undefined && sealing.passphrase.length === 0) {
    throw new KmsByokError('ERR_EMPTY_PASSPHRASE', 'passphrase is empty', { hint: 'give a passphrase of several random words' });
  }
  if (recipients.length === 0 && sealing.passphrase === undefined) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'the escrow needs at least one recipient or a passphrase', {
      hint: 'give each custodian\'s age recipient (age-keygen prints it)',
    });
  }
  if (sealing.threshold !== undefined && sealing.split !== undefined) {
    throw new KmsByokError('ERR_INVALID_COMBINATION', 'choose either a threshold or an XOR split, not both');
  }
  const splitting = sealing.threshold !== undefined || sealing.split !== undefined;
  if (splitting && sealing.passphrase !== undefined) {
    throw new KmsByokError('ERR_INVALID_COMBINATION', 'a passphrase copy cannot be combined with a split escrow', {
      hint: 'one passphrase holder could open it alone; drop the passphrase or the split',
    });
  }
  if (sealing.threshold !== undefined) {
    const t = sealing.threshold;
    if (!Number.isSafeInteger(t) || t < 2 || t > recipients.length || recipients.length > 255) {
      throw new KmsByokError(
        'ERR_INVALID_ARGUMENT',
        `threshold must be from 2 to the number of recipients (${recipients.length}), got ${t}`,
        { hint: 'omit the threshold to let any one custodian open the escrow' },
      );
    }
  }
  if (sealing.split !== undefined) {
    if (sealing.split !== 'xor') throw new KmsByokError('ERR_INVALID_ARGUMENT', `unknown split ${JSON.stringify(sealing.split)}`);
    if (recipients.length < 2 || recipients.length > 255) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `an XOR split needs 2 to 255 recipients, got ${recipients.length}`, {
        hint: 'give each custodian who holds a component with --recipient (all are needed to open it), or drop --split',
      });
    }
  }
  const renewalSeen = new Set<string>();
  for (const r of sealing.renewal ?? []) {
    const parsed = parseRecipient(r.recipient, '--renewal-recipient');
    checkLabel(r.label, `renewal recipient ${abbreviateRecipient(parsed.recipient)}`);
    if (renewalSeen.has(parsed.recipient)) {
      throw new KmsByokError('ERR_INVALID_RECIPIENT', `renewal recipient ${abbreviateRecipient(parsed.recipient)} is listed twice`, { hint: 'list each --renewal-recipient once' });
    }
    if (seen.has(parsed.recipient) && splitting) {
      throw new KmsByokError('ERR_INVALID_RECIPIENT', `renewal recipient ${abbreviateRecipient(parsed.recipient)} is also a custodian of the split`, {
        hint: 'one custodian holding the whole payload would defeat the split: give the scheduler its own age identity (age-keygen)',
      });
    }
    renewalSeen.add(parsed.recipient);
  }
  if (sealing.renewal !== undefined && sealing.renewal.length > 16) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `at most 16 renewal recipients, got ${sealing.renewal.length}`);
  }
  if (!splitting) {
    const kinds = new Set(recipients.map((r) => r.kind));
    if (kinds.size > 1) {
      throw new KmsByokError('ERR_INVALID_COMBINATION', 'post-quantum (age1pq1…) and classic (age1…) recipients cannot share one escrow file', {
        hint: 'a classic recipient would void the post-quantum protection: make every custodian age1pq1… or none',
      });
    }
  }
  return recipients;
}

function validateContents(contents: EscrowContents, deps: EscrowDeps): void {
  const k = contents.key;
  assertKeyId(k.keyId);
  const arn = parseKeyArn(k.keyArn);
  if (arn === undefined || arn.region !== k.region || arn.accountId !== k.account || arn.keyId !== k.keyId) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `key ARN ${k.keyArn} does not name key ${k.keyId} in ${k.account}/${k.region}`);
  }
  if (!isIsoUtc(contents.created)) throw new KmsByokError('ERR_INVALID_ARGUMENT', 'created must be an ISO-8601 UTC time');
  if (contents.createdBy.length === 0 || contents.createdBy.length > 256 || CONTROL_RE.test(contents.createdBy)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', 'createdBy must be 1 to 256 printable characters (operator@host)');
  }
  if (contents.materials.length === 0) throw new KmsByokError('ERR_INVALID_ARGUMENT', 'an escrow holds at least one material');
  contents.materials.forEach((m, i) => {
    if (m.index !== i + 1) throw new KmsByokError('ERR_INVALID_ARGUMENT', `material ${i + 1} has index ${m.index}: number materials 1, 2, … in import order`);
    if (m.material.disposed || m.material.length === 0) throw new KmsByokError('ERR_INVALID_ARGUMENT', `material ${m.index} is empty or disposed`);
    if (!isIsoUtc(m.createdAt)) throw new KmsByokError('ERR_INVALID_ARGUMENT', `material ${m.index}: createdAt must be an ISO-8601 UTC time`);
    if (m.keyMaterialId !== undefined && !/^[0-9a-f]{64}$/.test(m.keyMaterialId)) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `material ${m.index}: KeyMaterialId must be 64 lower-case hex characters`);
    }
    if (m.description !== undefined && (m.description.length > 256 || CONTROL_RE.test(m.description))) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `material ${m.index}: description must be at most 256 printable characters`);
    }
    let method: string;
    try {
      method = checkValueMethod(m.checkValue);
    } catch {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `material ${m.index}: check value must be labelled, e.g. cmac-aes:1A2B3C`);
    }
    const again = deps.computeCheckValue(m.material, k.keySpec, method);
    if (!sameCheckValue(again, m.checkValue)) {
      throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `material ${m.index}: check value ${m.checkValue} does not match the material (${again})`, {
        hint: 'the material changed since its check value was taken: stop and find out why',
      });
    }
  });
}

function sameCheckValue(a: string, b: string): boolean {
  const [la, ...ra] = a.split(':');
  const [lb, ...rb] = b.split(':');
  return la === lb && ra.join(':').toUpperCase() === rb.join(':').toUpperCase();
}

function newEscrowId(): string {
  return randomBytes(16).toString('hex');
}

async function sealedFile(
  name: string,
  role: SealedFileRole,
  plaintext: Uint8Array,
  to: Parameters<typeof sealArmored>[1],
  holder?: { recipient: string; label?: string },
  index?: number,
): Promise<SealedFile> {
  try {
    const bytes = await sealArmored(plaintext, to);
    const f: SealedFile = { name, role, bytes, sha256: sha256Hex(bytes) };
    if (holder !== undefined) f.holder = holder;
    if (index !== undefined) f.index = index;
    return f;
  } finally {
    plaintext.fill(0);
  }
}

function holderOf(r: CustodianRecipient): { recipient: string; label?: string } {
  return r.label === undefined ? { recipient: r.recipient } : { recipient: r.recipient, label: r.label };
}

/**
 * Seals a new escrow version. Validates the sealing (ERR_INVALID_RECIPIENT naming the bad recipient,
 * ERR_EMPTY_PASSPHRASE, ERR_INVALID_COMBINATION, ERR_INVALID_ARGUMENT) and the contents (each
 * material's check value is recomputed: ERR_CHECK_VALUE_MISMATCH), then writes, as bytes:
 * - recipients: `<stem>.age` sealed to every recipient; with a passphrase too, `<stem>.passphrase.age`;
 * - passphrase only: `<stem>.age` sealed to the passphrase;
 * - threshold M of N: `<stem>.age` sealed to a fresh identity, and `<stem>.share-<i>.age` for each
 *   custodian, holding a Shamir share of that identity, sealed to that custodian alone;
 * - XOR: `<stem>.component-<i>.age` for each custodian, holding one component of every material.
 * Plus the sidecar. All intermediate plaintexts are zeroed; the caller still owns (and disposes) the
 * materials it passed in.
 */
export async function sealEscrow(contents: EscrowContents, sealing: EscrowSealing, deps: EscrowDeps): Promise<SealedEscrow> {
  const recipients = validateSealing(sealing);
  validateContents(contents, deps);
  const { keyId } = contents.key;
  const v = contents.escrowVersion;
  const mainName = sealedFileName(keyId, v, 'main');
  const escrowId = newEscrowId();
  const manifest: EscrowManifest = {
    formatVersion: 1,
    escrowId,
    escrowVersion: v,
    keyArn: contents.key.keyArn,
    keyId,
    account: contents.key.account,
    region: contents.key.region,
    keySpec: contents.key.keySpec,
    keyUsage: contents.key.keyUsage,
    multiRegion: contents.key.multiRegion,
    custodians: { recipients, passphrase: sealing.passphrase !== undefined },
    created: contents.created,
    createdBy: contents.createdBy,
  };
  if (sealing.threshold !== undefined) manifest.custodians.threshold = sealing.threshold;
  if (sealing.split !== undefined) manifest.custodians.split = sealing.split;

  const files: SealedFile[] = [];
  let components: SidecarMaterial['components'][] | undefined;
  const scrypt = deps.scryptWorkFactor === undefined ? {} : { scryptWorkFactor: deps.scryptWorkFactor };

  if (sealing.threshold !== undefined) {
    // The payload identity is post-quantum when any custodian is, so the split adds no weaker link.
    const kind: RecipientKind = recipients.some((r) => r.kind === 'pq-hybrid') ? 'pq-hybrid' : 'x25519';
    const identity = await generateIdentity(kind);
    try {
      const identityText = identity.use((b) => new TextDecoder().decode(b));
      const payloadRecipient = await recipientOfIdentity(identityText);
      manifest.custodians.payloadRecipient = payloadRecipient;
      validateManifestInput(manifest);
      const payload: EscrowPayload = { manifest, materials: contents.materials };
      files.push(await sealedFile(mainName, 'threshold-payload', serializePayload(payload), { recipients: [payloadRecipient] }));
      const context = { escrowId, keyId, keyArn: manifest.keyArn, escrowVersion: v, payloadFile: mainName, payloadRecipient, threshold: sealing.threshold };
      const docs = await makeShareDocuments(identity, recipients.map(holderOf), context);
      try {
        // Prove the split before writing it: the first `threshold` shares must rebuild the identity.
        const check = await recoverPayloadIdentity(docs.slice(0, sealing.threshold), { ...context, shares: docs.length });
        const same = check.equals(identity);
        check.dispose();
        if (!same) throw new KmsByokError('ERR_INTERNAL', 'shares did not rebuild the payload identity');
        for (const d of docs) {
          const name = sealedFileName(keyId, v, 'share', d.shareIndex);
          const f = await sealedFile(name, 'share', serializeShare(d), { recipients: [d.holder.recipient] }, d.holder, d.shareIndex);
          f.checkValue = componentCheckValue(d.share);
          files.push(f);
        }
      } finally {
        for (const d of docs) d.share.dispose();
      }
    } finally {
      identity.dispose();
    }
  } else if (sealing.split === 'xor') {
    validateManifestInput(manifest);
    const n = recipients.length;
    const split = contents.materials.map((m) => xorSplit(m.material, n));
    try {
      components = contents.materials.map((_, mi) =>
        recipients.map((r, ci) => ({ index: ci + 1, holder: holderOf(r), checkValue: componentCheckValue(split[mi]![ci]!) })),
      );
      for (let ci = 0; ci < n; ci++) {
        const r = recipients[ci]!;
        const doc: ComponentDocument = {
          escrowId,
          manifest,
          componentIndex: ci + 1,
          components: n,
          holder: holderOf(r),
          materials: contents.materials.map((m, mi) => ({
            index: m.index,
            checkValue: m.checkValue,
            componentCheckValue: components![mi]![ci]!.checkValue,
            component: split[mi]![ci]!,
            ...(m.keyMaterialId === undefined ? {} : { keyMaterialId: m.keyMaterialId }),
            ...(m.description === undefined ? {} : { description: m.description }),
            createdAt: m.createdAt,
          })),
        };
        const name = sealedFileName(keyId, v, 'component', ci + 1);
        files.push(await sealedFile(name, 'component', serializeComponent(doc), { recipients: [r.recipient] }, holderOf(r), ci + 1));
      }
    } finally {
      for (const parts of split) for (const p of parts) p.dispose();
    }
  } else {
    validateManifestInput(manifest);
    const payload: EscrowPayload = { manifest, materials: contents.materials };
    if (recipients.length > 0) {
      files.push(await sealedFile(mainName, 'recipients', serializePayload(payload), { recipients: recipients.map((r) => r.recipient) }));
    }
    if (sealing.passphrase !== undefined) {
      const name = recipients.length > 0 ? sealedFileName(keyId, v, 'passphrase-copy') : mainName;
      files.push(await sealedFile(name, 'passphrase', serializePayload(payload), { passphrase: sealing.passphrase, ...scrypt }));
    }
  }

  // Renewal seals: the same payload, sealed to each scheduler recipient alone, in every mode.
  if (sealing.renewal !== undefined && sealing.renewal.length > 0) {
    const payload: EscrowPayload = { manifest, materials: contents.materials };
    for (const [i, r] of sealing.renewal.entries()) {
      const holder = { recipient: parseRecipient(r.recipient).recipient, ...(r.label === undefined ? {} : { label: r.label }) };
      files.push(await sealedFile(sealedFileName(keyId, v, 'renewal', i + 1), 'renewal', serializePayload(payload), { recipients: [holder.recipient] }, holder, i + 1));
    }
  }

  const sidecar: EscrowSidecar = {
    format: SIDECAR_FORMAT,
    version: files.some((f) => f.role === 'renewal') ? 3 : 2,
    manifest,
    files: files.map((f) => {
      const e: SidecarFile = { name: f.name, role: f.role, sha256: f.sha256 };
      if (f.holder !== undefined) e.holder = f.holder;
      if (f.index !== undefined) e.index = f.index;
      if (f.checkValue !== undefined) e.checkValue = f.checkValue;
      return e;
    }),
    materials: contents.materials.map((m, mi) => {
      const s: SidecarMaterial = { index: m.index, checkValue: m.checkValue, validTo: [] };
      if (m.keyMaterialId !== undefined) s.keyMaterialId = m.keyMaterialId;
      const c = components?.[mi];
      if (c !== undefined) s.components = c;
      // The claim a ceremony checks against the key's tags (docs/escrow-format.md, "Anchors").
      s.anchor = anchorFingerprint(m.material, keyId, m.index);
      return s;
    }),
    updated: contents.created,
  };
  // The sidecar must parse back exactly: a sidecar we cannot read later would strand the escrow.
  parseSidecar(JSON.parse(JSON.stringify(sidecarToJson(sidecar))));
  return { keyId, escrowVersion: v, manifest, files, sidecar };
}

function validateManifestInput(m: EscrowManifest): void {
  try {
    validateManifest(m);
  } catch (e) {
    if (e instanceof KmsByokError) throw new KmsByokError('ERR_INVALID_ARGUMENT', e.message.replace(/^escrow manifest: /, ''), { hint: 'check the key facts given to the escrow' });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------------

function fileOf(loaded: LoadedEscrow, entry: SidecarFile): Uint8Array | undefined {
  const f = loaded.files.find((x) => x.name === entry.name);
  if (f === undefined) return undefined;
  if (sha256Hex(f.bytes) !== entry.sha256) {
    throw new KmsByokError('ERR_ESCROW_TAMPERED', `${entry.name} does not match the SHA-256 its sidecar records`, {
      hint: 'the file was altered or damaged since it was sealed: open another copy',
    });
  }
  return f.bytes;
}

function requireFile(loaded: LoadedEscrow, sidecar: EscrowSidecar, role: SealedFileRole, what: string): { entry: SidecarFile; bytes: Uint8Array } {
  const entry = sidecar.files.find((f) => f.role === role);
  if (entry === undefined) {
    throw new KmsByokError('ERR_ESCROW_DECRYPT', `this escrow has no ${what}`, { hint: `it is sealed as ${sealingMode(sidecar.manifest)}` });
  }
  const bytes = fileOf(loaded, entry);
  if (bytes === undefined) {
    throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `${entry.name} is missing`, { hint: 'copy it next to its sidecar and try again' });
  }
  return { entry, bytes };
}

async function openPayloadFile(name: string, bytes: Uint8Array, opener: Parameters<typeof unsealArmored>[1]): Promise<EscrowPayload> {
  const plain = await unsealArmored(bytes, opener, name);
  try {
    return plain.use((b) => parsePayload(b));
  } finally {
    plain.dispose();
  }
}

/**
 * Opens an escrow version and verifies everything (see the module comment); any failure is fatal and
 * no material is returned. The caller owns the returned materials: {@link disposePayload} them.
 */
/**
 * Why an escrow is opened (docs/custody.md, "Renewal seals"): `renewal` (reimport, status, verify —
 * what the scheduler runs) may open through a renewal seal; `custody` (export, reseal, restore,
 * rotate, revoke, hand-over, wrap — anything that moves the material or changes who holds it) must be
 * opened by the custodians. The default is `custody`, so a new caller never gets renewal access silently.
 */
export type OpenPurpose = 'renewal' | 'custody';

/** The refusal when only a renewal seal opens an escrow for a custody purpose. */
export function renewalScopeError(name: string): KmsByokError {
  return new KmsByokError('ERR_RENEWAL_SEAL_SCOPE', `${name} is opened here only through its renewal seal, which serves renewal alone (reimport, status, verify)`, {
    hint: 'the custodians must open it: pass their --identity files, or their handed-over shares (--share)',
  });
}

export async function openEscrow(loaded: LoadedEscrow, given: EscrowOpener, deps: EscrowDeps, purpose: OpenPurpose = 'custody'): Promise<EscrowPayload> {
  const sidecar = parseSidecar(JSON.parse(JSON.stringify(sidecarToJson(loaded.sidecar))));
  if ('handedOver' in given) {
    const opened = await openHandovers(given.handedOver, given.oneTime, sidecar, { escrowDir: given.escrowDir, expired: given.expired });
    const docs = 'shares' in opened.opener ? opened.opener.shares : opened.opener.components;
    try {
      const payload = await openEscrow(loaded, opened.opener, deps, purpose);
      for (const r of opened.used) given.used.add(r);
      given.claims.push(...opened.claims);
      return payload;
    } finally {
      for (const d of docs) d.dispose();
    }
  }
  const opener = given;
  // Every sealed file at hand is checked against the sidecar before anything is decrypted.
  for (const entry of sidecar.files) fileOf(loaded, entry);
  const mode = sealingMode(sidecar.manifest);
  let payload: EscrowPayload;
  const renewal = 'identities' in opener && purpose === 'renewal' ? await openRenewal(loaded, sidecar, opener.identities) : undefined;
  if (renewal !== undefined) {
    payload = renewal;
  } else if ('identities' in opener && purpose === 'custody' && sidecar.files.some((f) => f.role === 'renewal')) {
    // A custody open never uses the renewal seal; when the custodians' files do not open but the
    // renewal seal would, say so (the scheduler's identity is not a custodian's).
    try {
      payload = await openByCustodians(loaded, sidecar, opener, mode);
    } catch (e) {
      const scoped = await openRenewal(loaded, sidecar, opener.identities).catch(() => undefined);
      if (scoped === undefined) throw e;
      disposePayload(scoped);
      throw renewalScopeError(sidecar.files.find((f) => f.role === 'renewal')!.name.replace(/\.renewal-[0-9]+\.age$/, '.age'));
    }
  } else if ('passphrase' in opener) {
    const { entry, bytes } = requireFile(loaded, sidecar, 'passphrase', 'passphrase-sealed copy');
    payload = await openPayloadFile(entry.name, bytes, { passphrase: opener.passphrase });
  } else if (mode === 'threshold') {
    payload = await openThreshold(loaded, sidecar, opener);
  } else if (mode === 'xor') {
    payload = await openXor(loaded, sidecar, opener);
  } else if ('identities' in opener) {
    const { entry, bytes } = requireFile(loaded, sidecar, 'recipients', 'file sealed to recipients (it is sealed to a passphrase only)');
    payload = await openPayloadFile(entry.name, bytes, { identities: opener.identities });
  } else {
    throw new KmsByokError('ERR_INVALID_COMBINATION', `this escrow is not split (it is sealed as ${mode}): open it with an identity or the passphrase`);
  }
  try {
    verifyPayload(payload, sidecar, deps);
  } catch (e) {
    disposePayload(payload);
    throw e;
  }
  return payload;
}

async function openByCustodians(loaded: LoadedEscrow, sidecar: EscrowSidecar, opener: { identities: string[] }, mode: ReturnType<typeof sealingMode>): Promise<EscrowPayload> {
  if (mode === 'threshold') return openThreshold(loaded, sidecar, opener);
  if (mode === 'xor') return openXor(loaded, sidecar, opener);
  const { entry, bytes } = requireFile(loaded, sidecar, 'recipients', 'file sealed to recipients (it is sealed to a passphrase only)');
  return openPayloadFile(entry.name, bytes, { identities: opener.identities });
}

/** Opens the first renewal seal the identities open (docs/escrow-format.md, "Renewal seals"), if any. */
async function openRenewal(loaded: LoadedEscrow, sidecar: EscrowSidecar, identities: string[]): Promise<EscrowPayload | undefined> {
  for (const entry of sidecar.files.filter((f) => f.role === 'renewal')) {
    const bytes = fileOf(loaded, entry);
    if (bytes === undefined) continue;
    const plain = await tryUnseal(bytes, identities, entry.name);
    if (plain === undefined) continue;
    try {
      return plain.use((b) => parsePayload(b));
    } finally {
      plain.dispose();
    }
  }
  return undefined;
}

async function openThreshold(loaded: LoadedEscrow, sidecar: EscrowSidecar, opener: EscrowOpener): Promise<EscrowPayload> {
  const m = sidecar.manifest;
  const threshold = m.custodians.threshold!;
  const payloadRecipient = m.custodians.payloadRecipient!;
  const shareFiles = sidecar.files.filter((f) => f.role === 'share');
  const docs: ReturnType<typeof parseShare>[] = [];
  try {
    if ('identities' in opener) {
      for (const entry of shareFiles) {
        const bytes = fileOf(loaded, entry);
        if (bytes === undefined) continue;
        const plain = await tryUnseal(bytes, opener.identities, entry.name);
        if (plain === undefined) continue;
        try {
          docs.push(plain.use((b) => parseShare(b)));
        } finally {
          plain.dispose();
        }
      }
    } else if ('shares' in opener) {
      for (const s of opener.shares) docs.push(s.use((b) => parseShare(b)));
    } else {
      throw new KmsByokError('ERR_INVALID_COMBINATION', `this is a ${threshold}-of-${shareFiles.length} escrow: open it with custodians' identities or shares`);
    }
    const main = requireFile(loaded, sidecar, 'threshold-payload', 'm-of-n payload file');
    const identity = await recoverPayloadIdentity(docs, {
      escrowId: m.escrowId,
      keyId: m.keyId,
      keyArn: m.keyArn,
      escrowVersion: m.escrowVersion,
      payloadFile: main.entry.name,
      payloadRecipient,
      threshold,
      shares: m.custodians.recipients.length,
    });
    try {
      const text = identity.use((b) => new TextDecoder().decode(b));
      return await openPayloadFile(main.entry.name, main.bytes, { identities: [text] });
    } finally {
      identity.dispose();
    }
  } finally {
    for (const d of docs) d.share.dispose();
  }
}

async function tryUnseal(bytes: Uint8Array, identities: string[], name: string): Promise<SecretBytes | undefined> {
  try {
    return await unsealArmored(bytes, { identities }, name);
  } catch (e) {
    if (e instanceof KmsByokError && e.code === 'ERR_ESCROW_DECRYPT') return undefined;
    throw e;
  }
}

async function openXor(loaded: LoadedEscrow, sidecar: EscrowSidecar, opener: EscrowOpener): Promise<EscrowPayload> {
  const m = sidecar.manifest;
  const n = m.custodians.recipients.length;
  const docs: ComponentDocument[] = [];
  const disposeDocs = () => {
    for (const d of docs) for (const x of d.materials) x.component.dispose();
  };
  try {
    if ('identities' in opener) {
      for (const entry of sidecar.files.filter((f) => f.role === 'component')) {
        const bytes = fileOf(loaded, entry);
        if (bytes === undefined) continue;
        const plain = await tryUnseal(bytes, opener.identities, entry.name);
        if (plain === undefined) continue;
        try {
          docs.push(plain.use((b) => parseComponent(b)));
        } finally {
          plain.dispose();
        }
      }
    } else if ('components' in opener) {
      for (const c of opener.components) docs.push(c.use((b) => parseComponent(b)));
    } else {
      throw new KmsByokError('ERR_INVALID_COMBINATION', `this escrow is split into ${n} XOR components: open it with custodians' identities or components`);
    }
    const seen = new Set<number>();
    for (const d of docs) {
      const who = `component ${d.componentIndex}${d.holder.label === undefined ? '' : ` (${d.holder.label})`}`;
      if (d.escrowId !== m.escrowId || d.manifest.escrowId !== m.escrowId) {
        throw new KmsByokError('ERR_ESCROW_FOREIGN_SHARE', `${who} belongs to another escrow (${d.manifest.keyId} v${d.manifest.escrowVersion}), not ${m.keyId} v${m.escrowVersion}`, {
          hint: 'each custodian must bring their component file of this escrow version',
        });
      }
      const diff = manifestDifference(d.manifest, m);
      if (diff !== undefined || d.components !== n) {
        throw new KmsByokError('ERR_ESCROW_MISMATCH', `${who} disagrees with the sidecar on ${diff ?? 'components'}`, { hint: 'the component or the sidecar was altered' });
      }
      if (seen.has(d.componentIndex)) {
        throw new KmsByokError('ERR_ESCROW_DUPLICATE_SHARE', `${who} was given twice`, { hint: `bring all ${n} different custodians' components` });
      }
      seen.add(d.componentIndex);
      if (d.materials.length !== sidecar.materials.length) {
        throw new KmsByokError('ERR_ESCROW_MISMATCH', `${who} holds ${d.materials.length} materials, the sidecar lists ${sidecar.materials.length}`);
      }
      d.materials.forEach((x, i) => {
        const recorded = sidecar.materials[i]!.components?.[d.componentIndex - 1]?.checkValue;
        const actual = componentCheckValue(x.component);
        if (x.componentCheckValue !== actual || recorded !== actual) {
          throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `${who}, material ${x.index}: component check value ${actual} differs from the recorded ${recorded ?? x.componentCheckValue}`, {
            hint: 'the component is damaged: do not use it',
          });
        }
      });
    }
    if (docs.length < n) {
      const missing = n - docs.length;
      throw new KmsByokError('ERR_ESCROW_TOO_FEW_SHARES', `all ${n} components are needed, ${docs.length} given: ${missing} more needed`, {
        hint: handoverHint(missing, 'component', sidecar.files.find((f) => f.role === 'component')?.name ?? `${m.keyId}.v${m.escrowVersion}.component-1.age`),
      });
    }
    const first = docs[0]!;
    const materials: EscrowMaterial[] = [];
    try {
      first.materials.forEach((x, i) => {
        for (const d of docs) {
          const y = d.materials[i]!;
          if (y.checkValue !== x.checkValue || y.createdAt !== x.createdAt || y.keyMaterialId !== x.keyMaterialId || y.description !== x.description) {
            throw new KmsByokError('ERR_ESCROW_MISMATCH', `components disagree on material ${x.index}`);
          }
        }
        const material = xorCombine(docs.map((d) => d.materials[i]!.component));
        const out: EscrowMaterial = { index: x.index, checkValue: x.checkValue, material, createdAt: x.createdAt };
        if (x.keyMaterialId !== undefined) out.keyMaterialId = x.keyMaterialId;
        if (x.description !== undefined) out.description = x.description;
        materials.push(out);
      });
    } catch (e) {
      for (const x of materials) x.material.dispose();
      throw e;
    }
    return { manifest: first.manifest, materials };
  } finally {
    disposeDocs();
  }
}

function verifyPayload(payload: EscrowPayload, sidecar: EscrowSidecar, deps: EscrowDeps): void {
  const diff = manifestDifference(payload.manifest, sidecar.manifest);
  if (diff !== undefined) {
    throw new KmsByokError('ERR_ESCROW_MISMATCH', `the sealed manifest and the sidecar disagree on ${diff}`, {
      hint: 'the sidecar was altered or belongs to another escrow: restore it from a copy',
    });
  }
  if (payload.materials.length !== sidecar.materials.length) {
    throw new KmsByokError('ERR_ESCROW_MISMATCH', `the escrow holds ${payload.materials.length} materials, the sidecar lists ${sidecar.materials.length}`);
  }
  payload.materials.forEach((m, i) => {
    const s = sidecar.materials[i]!;
    if (m.index !== s.index || !sameCheckValue(m.checkValue, s.checkValue)) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `material ${m.index}: sealed check value ${m.checkValue} differs from the sidecar's ${s.checkValue}`);
    }
    const sidecarIds = [s.keyMaterialId, s.firstImport?.keyMaterialId].filter((x): x is string => x !== undefined);
    const ids = new Set(m.keyMaterialId === undefined ? sidecarIds : [m.keyMaterialId, ...sidecarIds]);
    if (ids.size > 1) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `material ${m.index}: the sealed KeyMaterialId and the sidecar's differ`);
    }
    if (s.anchor !== undefined && s.anchor !== anchorFingerprint(m.material, payload.manifest.keyId, m.index)) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `material ${m.index}: the sidecar's anchor ${s.anchor} is not the sealed material's`, {
        hint: 'the sidecar was altered or belongs to another escrow: restore it from a copy',
      });
    }
  });
  for (const m of payload.materials) {
    const again = deps.computeCheckValue(m.material, payload.manifest.keySpec, checkValueMethod(m.checkValue));
    if (!sameCheckValue(again, m.checkValue)) {
      throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `material ${m.index}: check value is ${again}, the escrow records ${m.checkValue}`, {
        hint: 'the escrow does not hold the material it claims: do not import it',
      });
    }
  }
}

/**
 * Custodian side of a split escrow: opens one share or component file with the custodian's
 * identities and returns the document bytes to hand to {@link openEscrow} (`shares`/`components`).
 * The result is secret: dispose it once handed over.
 */
export async function openCustodianFile(bytes: Uint8Array, identities: string[], name: string): Promise<SecretBytes> {
  const plain = await unsealArmored(bytes, { identities }, name);
  try {
    // Parse once so a wrong or damaged file is refused at the custodian's desk, not later.
    plain.use((b) => {
      try {
        parseShare(b).share.dispose();
      } catch (e) {
        if (!(e instanceof KmsByokError && e.message.includes('not a kms-byok-escrow-share document'))) throw e;
        for (const x of parseComponent(b).materials) x.component.dispose();
      }
    });
  } catch (e) {
    plain.dispose();
    throw e;
  }
  return plain;
}

// ---------------------------------------------------------------------------------------------
// Summary and later facts
// ---------------------------------------------------------------------------------------------

/** What `escrow inspect` shows: everything in the sidecar, nothing secret. */
export interface EscrowSummary {
  keyId: string;
  keyArn: string;
  account: string;
  region: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  multiRegion: boolean;
  escrowId: string;
  escrowVersion: number;
  created: string;
  createdBy: string;
  updated: string;
  sealing: SealingMode;
  threshold?: number;
  custodians: { recipient: string; kind: RecipientKind; label?: string }[];
  passphrase: boolean;
  /** Renewal seals: who (a scheduler's recipient) can open the whole payload alone for unattended renewal. */
  renewal: { recipient: string; label?: string; file: string }[];
  files: { name: string; role: SealedFileRole; sha256: string; holder?: string }[];
  materials: {
    index: number;
    checkValue: string;
    keyMaterialId?: string;
    firstImportedAt?: string;
    /** The latest recorded expiry: a time, `null` for KEY_MATERIAL_DOES_NOT_EXPIRE, absent when none recorded. */
    validTo?: string | null;
    validToHistory: ValidToRecord[];
  }[];
}

/** Summarizes an escrow version from its sidecar alone (no secret needed). */
export function inspectEscrow(sidecar: EscrowSidecar): EscrowSummary {
  const s = parseSidecar(JSON.parse(JSON.stringify(sidecarToJson(sidecar))));
  const m = s.manifest;
  const summary: EscrowSummary = {
    keyId: m.keyId,
    keyArn: m.keyArn,
    account: m.account,
    region: m.region,
    keySpec: m.keySpec,
    keyUsage: m.keyUsage,
    multiRegion: m.multiRegion,
    escrowId: m.escrowId,
    escrowVersion: m.escrowVersion,
    created: m.created,
    createdBy: m.createdBy,
    updated: s.updated,
    sealing: sealingMode(m),
    custodians: m.custodians.recipients.map((r) => ({ ...r })),
    passphrase: m.custodians.passphrase,
    renewal: s.files
      .filter((f) => f.role === 'renewal' && f.holder !== undefined)
      .map((f) => ({ recipient: f.holder!.recipient, ...(f.holder!.label === undefined ? {} : { label: f.holder!.label }), file: f.name })),
    files: s.files.map((f) => {
      const out: EscrowSummary['files'][number] = { name: f.name, role: f.role, sha256: f.sha256 };
      if (f.holder !== undefined) out.holder = f.holder.label ?? abbreviateRecipient(f.holder.recipient);
      return out;
    }),
    materials: s.materials.map((x) => {
      const out: EscrowSummary['materials'][number] = { index: x.index, checkValue: x.checkValue, validToHistory: x.validTo.map((v) => ({ ...v })) };
      const id = x.keyMaterialId ?? x.firstImport?.keyMaterialId;
      if (id !== undefined) out.keyMaterialId = id;
      if (x.firstImport !== undefined) out.firstImportedAt = x.firstImport.importedAt;
      const last = x.validTo[x.validTo.length - 1];
      if (last !== undefined) out.validTo = last.validTo ?? null;
      return out;
    }),
  };
  if (m.custodians.threshold !== undefined) summary.threshold = m.custodians.threshold;
  return summary;
}

/** A fact learned at an import of one material (first import or re-import). */
export interface ImportFact {
  /** 1-based material index in the escrow. */
  materialIndex: number;
  /** ISO-8601 UTC. */
  importedAt: string;
  region: string;
  expirationModel: ExpirationModel;
  /** ISO-8601 UTC; required when expirationModel is KEY_MATERIAL_EXPIRES. */
  validTo?: string;
  /** As returned by ImportKeyMaterial. */
  keyMaterialId?: string;
  wrappingAlgorithm?: WrappingAlgorithm;
  wrappingKeySpec?: WrappingKeySpec;
}

/**
 * Returns a new sidecar with an import recorded: the KeyMaterialId (once known it may not change:
 * ERR_ESCROW_MISMATCH), the first import (kept from the first call), and one more ValidTo entry.
 */
export function recordImport(sidecar: EscrowSidecar, fact: ImportFact): EscrowSidecar {
  const next = parseSidecar(JSON.parse(JSON.stringify(sidecarToJson(sidecar))));
  const mat = next.materials[fact.materialIndex - 1];
  if (mat === undefined) throw new KmsByokError('ERR_INVALID_ARGUMENT', `the escrow has no material ${fact.materialIndex}`);
  if (fact.keyMaterialId !== undefined) {
    const known = mat.keyMaterialId ?? mat.firstImport?.keyMaterialId;
    if (known !== undefined && known !== fact.keyMaterialId) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `material ${mat.index} has KeyMaterialId ${known}, KMS reported ${fact.keyMaterialId}`, {
        hint: 'KMS holds different material than this escrow: stop and investigate',
      });
    }
    mat.keyMaterialId = fact.keyMaterialId;
  }
  if (mat.firstImport === undefined) {
    mat.firstImport = { importedAt: fact.importedAt, region: fact.region };
    if (fact.keyMaterialId !== undefined) mat.firstImport.keyMaterialId = fact.keyMaterialId;
    if (fact.wrappingAlgorithm !== undefined) mat.firstImport.wrappingAlgorithm = fact.wrappingAlgorithm;
    if (fact.wrappingKeySpec !== undefined) mat.firstImport.wrappingKeySpec = fact.wrappingKeySpec;
  }
  const rec: ValidToRecord = { recordedAt: fact.importedAt, region: fact.region, expirationModel: fact.expirationModel };
  if (fact.validTo !== undefined) rec.validTo = fact.validTo;
  mat.validTo.push(rec);
  if (Date.parse(fact.importedAt) > Date.parse(next.updated)) next.updated = fact.importedAt;
  // Validate the result with the format's own rules (times, regions, ValidTo vs expiration model).
  try {
    return parseSidecar(JSON.parse(JSON.stringify(sidecarToJson(next))));
  } catch (e) {
    if (e instanceof KmsByokError) throw new KmsByokError('ERR_INVALID_ARGUMENT', e.message.replace(/^escrow sidecar: /, 'import fact: '));
    throw e;
  }
}

/**
 * Refuses a sidecar replacement that changes anything sealed-time: the manifest, the file list and
 * hashes, the materials' check values and components, a known KeyMaterialId or first import, or
 * earlier ValidTo entries (history is append-only). ERR_ESCROW_MISMATCH names the first change.
 */
export function assertSidecarUpdate(previous: EscrowSidecar, next: EscrowSidecar): void {
  const fail = (what: string): never => {
    throw new KmsByokError('ERR_ESCROW_MISMATCH', `a sidecar update may not change ${what}`, {
      hint: 'sealed facts are immutable: seal a new escrow version instead',
    });
  };
  const diff = manifestDifference(previous.manifest, next.manifest);
  if (diff !== undefined) fail(diff);
  const pj = sidecarToJson(previous);
  const nj = sidecarToJson(next);
  if (JSON.stringify(pj.files) !== JSON.stringify(nj.files)) fail('the sealed files or their SHA-256');
  if (previous.materials.length !== next.materials.length) fail('the number of materials');
  previous.materials.forEach((p, i) => {
    const n = next.materials[i]!;
    if (p.index !== n.index || p.checkValue !== n.checkValue) fail(`material ${p.index}'s check value`);
    if (JSON.stringify(p.components) !== JSON.stringify(n.components)) fail(`material ${p.index}'s components`);
    if (p.anchor !== n.anchor) fail(`material ${p.index}'s anchor`);
    if (p.keyMaterialId !== undefined && p.keyMaterialId !== n.keyMaterialId) fail(`material ${p.index}'s KeyMaterialId`);
    if (p.firstImport !== undefined && JSON.stringify(p.firstImport) !== JSON.stringify(n.firstImport)) fail(`material ${p.index}'s first import`);
    if (n.validTo.length < p.validTo.length || JSON.stringify(p.validTo) !== JSON.stringify(n.validTo.slice(0, p.validTo.length))) {
      fail(`material ${p.index}'s earlier ValidTo entries`);
    }
  });
}

/**
 * Contents of the next escrow version of the same key: every material of `previous` (cloned, with
 * KeyMaterialIds learned since, from `previousSidecar`) plus `added` as the next index.
 */
export function nextEscrowContents(
  previous: EscrowPayload,
  added: Omit<EscrowMaterial, 'index'>,
  meta: { created: string; createdBy: string; previousSidecar?: EscrowSidecar },
): EscrowContents {
  const p = previous.manifest;
  const materials: EscrowMaterial[] = previous.materials.map((m, i) => {
    const out: EscrowMaterial = { ...m, material: m.material.clone() };
    const learned = meta.previousSidecar?.materials[i];
    const id = m.keyMaterialId ?? learned?.keyMaterialId ?? learned?.firstImport?.keyMaterialId;
    if (id !== undefined) out.keyMaterialId = id;
    return out;
  });
  materials.push({ ...added, index: materials.length + 1 });
  return {
    key: { keyArn: p.keyArn, keyId: p.keyId, account: p.account, region: p.region, keySpec: p.keySpec, keyUsage: p.keyUsage, multiRegion: p.multiRegion },
    escrowVersion: p.escrowVersion + 1,
    created: meta.created,
    createdBy: meta.createdBy,
    materials,
  };
}

/**
 * Contents of the next escrow version of the same key with the same materials, for a custodian change
 * (`escrow reseal`): every material cloned, with KeyMaterialIds learned since from `previousSidecar`.
 */
export function resealContents(previous: EscrowPayload, meta: { created: string; createdBy: string; previousSidecar?: EscrowSidecar }): EscrowContents {
  const placeholder = previous.materials[0];
  if (placeholder === undefined) throw new KmsByokError('ERR_ESCROW_FORMAT', 'the escrow holds no material');
  const next = nextEscrowContents(previous, { ...placeholder, material: placeholder.material.clone() }, meta);
  next.materials.pop()!.material.dispose();
  return next;
}

/**
 * Carries every non-secret fact of `previous` (first imports, ValidTo history) into the sidecar of a
 * new version holding the same materials in the same order (reseal, rotation).
 */
export function carryOverFacts(next: EscrowSidecar, previous: EscrowSidecar): EscrowSidecar {
  const out = parseSidecar(JSON.parse(JSON.stringify(sidecarToJson(next))));
  previous.materials.forEach((p, i) => {
    const n = out.materials[i];
    if (n === undefined || n.checkValue !== p.checkValue) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `material ${p.index} of the new version is not material ${p.index} of the old one`, {
        hint: 'this is a bug: the new version must keep every material in order',
      });
    }
    if (p.keyMaterialId !== undefined) n.keyMaterialId = p.keyMaterialId;
    if (p.firstImport !== undefined) n.firstImport = JSON.parse(JSON.stringify(p.firstImport)) as typeof p.firstImport;
    n.validTo = JSON.parse(JSON.stringify(p.validTo)) as typeof p.validTo;
  });
  return out;
}

/**
 * Whether an unattended run holding these identities' recipients (or the passphrase) can open the
 * escrow version alone (docs/scheduling.md, "Split escrows"): through a renewal seal, as a plain
 * recipient, through the passphrase copy, or — m-of-n / XOR — only when the identities hold enough
 * shares / every component. `recipients` undefined: the identity could not be read here, so only
 * what holds for any single identity is decided (a split escrow without a renewal seal never opens).
 */
export function unattendedOpening(
  sidecar: EscrowSidecar,
  secret: { recipients?: ReadonlySet<string> } | { passphrase: true },
): { opens: boolean | 'unknown'; why: string } {
  const c = sidecar.manifest.custodians;
  const mode = sealingMode(sidecar.manifest);
  const renewal = sidecar.files.filter((f) => f.role === 'renewal' && f.holder !== undefined).map((f) => f.holder!.recipient);
  if ('passphrase' in secret) {
    return c.passphrase ? { opens: true, why: 'the passphrase copy' } : { opens: false, why: `it has no passphrase copy (it is sealed as ${mode})` };
  }
  const mine = secret.recipients;
  if (mine === undefined) {
    if ((mode === 'threshold' || mode === 'xor') && renewal.length === 0) {
      return { opens: false, why: mode === 'threshold' ? `it is a ${c.threshold}-of-${c.recipients.length} escrow with no renewal seal: one identity holds at most one share` : `it is split into ${c.recipients.length} XOR components with no renewal seal: one identity holds one component` };
    }
    return { opens: 'unknown', why: 'the identity file could not be read here' };
  }
  if (renewal.some((r) => mine.has(r))) return { opens: true, why: 'its renewal seal' };
  if (mode === 'recipients' || mode === 'recipients+passphrase') {
    return c.recipients.some((r) => mine.has(r.recipient)) ? { opens: true, why: 'a custodian identity' } : { opens: false, why: 'the identity is not one of its recipients, and no renewal seal is sealed to it' };
  }
  if (mode === 'passphrase') return { opens: false, why: 'it is sealed to a passphrase only' };
  const held = c.recipients.filter((r) => mine.has(r.recipient)).length;
  const needed = mode === 'threshold' ? c.threshold! : c.recipients.length;
  if (held >= needed) return { opens: true, why: `the identity file holds ${held} of the ${needed} ${mode === 'threshold' ? 'shares' : 'components'} needed` };
  return {
    opens: false,
    why: `it is ${mode === 'threshold' ? `a ${c.threshold}-of-${c.recipients.length} escrow` : `split into ${c.recipients.length} XOR components`}: the identity holds ${held} of the ${needed} needed, and no renewal seal is sealed to it`,
  };
}
