/**
 * `rotate`: two explicit strategies.
 *
 * In place (symmetric keys; key id and ARN stay): new material → a NEW escrow version holding every
 * material, durably, BEFORE the import → ImportKeyMaterial NEW_KEY_MATERIAL into the primary → the same
 * material as EXISTING_KEY_MATERIAL into every multi-Region replica → RotateKeyOnDemand on the primary
 * → verify. AWS allows 25 on-demand rotations per key: refused past the limit.
 *
 * Resumable without trusting the journal: an escrow material with no recorded KeyMaterialId is a
 * sealed-but-unconfirmed import; KMS (ListKeyRotations) says whether it was imported (an id the
 * sidecar does not know), replicated and rotated, and each step is done only if it is not yet.
 *
 * New key: a new EXTERNAL key with new material (escrow first), aliases moved to it (UpdateAlias),
 * the old key left enabled so old ciphertexts still decrypt.
 */
import { KmsByokError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import { outcomeUnknown, type KeyMaterialInfo } from '../kms/port.js';
import { generateKeyMaterial } from '../material/generate.js';
import { checkValue } from '../material/check-value.js';
import { anchorDescription, anchorFingerprint, disposePayload, nextEscrowContents, sealEscrow, type EscrowPayload } from '../escrow/index.js';
import { anchorLegacy, assertAnchored, fingerprintsOf, writeAnchors } from './anchor.js';
import type { ExpiryChoice } from './onboard.js';
import { MAX_ON_DEMAND_ROTATIONS } from './status.js';
import { createKeyFromMaterial, type NewKeyResult } from './new-key.js';
import {
  ImportSession,
  wrappingOf,
  assertEscrowCovers,
  assertEscrowOfKey,
  describeExternalKey,
  escrowNotFound,
  importFact,
  isSymmetric,
  isoSeconds,
  knownIds,
  pairMaterials,
  resolveExpiry,
  verifyKey,
  withHint,
  type EscrowRef,
  type LifecycleDeps,
} from './shared.js';

export interface RotateInPlaceOptions {
  key: string;
  expiry: ExpiryChoice;
  createdBy: string;
  description?: string;
}

export interface RotateInPlaceResult {
  keyId: string;
  keyArn: string;
  strategy: 'in-place';
  keyMaterialId: string;
  previousKeyMaterialId?: string;
  checkValue: string;
  validTo?: string;
  escrow: string;
  escrowVersion: number;
  materials: number;
  replicas: string[];
  onDemandRotationsLeft: number;
  keyState: string;
  verified: string;
}

function onDemandUsed(materials: KeyMaterialInfo[]): number {
  return materials.filter((m) => m.RotationDate !== undefined && m.RotationType !== 'AUTOMATIC').length;
}

export async function runRotateInPlace(o: RotateInPlaceOptions, deps: LifecycleDeps): Promise<RotateInPlaceResult> {
  const { kms } = deps;
  resolveExpiry(o.expiry, deps.now());
  const key = await describeExternalKey(kms, o.key);
  // Precondition: only symmetric encryption keys rotate in place (RotateKeyOnDemand).
  if (!isSymmetric(key.KeySpec)) {
    throw new KmsByokError('ERR_ROTATE_UNSUPPORTED', `key ${key.KeyId} (${key.KeySpec}) cannot rotate in place: only symmetric encryption keys support on-demand rotation`, {
      hint: `use kms-byok rotate ${o.key} --new-key: a new key with new material, the alias moved to it, the old key kept for old data`,
    });
  }
  if (key.MultiRegionKeyType === 'REPLICA') {
    throw new KmsByokError('ERR_ROTATE_UNSUPPORTED', `key ${key.KeyId} in ${key.Region} is a multi-Region replica: rotate its primary`, {
      hint: `run the same command with --region ${key.PrimaryRegion ?? '<primary Region>'}; the replicas get the new material too`,
    });
  }
  if (key.KeyState !== 'Enabled') {
    throw new KmsByokError('ERR_KMS_INVALID_STATE', `key ${key.KeyId} is ${key.KeyState}: only an Enabled key can rotate`, {
      hint: key.KeyState === 'PendingImport' ? `restore it first: kms-byok restore ${o.key}` : 'enable the key (aws kms enable-key) and re-run',
    });
  }
  let ref = await deps.escrow.latest(key.KeyId);
  if (!ref) throw escrowNotFound(`no escrow of key ${key.KeyId} in the escrow directory`);
  assertEscrowOfKey(ref.sidecar, key, ref.path);
  let kmsMaterials = await kms.listKeyRotations(key.KeyId);
  const used = onDemandUsed(kmsMaterials);
  const ids = knownIds(ref.sidecar);
  const unconfirmed = ref.sidecar.materials.filter((m) => ids.get(m.index) === undefined);
  const unknown = kmsMaterials.filter((m) => m.KeyMaterialId !== undefined && ![...ids.values()].includes(m.KeyMaterialId));
  if (unconfirmed.length === 0) assertEscrowCovers(unknown, key.KeyId, ref.path);
  if (unconfirmed.length > 1) {
    throw new KmsByokError('ERR_ESCROW_MISMATCH', `escrow ${ref.path} has ${unconfirmed.length} materials never confirmed by KMS`, { hint: 'run kms-byok status for the key and inspect the escrow versions' });
  }
  const pendingKnown = kmsMaterials.find((m) => m.KeyMaterialState === 'PENDING_ROTATION' || m.KeyMaterialState === 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION');
  // The journal of an interrupted run names the escrow version it sealed: that version's last material
  // is the one being rotated to (KMS then says which steps remain), never a second new material.
  const journalled = deps.journal.resumed.keyId === key.KeyId && Number(deps.journal.resumed.escrowVersion) === ref.sidecar.manifest.escrowVersion;
  const resuming = unconfirmed.length === 1 || (pendingKnown !== undefined && unknown.length === 0) || journalled;
  if (!resuming) {
    if (used >= MAX_ON_DEMAND_ROTATIONS) {
      throw new KmsByokError('ERR_ROTATION_LIMIT', `key ${key.KeyId} has used all ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations AWS allows per key`, {
        hint: `rotate with --new-key instead (a new key, the alias moved, the old key kept for old data)`,
      });
    }
    deps.progress(`key ${key.KeyId}: ${MAX_ON_DEMAND_ROTATIONS - used} of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations left; this rotation uses one`);
  } else {
    deps.progress(`key ${key.KeyId}: resuming an unfinished rotation found in the escrow and KMS`);
  }
  const previousCurrent = kmsMaterials.find((m) => m.KeyMaterialState === 'CURRENT')?.KeyMaterialId;
  await deps.journal.step('started', { keyId: key.KeyId, escrow: ref.path });

  const payload = await deps.escrow.open(ref);
  let material: SecretBytes | undefined;
  let index: number;
  let pendingPayload: EscrowPayload | undefined;
  try {
    // The escrow must be the one the key's anchors vouch for (docs/escrow-format.md, "Anchors").
    const heldPairs = pairMaterials(ref.sidecar, kmsMaterials).pairs;
    const anchorState = await assertAnchored(kms, key.KeyId, { payload, sidecar: ref.sidecar, path: ref.path }, heldPairs.filter((p) => p.kms.ImportState !== 'PENDING_IMPORT').map((p) => p.index));
    if (anchorState === 'legacy') {
      // A key onboarded before anchors: prove the materials KMS holds by re-import, then anchor them,
      // so the new material's anchor does not leave the older ones unvouched for.
      await anchorLegacy(kms, key, { payload, sidecar: ref.sidecar, path: ref.path }, heldPairs, deps.progress);
    }
    const expiry = resolveExpiry(o.expiry, deps.now());
    if (unconfirmed.length === 1) {
      index = unconfirmed[0]!.index;
      material = payload.materials[index - 1]!.material;
    } else if (pendingKnown !== undefined && unknown.length === 0) {
      index = [...ids.entries()].find(([, id]) => id === pendingKnown.KeyMaterialId)![0];
      material = payload.materials[index - 1]!.material;
    } else if (journalled) {
      index = payload.materials.length;
      material = payload.materials[index - 1]!.material;
    } else {
      // A new escrow version with every material plus the new one, durable before the import.
      const fresh = generateKeyMaterial('SYMMETRIC_DEFAULT');
      const created = isoSeconds(deps.now());
      const contents = nextEscrowContents(
        payload,
        { checkValue: checkValue(fresh, 'SYMMETRIC_DEFAULT'), material: fresh, createdAt: created, ...(o.description ? { description: o.description } : {}) },
        { created, createdBy: o.createdBy, previousSidecar: ref.sidecar },
      );
      contents.escrowVersion = Math.max(contents.escrowVersion, await deps.escrow.nextVersion(key.KeyId));
      try {
        const sealed = await sealEscrow(contents, deps.escrow.sealingFor(ref.sidecar), { computeCheckValue: checkValue });
        const written = await deps.escrow.write(sealed);
        await deps.journal.step('escrow sealed', { keyId: key.KeyId, escrow: written.path, escrowVersion: String(contents.escrowVersion) });
        deps.progress(`new material sealed in escrow version ${contents.escrowVersion} with all ${contents.materials.length} materials: ${written.path} (older versions kept)`);
      } finally {
        for (const m of contents.materials) m.material.dispose();
      }
      ref = (await deps.escrow.latest(key.KeyId))!;
      pendingPayload = await deps.escrow.open(ref);
      index = contents.materials.length;
      material = pendingPayload.materials[index - 1]!.material;
      fresh.dispose();
    }
    const pendingCheck = ref.sidecar.materials[index - 1]!.checkValue;
    const session = new ImportSession(kms, key, { ...deps, journal: deps.journal }, wrappingOf(ref.sidecar, key.KeySpec, deps.wrapping));

    // 0. The new material's anchor, in every Region, before any import of it.
    // Replicas get every material's anchor (tags are per Region; the primary's anchors vouch for them).
    const fp = anchorFingerprint(material, key.KeyId, index);
    const every = fingerprintsOf(pendingPayload ?? payload, key.KeyId);
    await writeAnchors(kms, key.KeyId, new Map([[index, fp]]), deps.progress, ref.path);
    for (const region of key.ReplicaRegions ?? []) await writeAnchors(await kms.forRegion(region), key.KeyId, every, deps.progress, ref.path);

    // 1. NEW material into the primary (or learn from KMS that it is there already).
    let id = knownIds(ref.sidecar).get(index);
    const stillUnknown = kmsMaterials.filter((m) => m.KeyMaterialId !== undefined && ![...knownIds(ref!.sidecar).values()].includes(m.KeyMaterialId));
    if (id === undefined && stillUnknown.length > 0) {
      const candidate = stillUnknown[0]!;
      const r = await session.importMaterial({ material }, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: candidate.KeyMaterialId!, expiry }).catch((e: unknown) => {
        if (e instanceof KmsByokError && e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL') {
          throw new KmsByokError('ERR_ESCROW_MISSING_MATERIAL', `key ${key.KeyId} holds material ${candidate.KeyMaterialId} that no escrow version holds`, {
            hint: 'someone imported material outside kms-byok: find its escrow before rotating',
          });
        }
        throw e;
      });
      id = r.keyMaterialId ?? candidate.KeyMaterialId!;
      await deps.escrow.recordImport(ref.sidecarPath, importFact(index, key.Region, deps.now(), expiry, r));
      deps.progress(`KMS already held the new material ${id} (an interrupted run imported it); recorded it`);
    } else if (id === undefined || !kmsMaterials.some((m) => m.KeyMaterialId === id)) {
      const r = await session.importMaterial({ material }, { ImportType: 'NEW_KEY_MATERIAL', expiry, description: anchorDescription(fp, o.description) }).catch((e: unknown) => {
        throw withHint(e, `the new material is safe in escrow ${ref!.path}: re-running the same command resumes`);
      });
      if (!r.keyMaterialId) throw new KmsByokError('ERR_KMS_BAD_RESPONSE', 'ImportKeyMaterial returned no KeyMaterialId for a symmetric key');
      id = r.keyMaterialId;
      await deps.escrow.recordImport(ref.sidecarPath, importFact(index, key.Region, deps.now(), expiry, r));
      await deps.journal.step('imported', { keyId: key.KeyId, keyMaterialId: id });
      deps.progress(`imported new key material ${id} (NEW_KEY_MATERIAL)${expiry.ValidTo ? `, ValidTo ${expiry.ValidTo.toISOString()}` : ''}`);
    }

    // 2. The same material as EXISTING into every replica.
    const replicas = key.ReplicaRegions ?? [];
    for (const region of replicas) {
      const regional = await kms.forRegion(region);
      const rm = await regional.listKeyRotations(key.KeyId);
      const entry = rm.find((m) => m.KeyMaterialId === id);
      if (entry?.ImportState === 'IMPORTED') continue;
      const rs = new ImportSession(regional, key, { ...deps, journal: deps.journal }, wrappingOf(ref.sidecar, key.KeySpec, deps.wrapping));
      const r = await rs.importMaterial({ material }, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: id, expiry });
      await deps.escrow.recordImport(ref.sidecarPath, importFact(index, region, deps.now(), expiry, r));
      await deps.journal.step('replica imported', { keyId: key.KeyId, region });
      deps.progress(`imported the new material into the replica in ${region} (EXISTING_KEY_MATERIAL)`);
    }

    // 3. RotateKeyOnDemand, unless an interrupted run already did.
    kmsMaterials = await kms.listKeyRotations(key.KeyId);
    const now = kmsMaterials.find((m) => m.KeyMaterialId === id);
    if (now?.KeyMaterialState !== 'CURRENT') {
      if (onDemandUsed(kmsMaterials) >= MAX_ON_DEMAND_ROTATIONS) {
        throw new KmsByokError('ERR_ROTATION_LIMIT', `key ${key.KeyId} has used all ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations`, {
          hint: `the imported material ${id} stays pending; delete it (kms-byok revoke --key-material-id ${id}) or rotate with --new-key`,
        });
      }
      try {
        await kms.rotateKeyOnDemand(key.KeyId);
      } catch (e) {
        if (outcomeUnknown(e)) {
          // Ask KMS: the rotation may have happened (on AWS it completes asynchronously).
          const after = (await kms.listKeyRotations(key.KeyId).catch(() => undefined))?.find((m) => m.KeyMaterialId === id);
          if (after?.KeyMaterialState !== 'CURRENT') {
            throw withHint(e, `whether RotateKeyOnDemand started is unknown (no answer); the new material ${id} is escrowed and imported: re-running the same command asks KMS first and finishes the rotation`);
          }
          deps.progress(`RotateKeyOnDemand got no answer, but KMS shows ${id} CURRENT`);
        } else if (e instanceof KmsByokError && e.code === 'ERR_KMS_CONFLICT') {
          throw new KmsByokError('ERR_KMS_CONFLICT', `RotateKeyOnDemand of ${key.KeyId} conflicts with a rotation under way or due within 20 minutes`, {
            hint: 'the new material is escrowed and imported; run the same command again in about 20 minutes to finish the rotation',
            cause: e,
          });
        } else throw e;
      }
      await deps.journal.step('rotated', { keyId: key.KeyId, keyMaterialId: id });
      deps.progress(`RotateKeyOnDemand: ${id} is now CURRENT${previousCurrent ? `, ${previousCurrent} NON_CURRENT (decrypt only)` : ''}`);
    }

    // 4. Verify.
    const v = await verifyKey(kms, key, material);
    if (v.key.CurrentKeyMaterialId !== undefined && v.key.CurrentKeyMaterialId !== id) {
      throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId} reports current material ${v.key.CurrentKeyMaterialId}, expected ${id}`, { hint: `run kms-byok status ${key.KeyId}` });
    }
    await deps.journal.step('verified', { keyId: key.KeyId });
    deps.progress(`verified: key ${key.KeyId} ${v.key.KeyState}, ${v.proof.summary}`);
    const finalMaterials = await kms.listKeyRotations(key.KeyId);
    const after = onDemandUsed(finalMaterials);
    const soonest = finalMaterials
      .filter((m) => m.KeyMaterialId !== id && m.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && m.ValidTo !== undefined)
      .sort((a, b) => a.ValidTo!.getTime() - b.ValidTo!.getTime())[0];
    if (soonest && (!expiry.ValidTo || soonest.ValidTo! < expiry.ValidTo)) {
      deps.progress(`note: older material ${soonest.KeyMaterialId} still expires at ${soonest.ValidTo!.toISOString()}; the key stops working then unless it is re-imported (kms-byok reimport)`);
    }
    const result: RotateInPlaceResult = {
      keyId: key.KeyId,
      keyArn: key.Arn,
      strategy: 'in-place',
      keyMaterialId: id,
      checkValue: pendingCheck,
      escrow: ref.path,
      escrowVersion: ref.sidecar.manifest.escrowVersion,
      materials: ref.sidecar.materials.length,
      replicas,
      onDemandRotationsLeft: Math.max(0, MAX_ON_DEMAND_ROTATIONS - after),
      keyState: v.key.KeyState,
      verified: v.proof.summary,
    };
    if (previousCurrent && previousCurrent !== id) result.previousKeyMaterialId = previousCurrent;
    if (expiry.ValidTo) result.validTo = expiry.ValidTo.toISOString();
    return result;
  } finally {
    disposePayload(payload);
    if (pendingPayload) disposePayload(pendingPayload);
  }
}

export interface RotateNewKeyOptions {
  key: string;
  expiry: ExpiryChoice;
  createdBy: string;
  aliases: string[];
  sealing?: import('../escrow/index.js').EscrowSealing;
}

export interface RotateNewKeyResult extends NewKeyResult {
  strategy: 'new-key';
  oldKeyId: string;
  oldKeyArn: string;
  oldKeyState: string;
}

export async function runRotateNewKey(o: RotateNewKeyOptions, deps: LifecycleDeps): Promise<RotateNewKeyResult> {
  const { kms } = deps;
  resolveExpiry(o.expiry, deps.now());
  // The command line wins over the journal (docs/lifecycle.md, "Journals"). Resuming, the alias may
  // already point at the new key, so the old key comes from the journal — but only when KEY names the
  // journal's old or new key; a journal about other keys is refused.
  const { oldKeyId: journalOld, newKeyId: journalNew } = deps.journal.resumed;
  const named = await describeExternalKey(kms, o.key);
  if (journalOld !== undefined && named.KeyId !== journalOld && named.KeyId !== journalNew) {
    throw new KmsByokError('ERR_JOURNAL', `the unfinished rotation's journal is about key ${journalOld}${journalNew ? ` (new key ${journalNew})` : ''}, but ${o.key} is key ${named.KeyId}`, {
      hint: 'this run only read the key (DescribeKey) and changed nothing; discard the journal with --discard-journal if it is not yours, and find who wrote it',
    });
  }
  const old = journalOld !== undefined && named.KeyId !== journalOld ? await describeExternalKey(kms, journalOld) : named;
  let aliases = o.aliases;
  if (aliases.length === 0 && deps.journal.resumed.aliases) aliases = deps.journal.resumed.aliases.split(',');
  if (aliases.length === 0) aliases = (await kms.listAliases(old.KeyId)).map((a) => a.AliasName);
  if (aliases.length === 0) {
    // Known only once KMS was asked (ListAliases): exit 1, and nothing written or changed yet.
    throw new KmsByokError('ERR_KEY_HAS_NO_ALIAS', `key ${old.KeyId} has no alias to move to the new key`, {
      hint: `rotating to a new key is useful only when clients find the key by an alias: pass --alias alias/NAME (this run only read the key: DescribeKey, ListAliases)`,
    });
  }
  const oldRef: EscrowRef | undefined = await deps.escrow.latest(old.KeyId);
  const sealing = o.sealing ?? (oldRef && oldRef.sidecar.manifest.keyId === old.KeyId ? deps.escrow.sealingFor(oldRef.sidecar) : undefined);
  if (!sealing) {
    throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `no escrow of ${old.KeyId} to take the custodians from`, { hint: 'pass --recipient age1… for the new key\'s escrow, or --escrow-dir DIR where the old key\'s escrow is (this run only read the key)' });
  }
  await deps.journal.step('planned', { oldKeyId: old.KeyId, aliases: aliases.join(',') });

  // Resuming after the new key's escrow was written: its material is the one to import.
  let material: SecretBytes;
  let opened: EscrowPayload | undefined;
  const newKeyId = deps.journal.resumed.newKeyId;
  const existing = newKeyId ? await deps.escrow.latest(newKeyId) : undefined;
  if (existing && existing.sidecar.manifest.keyId === newKeyId) {
    opened = await deps.escrow.open(existing);
    material = opened.materials[0]!.material;
  } else {
    material = generateKeyMaterial(old.KeySpec);
  }
  try {
    const r = await createKeyFromMaterial(
      {
        keySpec: old.KeySpec,
        keyUsage: old.KeyUsage,
        description: `rotated from ${old.Arn} by kms-byok`,
        aliases,
        moveAliases: true,
        expiry: o.expiry,
        sealing,
        createdBy: o.createdBy,
        material,
        tags: [
          { TagKey: 'created-by', TagValue: 'kms-byok' },
          { TagKey: 'rotated-from', TagValue: old.Arn },
        ],
      },
      deps,
    );
    const oldNow = await kms.describeKey(old.KeyId);
    deps.progress(`old key ${old.KeyId} left ${oldNow.KeyState}: old ciphertexts still decrypt with it`);
    return { ...r, strategy: 'new-key', oldKeyId: old.KeyId, oldKeyArn: old.Arn, oldKeyState: oldNow.KeyState };
  } finally {
    if (opened) disposePayload(opened);
    else material.dispose();
  }
}
