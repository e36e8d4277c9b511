/**
 * A new EXTERNAL key from given material (restore --new-key, rotate --new-key), resumable:
 * CreateKey (journal: new key id) → seal escrow v1 of the new key, durably, BEFORE the import →
 * ImportKeyMaterial → sidecar → ReplicateKey + import the same material into each replica →
 * alias → verify. On re-run the journal's new key id is reused and every step asks KMS (DescribeKey,
 * ListKeyRotations) and the escrow directory what is already done before acting.
 */
import { KmsByokError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import type { KeySpec, KeyUsage } from '../core/aws-names.js';
import type { KeyInfo, KmsPort } from '../kms/port.js';
import { checkValue } from '../material/check-value.js';
import { sealEscrow, disposePayload, type EscrowSealing } from '../escrow/index.js';
import type { ExpiryChoice } from './onboard.js';
import { retryWhileNotFound } from './retry.js';
import { randomUUID } from 'node:crypto';
import { outcomeUnknown } from '../kms/port.js';
import { CEREMONY_TAG, findCeremonyKey } from './create-key.js';
import { anchorDescription, anchorFingerprint } from '../escrow/index.js';
import { writeAnchors } from './anchor.js';
import { ImportSession, importFact, isSymmetric, isoSeconds, materialsOf, resolveExpiry, verifyKey, knownIds, withHint, type EscrowRef, type LifecycleDeps } from './shared.js';

export interface NewKeyOptions {
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  description?: string;
  multiRegion?: boolean;
  replicaRegions?: string[];
  /** Aliases to point at the new key: created when free, moved when `moveAliases`. */
  aliases?: string[];
  moveAliases?: boolean;
  expiry: ExpiryChoice;
  sealing: EscrowSealing;
  createdBy: string;
  /** Borrowed: the caller disposes it. */
  material: SecretBytes;
  materialDescription?: string;
  tags?: { TagKey: string; TagValue: string }[];
}

export interface NewKeyResult {
  keyId: string;
  keyArn: string;
  region: string;
  keyState: string;
  keyMaterialId?: string;
  checkValue: string;
  validTo?: string;
  escrow: string;
  replicas: { region: string; keyArn: string; keyState: string }[];
  aliases: string[];
  verified: string;
}

export async function createKeyFromMaterial(o: NewKeyOptions, deps: LifecycleDeps): Promise<NewKeyResult> {
  const { kms } = deps;
  resolveExpiry(o.expiry, deps.now());
  const kcv = checkValue(o.material, o.keySpec);
  let key: KeyInfo;
  const resumedId = deps.journal.resumed.newKeyId;
  // A CreateKey whose answer was lost is found by its ceremony tag (src/ceremony/onboard.ts).
  const ceremonyId = deps.journal.resumed.ceremonyId ?? randomUUID();
  const found = resumedId ? undefined : deps.journal.resumed.ceremonyId ? await findCeremonyKey(kms, ceremonyId) : undefined;
  if (resumedId || found) {
    key = found ?? (await kms.describeKey(resumedId!));
    if (found) await deps.journal.step('created key', { newKeyId: key.KeyId, newKeyArn: key.Arn });
    deps.progress(`resuming with key ${key.KeyId} (${key.KeyState})`);
  } else {
    if (!deps.journal.resumed.ceremonyId) await deps.journal.step('new key planned', { ceremonyId });
    try {
      key = await kms.createKey({
        KeySpec: o.keySpec,
        KeyUsage: o.keyUsage,
        ...(o.description ? { Description: o.description } : {}),
        ...(o.multiRegion ? { MultiRegion: true } : {}),
        Tags: [...(o.tags ?? [{ TagKey: 'created-by', TagValue: 'kms-byok' }]), { TagKey: CEREMONY_TAG, TagValue: ceremonyId }],
      });
    } catch (e) {
      if (!outcomeUnknown(e)) throw e;
      const late = await findCeremonyKey(kms, ceremonyId).catch(() => undefined);
      if (!late) throw withHint(e, `whether KMS created the new key is unknown (no answer); re-running the same command looks for it (tag ${CEREMONY_TAG}=${ceremonyId}) before creating one`);
      key = late;
    }
    await deps.journal.step('created key', { newKeyId: key.KeyId, newKeyArn: key.Arn });
    deps.progress(`created key ${key.KeyId} (${key.KeySpec}, origin ${key.Origin}${o.multiRegion ? ', multi-Region primary' : ''})`);
  }
  // Strict proof: only an EXTERNAL key holds imported material (docs/architecture.md, "Strict proof").
  if (key.Origin !== 'EXTERNAL') {
    throw new KmsByokError('ERR_KMS_BAD_RESPONSE', `KMS answered key ${key.KeyId} with origin ${key.Origin}, not EXTERNAL`, {
      hint: 'the endpoint is not behaving like KMS for an import ceremony; nothing was imported: check --endpoint-url',
    });
  }
  if (o.multiRegion && key.MultiRegion !== true) {
    throw new KmsByokError('ERR_KMS_INVALID_STATE', `key ${key.KeyId} of the unfinished run is not a multi-Region key, but this run asks for --multi-region`, {
      hint: 'discard the unfinished run (--discard-journal) and run again; the key it created can be scheduled for deletion',
    });
  }

  // Escrow of the new key: written before anything is imported; reused when a previous run wrote it.
  let ref: EscrowRef | undefined = await deps.escrow.latest(key.KeyId);
  if (ref && ref.sidecar.manifest.keyId !== key.KeyId) ref = undefined;
  if (ref) {
    if (ref.sidecar.materials.length !== 1 || ref.sidecar.materials[0]!.checkValue.toUpperCase() !== kcv.toUpperCase()) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `escrow ${ref.path} of the new key ${key.KeyId} holds other material`, {
        hint: 'inspect the escrow directory; nothing was imported into the new key from this run',
      });
    }
    deps.progress(`escrow of the new key already written: ${ref.path}`);
  } else {
    const created = isoSeconds(deps.now());
    const sealed = await sealEscrow(
      {
        key: { keyArn: key.Arn, keyId: key.KeyId, account: key.AccountId, region: key.Region, keySpec: o.keySpec, keyUsage: o.keyUsage, multiRegion: key.MultiRegion ?? false },
        escrowVersion: await deps.escrow.nextVersion(key.KeyId),
        created,
        createdBy: o.createdBy,
        materials: [{ index: 1, checkValue: kcv, material: o.material, createdAt: created, ...(o.materialDescription ? { description: o.materialDescription } : {}) }],
      },
      o.sealing,
      { computeCheckValue: checkValue },
    );
    const written = await deps.escrow.write(sealed);
    await deps.journal.step('escrow sealed', { newKeyId: key.KeyId, escrow: written.path });
    deps.progress(`material sealed in escrow ${written.path}`);
    ref = await deps.escrow.latest(key.KeyId);
    if (!ref) throw new KmsByokError('ERR_INTERNAL', `escrow of ${key.KeyId} not found after writing it`);
  }

  // The anchor, in every Region before the material's first import there (tags are per Region).
  const fp = anchorFingerprint(o.material, key.KeyId, 1);
  const anchor = new Map([[1, fp]]);
  await retryWhileNotFound(() => writeAnchors(kms, key.KeyId, anchor, deps.progress, ref!.path), deps.sleep);
  const expiry = resolveExpiry(o.expiry, deps.now());
  const ids = knownIds(ref.sidecar);
  let keyMaterialId = ids.get(1);
  const primaryMaterials = await retryWhileNotFound(() => materialsOf(kms, key), deps.sleep);
  const imported = primaryMaterials.some((m) => m.ImportState === 'IMPORTED');
  const session = new ImportSession(kms, { KeyId: key.KeyId, KeySpec: o.keySpec }, { ...deps, journal: deps.journal });
  if (!imported) {
    const r = await retryWhileNotFound(() => session.importMaterial({ material: o.material }, { ...(primaryMaterials.length > 0 ? { ImportType: 'EXISTING_KEY_MATERIAL' as const } : {}), expiry, ...(isSymmetric(o.keySpec) && primaryMaterials.length === 0 ? { description: anchorDescription(fp, o.materialDescription) } : {}) }), deps.sleep);
    await deps.escrow.recordImport(ref.sidecarPath, importFact(1, key.Region, deps.now(), expiry, r));
    keyMaterialId = r.keyMaterialId;
    await deps.journal.step('imported', { newKeyId: key.KeyId, region: key.Region, ...(r.keyMaterialId ? { keyMaterialId: r.keyMaterialId } : {}) });
    deps.progress(`imported key material${r.keyMaterialId ? ` ${r.keyMaterialId}` : ''} into ${key.KeyId}`);
  } else if (keyMaterialId === undefined && isSymmetric(o.keySpec)) {
    // Imported by an interrupted run that did not record it: KMS confirms the id by accepting the same material.
    const id = primaryMaterials[0]!.KeyMaterialId;
    const r = await session.importMaterial({ material: o.material }, { ImportType: 'EXISTING_KEY_MATERIAL', ...(id ? { KeyMaterialId: id } : {}), expiry });
    await deps.escrow.recordImport(ref.sidecarPath, importFact(1, key.Region, deps.now(), expiry, r));
    keyMaterialId = r.keyMaterialId;
    deps.progress(`KMS confirmed the new key holds the escrowed material ${keyMaterialId ?? ''}`);
  }

  const replicas: NewKeyResult['replicas'] = [];
  for (const region of o.replicaRegions ?? []) {
    const regional: KmsPort = await kms.forRegion(region);
    let replica: KeyInfo;
    try {
      replica = await regional.describeKey(key.KeyId);
    } catch (e) {
      if (!(e instanceof KmsByokError) || e.code !== 'ERR_KMS_NOT_FOUND') throw e;
      try {
        replica = await kms.replicateKey(key.KeyId, region);
      } catch (r) {
        if (!outcomeUnknown(r)) throw r;
        // Ask the replica Region whether the replica exists after all.
        replica = await retryWhileNotFound(() => regional.describeKey(key.KeyId), deps.sleep).catch(() => {
          throw withHint(r, `whether KMS created the replica in ${region} is unknown; re-running the same command asks KMS first`);
        });
      }
      await deps.journal.step('replicated', { newKeyId: key.KeyId, replicaRegion: region });
      deps.progress(`replicated ${key.KeyId} to ${region}`);
    }
    const rm = await retryWhileNotFound(() => materialsOf(regional, replica), deps.sleep);
    await retryWhileNotFound(() => writeAnchors(regional, key.KeyId, anchor, deps.progress, ref!.path), deps.sleep);
    if (rm.some((m) => m.ImportState !== 'IMPORTED') || rm.length === 0) {
      const rs = new ImportSession(regional, { KeyId: key.KeyId, KeySpec: o.keySpec }, { ...deps, journal: deps.journal });
      const r = await retryWhileNotFound(
        () => rs.importMaterial({ material: o.material }, { ImportType: 'EXISTING_KEY_MATERIAL', ...(keyMaterialId ? { KeyMaterialId: keyMaterialId } : {}), expiry }),
        deps.sleep,
      );
      await deps.escrow.recordImport(ref.sidecarPath, importFact(1, region, deps.now(), expiry, r));
      await deps.journal.step('imported', { newKeyId: key.KeyId, region });
      deps.progress(`imported the same material into the replica in ${region}`);
    }
    const v = await verifyKey(regional, replica, o.material);
    replicas.push({ region, keyArn: v.key.Arn, keyState: v.key.KeyState });
  }

  const aliases: string[] = [];
  for (const alias of o.aliases ?? []) {
    let target: string | undefined;
    try {
      target = (await kms.describeKey(alias)).KeyId;
    } catch (e) {
      if (!(e instanceof KmsByokError) || e.code !== 'ERR_KMS_NOT_FOUND') throw e;
    }
    if (target === key.KeyId) {
      aliases.push(alias);
      continue;
    }
    if (target === undefined || o.moveAliases) {
      try {
        if (target === undefined) await kms.createAlias(alias, key.KeyId);
        else await kms.updateAlias(alias, key.KeyId);
      } catch (e) {
        if (!(e instanceof KmsByokError) || !(outcomeUnknown(e) || e.code === 'ERR_KMS_ALREADY_EXISTS')) throw e;
        const now = await kms.describeKey(alias).then((k) => k.KeyId, () => undefined);
        if (now !== key.KeyId) throw outcomeUnknown(e) ? withHint(e, `whether alias ${alias} now points at ${key.KeyId} is unknown; re-running the same command asks KMS first`) : e;
      }
    } else {
      throw new KmsByokError('ERR_KMS_ALREADY_EXISTS', `alias ${alias} points at key ${target}`, {
        hint: `pass --move-alias to move it to the new key ${key.KeyId} (re-running resumes)`,
      });
    }
    await deps.journal.step('alias', { newKeyId: key.KeyId, alias });
    deps.progress(`${target === undefined ? 'created' : `moved`} alias ${alias} → ${key.KeyId}${target ? ` (was ${target})` : ''}`);
    aliases.push(alias);
  }

  const v = await verifyKey(kms, key, o.material);
  await deps.journal.step('verified', { newKeyId: key.KeyId });
  deps.progress(`verified: key ${key.KeyId} ${v.key.KeyState}, ${v.proof.summary}`);
  const result: NewKeyResult = {
    keyId: key.KeyId,
    keyArn: key.Arn,
    region: key.Region,
    keyState: v.key.KeyState,
    checkValue: kcv,
    escrow: ref.path,
    replicas,
    aliases,
    verified: v.proof.summary,
  };
  if (keyMaterialId) result.keyMaterialId = keyMaterialId;
  if (expiry.ValidTo) result.validTo = expiry.ValidTo.toISOString();
  return result;
}

export { disposePayload };
