/**
 * The onboard ceremony: a new EXTERNAL key with locally generated material, sealed in an escrow
 * before anything is imported. Straight-line code over ports; every input was validated by the
 * caller (see `OnboardOptions`), and the escrow vault was proven writable before this runs.
 *
 * Order (docs/architecture.md): alias free? → CreateKey → CreateAlias → GetParametersForImport → wrap →
 * seal + durably write escrow → ImportKeyMaterial → record KeyMaterialId/ValidTo in the sidecar →
 * verify (Enabled, Encrypt/Decrypt round trip).
 */
import { KmsByokError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import { assertValidTo } from '../core/time.js';
import type { KeySpec, KeyUsage, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import type { KmsPort } from '../kms/port.js';
import { generateKeyMaterial } from '../material/generate.js';
import { checkValue } from '../material/check-value.js';
import { assertKeyUsageAllowed, assertWrappingAllowed } from '../material/key-specs.js';
import { assertMaterialMatchesSpec } from '../material/parse.js';
import { wrapKeyMaterial, parseWrappingPublicKey } from '../wrapping/index.js';
import { sealEscrow, type EscrowSealing, type ImportFact, type SealedEscrow } from '../escrow/index.js';
import type { CeremonyDeps, WrittenEscrow } from './ports.js';
import { retryWhileNotFound } from './retry.js';
import { proveKeyMaterial, type Proof } from './prove.js';
import { ImportSession, type ImportSource, type Imported, type WrappedMaterial } from './import-session.js';
import { proveWithoutMaterial, recordedProof, type BundleProof } from '../airgap/ceremony.js';
import { NO_JOURNAL, type EscrowRef, type JournalPort } from './shared.js';
import { ensureAlias, obtainKey } from './create-key.js';
import { randomUUID } from 'node:crypto';
import { anchorDescription, anchorFingerprint } from '../escrow/index.js';
import { writeAnchors } from './anchor.js';

export type ExpiryChoice =
  | { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }
  | { ExpirationModel: 'KEY_MATERIAL_EXPIRES'; validTo: Date }
  | { ExpirationModel: 'KEY_MATERIAL_EXPIRES'; expiresInMs: number };

export interface OnboardOptions {
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  alias?: string;
  description?: string;
  wrapping: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec };
  expiry: ExpiryChoice;
  sealing: EscrowSealing;
  /** "operator@host", recorded in the escrow manifest. */
  createdBy: string;
  /** Existing material to import instead of generating it; owned (and disposed) by the ceremony. */
  material?: SecretBytes;
  /** Key policy document (JSON) attached at CreateKey, e.g. one printed by `kms-byok policy`. */
  policy?: string;
}

export interface OnboardDeps extends CeremonyDeps {
  escrow: {
    /** Durably writes a new escrow version, create-only; resolves only once it is on disk. */
    write(sealed: SealedEscrow): Promise<WrittenEscrow>;
    /** Records facts KMS returned after the import in the escrow's sidecar. */
    recordImport(written: WrittenEscrow, fact: ImportFact): Promise<void>;
    /** The latest escrow version of a key, when the vault can list (a resumed run looks for its escrow). */
    latest?(keyId: string): Promise<EscrowRef | undefined>;
  };
  /** The journal that makes a re-run finish an interrupted ceremony (default: none). */
  journal?: JournalPort;
  /** The command line that re-runs this ceremony, for hints. */
  resumeCommand?: string;
}

export interface OnboardResult {
  keyId: string;
  keyArn: string;
  alias?: string;
  region: string;
  accountId: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  keyState: string;
  origin: string;
  expirationModel: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  validTo?: string;
  keyMaterialId?: string;
  checkValue: string;
  wrappingAlgorithm: WrappingAlgorithm;
  wrappingKeySpec: WrappingKeySpec;
  escrow: WrittenEscrow;
  /** How KMS was shown to hold the escrowed material. */
  verified: { enabled: boolean; method: Proof['method']; summary: string; keyMaterialIdConfirmed: boolean };
}

/** Resolves the expiry to an absolute `ValidTo` at the moment of import, and checks it as KMS will. */
export function resolveValidTo(expiry: ExpiryChoice, now: Date): Date | undefined {
  if (expiry.ExpirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') return undefined;
  // Whole seconds: what the escrow sidecar records is then exactly what KMS was sent.
  const ms = 'validTo' in expiry ? expiry.validTo.getTime() : now.getTime() + expiry.expiresInMs;
  const validTo = new Date(Math.floor(ms / 1000) * 1000);
  assertValidTo(validTo, now, 'validTo' in expiry ? '--valid-to' : '--expires-in');
  return validTo;
}

/** Checks the alias is free before anything is created, so a key is never left without its alias. */
export async function assertAliasFree(kms: KmsPort, alias: string): Promise<void> {
  try {
    const existing = await kms.describeKey(alias);
    throw new KmsByokError('ERR_KMS_ALREADY_EXISTS', `alias ${alias} already points at key ${existing.KeyId}`, {
      hint: 'choose another --alias; kms-byok never moves an existing alias during onboard',
    });
  } catch (e) {
    if (e instanceof KmsByokError && e.code === 'ERR_KMS_NOT_FOUND') return;
    throw e;
  }
}

/** The wrapped copy of the material a resumed run imports (journal facts: base64, not secret). */
function wrappedFacts(w: WrappedMaterial): Record<string, string> {
  return {
    encryptedKeyMaterial: Buffer.from(w.EncryptedKeyMaterial).toString('base64'),
    importToken: Buffer.from(w.ImportToken).toString('base64'),
    parametersValidTo: w.ParametersValidTo.toISOString(),
    wrappingAlgorithm: w.WrappingAlgorithm,
    wrappingKeySpec: w.WrappingKeySpec,
  };
}

function wrappedFromFacts(f: Readonly<Record<string, string>>): WrappedMaterial | undefined {
  if (!f.encryptedKeyMaterial || !f.importToken || !f.parametersValidTo || !f.wrappingAlgorithm || !f.wrappingKeySpec) return undefined;
  return {
    EncryptedKeyMaterial: new Uint8Array(Buffer.from(f.encryptedKeyMaterial, 'base64')),
    ImportToken: new Uint8Array(Buffer.from(f.importToken, 'base64')),
    ParametersValidTo: new Date(f.parametersValidTo),
    WrappingAlgorithm: f.wrappingAlgorithm as WrappingAlgorithm,
    WrappingKeySpec: f.wrappingKeySpec as WrappingKeySpec,
  };
}

/**
 * Runs the whole ceremony, resumably (docs/lifecycle.md, "Onboard"): each step is journalled before
 * the next begins, and a re-run with the journal of an unfinished run finishes that run — the same
 * key, the same escrow — asking KMS what is done before acting. On failure the thrown error's hint
 * says what exists and what finishes it.
 */
export async function runOnboard(options: OnboardOptions, deps: OnboardDeps): Promise<OnboardResult> {
  const { kms } = deps;
  const journal = deps.journal ?? NO_JOURNAL;
  const resumed = journal.resumed;
  // Precondition: every local check happens before the first KMS call that creates anything.
  assertKeyUsageAllowed(options.keySpec, options.keyUsage);
  assertWrappingAllowed(options.keySpec, options.wrapping.WrappingAlgorithm, options.wrapping.WrappingKeySpec);
  resolveValidTo(options.expiry, deps.now());
  let material: SecretBytes | undefined = options.material;
  try {
    if (material) assertMaterialMatchesSpec(material, options.keySpec);
    const ceremonyId = resumed.ceremonyId ?? randomUUID();
    if (!resumed.ceremonyId) await journal.step('started', { ceremonyId, ...(deps.resumeCommand ? { command: deps.resumeCommand } : {}) });
    const finish = deps.resumeCommand ? `re-run the same command to finish it (${deps.resumeCommand})` : 're-run the same command to finish it';

    // 1. The key: the journalled one, the one an interrupted run created, or a new one.
    const key = await obtainKey(
      kms,
      { KeySpec: options.keySpec, KeyUsage: options.keyUsage, ...(options.description ? { Description: options.description } : {}), ...(options.policy ? { Policy: options.policy } : {}) },
      { journal, ceremonyId, ...(options.alias ? { alias: options.alias } : {}), finish, keyIdFact: 'keyId', keyArnFact: 'keyArn' },
      deps,
    );
    const exists = `key ${key.KeyId} exists`;

    // 2. The alias.
    if (options.alias) {
      const done = await ensureAlias(kms, options.alias, key.KeyId, deps.sleep).catch((e: unknown) => {
        throw withHint(e, `${exists}; ${finish}`);
      });
      if (done === 'created') deps.progress(`created alias ${options.alias}`);
      await journal.step('alias', { alias: options.alias });
    }

    // 3. The escrow, durable before any import, and the wrapped copy a resumed run imports.
    let source: ImportSource;
    let proofMaterial: SecretBytes | undefined;
    let kcv: string;
    let written: WrittenEscrow;
    // The escrowed material's anchor (docs/escrow-format.md, "Anchors"), journalled with the wrapped copy.
    let anchor: string | undefined = resumed.anchor;
    let proofRecord = resumed.proof ? (JSON.parse(resumed.proof) as BundleProof) : undefined;
    const carried = wrappedFromFacts(resumed);
    // A resumed run imports the journalled copy only when the escrow it belongs to is on disk, whole,
    // and holds that very material (its sidecar's check value and anchor); otherwise nothing is
    // imported — material must never reach KMS without a durable escrow.
    if (resumed.escrow && carried) await assertEscrowStillHolds(deps, key.KeyId, resumed);
    const sealedBefore = resumed.escrow ? resumed : carried && deps.escrow.latest ? await sealedByInterruptedRun(deps, key.KeyId, resumed.checkValue) : undefined;
    if (carried && sealedBefore && resumed.checkValue) {
      if (carried.ParametersValidTo.getTime() <= deps.now().getTime() + 60_000) {
        throw new KmsByokError('ERR_KMS_IMPORT_TOKEN_EXPIRED', `the import token of the interrupted onboard of ${key.KeyId} expired at ${carried.ParametersValidTo.toISOString()}`, {
          hint: `its material is safe in the escrow ${sealedBefore.escrow}: finish with kms-byok restore ${key.KeyId} --escrow-dir DIR --identity FILE and the same expiry flag (restore makes the first import from the escrow)`,
        });
      }
      source = { wrapped: carried };
      kcv = resumed.checkValue;
      written = { path: sealedBefore.escrow!, sidecarPath: sealedBefore.sidecar!, files: [] };
      if (!resumed.escrow) await journal.step('escrow sealed', { escrow: written.path, sidecar: written.sidecarPath });
      deps.progress(`the escrow ${written.path} of the interrupted run holds the material; importing its wrapped copy`);
    } else {
      if (resumed.escrow || (deps.escrow.latest && (await deps.escrow.latest(key.KeyId)))) {
        throw new KmsByokError('ERR_ESCROW_MISMATCH', `an escrow of key ${key.KeyId} exists, but the journal holds no usable wrapped copy of its material`, {
          hint: `finish with kms-byok restore ${key.KeyId} --escrow-dir DIR --identity FILE and the same expiry flag (the first import from the escrow)`,
        });
      }
      material ??= generateKeyMaterial(options.keySpec);
      kcv = checkValue(material, options.keySpec);
      const nothingYet = `${exists} in PendingImport with no material; nothing was wrapped or imported; ${finish}`;
      anchor = anchorFingerprint(material, key.KeyId, 1);
      const params = await retryWhileNotFound(() => kms.getParametersForImport(key.KeyId, options.wrapping), deps.sleep).catch((e: unknown) => {
        throw withHint(e, nothingYet);
      });
      try {
        parseWrappingPublicKey(params.PublicKey, params.WrappingKeySpec);
      } catch (e) {
        throw withHint(e, nothingYet);
      }
      deps.progress(`got import parameters (${params.WrappingAlgorithm}, ${params.WrappingKeySpec}, valid until ${params.ParametersValidTo.toISOString()})`);
      const wrapped: WrappedMaterial = {
        EncryptedKeyMaterial: wrapKeyMaterial(material, params, options.keySpec),
        ImportToken: params.ImportToken,
        ParametersValidTo: params.ParametersValidTo,
        WrappingAlgorithm: params.WrappingAlgorithm,
        WrappingKeySpec: params.WrappingKeySpec,
      };
      proofRecord = recordedProof(material, options.keySpec);
      // The wrapped copy is journalled first: only KMS can unwrap it, and a run interrupted after the
      // escrow is durable imports exactly this copy of the escrowed material.
      await journal.step('wrapped', { ...wrappedFacts(wrapped), checkValue: kcv, anchor, proof: JSON.stringify(proofRecord) });
      try {
        const created = isoSeconds(deps.now());
        const sealed = await sealEscrow(
          {
            key: { keyArn: key.Arn, keyId: key.KeyId, account: key.AccountId, region: key.Region, keySpec: options.keySpec, keyUsage: options.keyUsage, multiRegion: key.MultiRegion ?? false },
            escrowVersion: 1,
            created,
            createdBy: options.createdBy,
            materials: [{ index: 1, checkValue: kcv, material, createdAt: created }],
          },
          options.sealing,
          { computeCheckValue: checkValue },
        );
        written = await deps.escrow.write(sealed);
      } catch (e) {
        throw withHint(e, `${exists} in PendingImport and nothing was imported. Fix the escrow problem, then ${finish}`);
      }
      await journal.step('escrow sealed', { escrow: written.path, sidecar: written.sidecarPath });
      deps.progress(`material sealed in escrow ${written.path}`);
      // The import sends the journalled wrapped copy: a resumed run would send the very same bytes.
      source = { wrapped };
      proofMaterial = material;
    }
    const afterEscrow = `${exists}; the material is safe in the escrow ${written.path}; ${finish}`;

    // 4a. The anchor, before any import: a key without material accepts any material.
    if (anchor) {
      const fp = anchor;
      await retryWhileNotFound(() => writeAnchors(kms, key.KeyId, new Map([[1, fp]]), deps.progress, written.path), deps.sleep).catch((e: unknown) => {
        throw withHint(e, afterEscrow);
      });
      await journal.step('anchored', { anchor: fp });
    }

    // 4. The import, through the session that asks KMS when an answer is lost.
    const session = new ImportSession(kms, key, deps, options.wrapping);
    const validTo = resolveValidTo(options.expiry, deps.now());
    const expiry = validTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES' as const, ValidTo: validTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const };
    const symmetric = options.keySpec === 'SYMMETRIC_DEFAULT';
    let imported: Imported;
    try {
      const already = (await retryWhileNotFound(() => session.materials(), deps.sleep)).find((m) => m.ImportState === 'IMPORTED');
      if (already) {
        // The interrupted run's import happened: KMS confirms it is this material by accepting it again.
        imported = await session.importMaterial(source, {
          ...(symmetric && already.KeyMaterialId ? { ImportType: 'EXISTING_KEY_MATERIAL' as const, KeyMaterialId: already.KeyMaterialId } : {}),
          expiry: already.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && already.ValidTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: already.ValidTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
        });
        deps.progress(`KMS already held the escrowed material (imported by the interrupted run)${imported.keyMaterialId ? ` ${imported.keyMaterialId}` : ''}`);
      } else {
        imported = await session.importMaterial(source, { expiry, ...(symmetric && anchor ? { description: anchorDescription(anchor) } : {}) });
        deps.progress(`imported key material${imported.keyMaterialId ? ` ${imported.keyMaterialId}` : ''}${validTo ? `, ValidTo ${validTo.toISOString()}` : ', no expiry'}`);
      }
    } catch (e) {
      throw withHint(e, afterEscrow);
    }
    await journal.step('imported', imported.keyMaterialId ? { keyMaterialId: imported.keyMaterialId } : {});
    const listed = (await session.materials()).find((m) => m.ImportState === 'IMPORTED' && (imported.keyMaterialId === undefined || m.KeyMaterialId === imported.keyMaterialId));
    const recordedExpiry = listed?.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && listed.ValidTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES' as const, ValidTo: listed.ValidTo } : listed ? { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const } : expiry;
    await deps.escrow.recordImport(written, {
      materialIndex: 1,
      importedAt: isoSeconds(deps.now()),
      region: key.Region,
      expirationModel: recordedExpiry.ExpirationModel,
      ...(recordedExpiry.ValidTo ? { validTo: isoSeconds(recordedExpiry.ValidTo) } : {}),
      ...(imported.keyMaterialId ? { keyMaterialId: imported.keyMaterialId } : {}),
      wrappingAlgorithm: imported.params.WrappingAlgorithm,
      wrappingKeySpec: imported.params.WrappingKeySpec,
    });

    // 5. The proof: with the material in hand, or with what was recorded when it was wrapped.
    let proof: { method: Proof['method']; summary: string };
    let keyMaterialIdConfirmed = false;
    try {
      if (proofMaterial) {
        const m = proofMaterial;
        proof = await retryWhileNotFound(() => proveKeyMaterial(kms, key.KeyId, options.keySpec, options.keyUsage, m), deps.sleep);
      }
      else proof = (await proveWithoutMaterial(kms, { key: { keyId: key.KeyId, keySpec: options.keySpec, keyUsage: options.keyUsage }, proof: proofRecord ?? { method: 'encrypt-decrypt' } })) as Proof;
      deps.progress(`verified: key Enabled, ${proof.summary}`);
      if (imported.keyMaterialId && symmetric) {
        const now = (await session.materials()).find((m) => m.KeyMaterialId === imported.keyMaterialId);
        await session.importMaterial(source, {
          ImportType: 'EXISTING_KEY_MATERIAL',
          KeyMaterialId: imported.keyMaterialId,
          expiry: now?.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && now.ValidTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: now.ValidTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
        });
        keyMaterialIdConfirmed = true;
        deps.progress(`verified: KMS accepted a re-import of the escrowed material under KeyMaterialId ${imported.keyMaterialId}`);
      }
    } catch (e) {
      throw withHint(e, `${exists} and holds material; its escrow is ${written.path}; ${finish}`);
    }
    const described = await kms.describeKey(key.KeyId);
    await journal.step('verified', {});
    const result: OnboardResult = {
      keyId: key.KeyId,
      keyArn: key.Arn,
      region: key.Region,
      accountId: key.AccountId,
      keySpec: options.keySpec,
      keyUsage: options.keyUsage,
      keyState: described.KeyState,
      origin: described.Origin,
      expirationModel: recordedExpiry.ExpirationModel,
      checkValue: kcv,
      wrappingAlgorithm: imported.params.WrappingAlgorithm,
      wrappingKeySpec: imported.params.WrappingKeySpec,
      escrow: written,
      verified: { enabled: described.KeyState === 'Enabled', method: proof.method, summary: proof.summary, keyMaterialIdConfirmed },
    };
    if (options.alias) result.alias = options.alias;
    if (recordedExpiry.ValidTo) result.validTo = recordedExpiry.ValidTo.toISOString();
    if (imported.keyMaterialId) result.keyMaterialId = imported.keyMaterialId;
    return result;
  } finally {
    material?.dispose();
  }
}

/** The escrow an interrupted run wrote after journalling its wrapped copy, when its check value matches. */
async function sealedByInterruptedRun(deps: OnboardDeps, keyId: string, kcv: string | undefined): Promise<{ escrow: string; sidecar: string } | undefined> {
  const ref = await deps.escrow.latest!(keyId);
  if (!ref || kcv === undefined || ref.damaged.length > 0) return undefined;
  if (ref.sidecar.materials.length !== 1 || ref.sidecar.materials[0]!.checkValue.toUpperCase() !== kcv.toUpperCase()) return undefined;
  return { escrow: ref.path, sidecar: ref.sidecarPath };
}

/**
 * Before a resumed onboard imports its journalled wrapped copy: the escrow the journal names must be
 * the key's latest version, present and matching its SHA-256s, holding exactly one material whose
 * check value (and anchor, when the sidecar claims one) is the journal's. A journal cannot vouch for
 * itself; the sealed escrow can.
 */
async function assertEscrowStillHolds(deps: OnboardDeps, keyId: string, resumed: Readonly<Record<string, string>>): Promise<void> {
  const refuse = (problem: string) =>
    new KmsByokError('ERR_ESCROW_NOT_FOUND', `the escrow the interrupted onboard of ${keyId} sealed ${problem}: nothing was imported`, {
      hint: `restore the escrow file from a custodian's copy, then re-run; or, if the escrow is lost, schedule the empty key ${keyId} for deletion (aws kms schedule-key-deletion) and onboard afresh`,
    });
  const ref = deps.escrow.latest ? await deps.escrow.latest(keyId) : undefined;
  if (!ref) throw refuse(`(${resumed.escrow}) is missing`);
  if (ref.path !== resumed.escrow) throw refuse(`is ${resumed.escrow}, but the latest escrow of the key is ${ref.path}`);
  if (ref.damaged.length > 0) throw refuse(`is damaged (${ref.damaged[0]} is missing or differs from its SHA-256)`);
  const m = ref.sidecar.materials;
  if (m.length !== 1 || resumed.checkValue === undefined || m[0]!.checkValue.toUpperCase() !== resumed.checkValue.toUpperCase()) {
    throw refuse(`does not hold the material the journal wrapped (check values differ)`);
  }
  const claimed = (m[0] as { anchor?: string }).anchor;
  if (claimed !== undefined && resumed.anchor !== undefined && claimed !== resumed.anchor) throw refuse('claims another anchor than the journal');
}

/** ISO-8601 UTC without milliseconds, the escrow format's time form. */
function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function withHint(e: unknown, hint: string): unknown {
  if (e instanceof KmsByokError) return new KmsByokError(e.code, e.message, { hint: e.hint ? `${e.hint}; ${hint}` : hint, cause: e.cause ?? e });
  return e;
}
