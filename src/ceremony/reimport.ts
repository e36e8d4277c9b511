/**
 * `reimport` and `restore` of an existing key: re-import every material of the key from its escrow
 * (`ImportType: EXISTING_KEY_MATERIAL` with the material's `KeyMaterialId`, so KMS itself confirms it
 * is the same material), record the new `ValidTo` in the sidecar, verify.
 *
 * Order: DescribeKey (refuse PendingDeletion / not EXTERNAL) → ListKeyRotations → escrow covers every
 * material (named when not) → due? (`before`) → open escrow → per material: parameters, wrap,
 * ImportKeyMaterial, sidecar → verify. Re-running is safe: each step re-imports the same material.
 */
import { KmsByokError } from '../core/errors.js';
import type { ExpirationModel } from '../core/aws-names.js';
import type { KeyInfo, KeyMaterialInfo } from '../kms/port.js';
import { disposePayload } from '../escrow/index.js';
import type { ExpiryChoice } from './onboard.js';
import { assertAnchored, fingerprintsOf, writeAnchors } from './anchor.js';
import { anchorDescription } from '../escrow/index.js';
import { proveImported } from './prove.js';
import {
  ImportSession,
  wrappingOf,
  assertEscrowCovers,
  assertEscrowOfKey,
  describeExternalKey,
  escrowNotFound,
  importFact,
  knownIds,
  materialAt,
  materialsOf,
  pairMaterials,
  reconcileUnknown,
  recordedValidTo,
  resolveExpiry,
  withHint,
  type LifecycleDeps,
  type Pairing,
} from './shared.js';

export interface ReimportOptions {
  /** Key id, ARN or alias. */
  key: string;
  expiry: ExpiryChoice;
  /** reimport: only when the earliest ValidTo is within this many ms (omitted: always). */
  beforeMs?: number;
  /** restore: re-import only the materials KMS lacks; reimport: every material. */
  mode: 'reimport' | 'restore';
}

export interface ReimportResult {
  keyId: string;
  keyArn: string;
  region: string;
  /** What happened: re-imported, or skipped and why. */
  action: 'reimported' | 'restored' | 'not-due' | 'nothing-to-restore';
  keyState: string;
  /** The earliest ValidTo KMS listed before this run (materials it lacked have none). */
  earliestValidTo?: string;
  escrow: string;
  materials: {
    index: number;
    keyMaterialId?: string;
    keyMaterialState?: string;
    /** As KMS holds it after this run. */
    importState?: string;
    /** As KMS listed it before this run, for a material this run imported: PENDING_IMPORT when it was revoked or had expired. */
    importStateBefore?: string;
    validToBefore?: string;
    validTo?: string;
    expirationModel?: ExpirationModel;
    reimported: boolean;
  }[];
  verified?: string;
  /** Multi-Region primary: the same for each replica Region. */
  replicas?: ReimportResult[];
}

/** The earliest ValidTo over imported materials (materials already missing count as due now). */
export function earliestValidTo(materials: KeyMaterialInfo[], now: Date): Date | undefined {
  let earliest: Date | undefined;
  for (const m of materials) {
    const t = m.ImportState === 'PENDING_IMPORT' ? now : m.ExpirationModel === 'KEY_MATERIAL_EXPIRES' ? m.ValidTo : undefined;
    if (t && (!earliest || t < earliest)) earliest = t;
  }
  return earliest;
}

/**
 * Re-imports (or restores) the key in the target Region and, for a multi-Region primary, in each of
 * its replicas (expiry and state are per Region): `replicas` holds their results.
 */
export async function runReimport(options: ReimportOptions, deps: LifecycleDeps): Promise<ReimportResult> {
  // The key as described before the import, with the state its proof showed: no extra DescribeKey.
  const { result, key } = await reimportInRegion(options, deps);
  if (key.MultiRegionKeyType === 'PRIMARY' && (key.ReplicaRegions?.length ?? 0) > 0) {
    result.replicas = [];
    for (const region of key.ReplicaRegions!) {
      deps.progress(`replica in ${region}:`);
      result.replicas.push((await reimportInRegion({ ...options, key: key.KeyId }, { ...deps, kms: await deps.kms.forRegion(region) })).result);
    }
  }
  return result;
}

async function reimportInRegion(options: ReimportOptions, deps: LifecycleDeps): Promise<{ result: ReimportResult; key: KeyInfo }> {
  const { kms } = deps;
  // Precondition: the expiry is checked locally before any KMS call.
  resolveExpiry(options.expiry, deps.now());
  const key = await describeExternalKey(kms, options.key);
  const ref = await deps.escrow.latest(key.KeyId);
  if (!ref) throw escrowNotFound(`no escrow of key ${key.KeyId} in the escrow directory`);
  assertEscrowOfKey(ref.sidecar, key, ref.path);
  const kmsMaterials = await materialsOf(kms, key);
  // As KMS listed them, before the ValidTo substitution below: the import session's state before.
  const listed = [...kmsMaterials];
  const initial = pairMaterials(ref.sidecar, kmsMaterials);
  const now = deps.now();
  // A ValidTo KMS omits but the sidecar recorded counts (fails closed: due, never "never expires").
  for (const p of initial.pairs) {
    if (p.kms.ValidTo === undefined && p.kms.ImportState === 'IMPORTED' && p.kms.ExpirationModel !== 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
      const recorded = recordedValidTo(ref.sidecar, p.index, key.Region);
      if (recorded) {
        deps.progress(`KMS reports no ValidTo for material ${p.index} although the escrow records ${recorded.toISOString()}: counting that`);
        const i = kmsMaterials.indexOf(p.kms);
        p.kms = { ...p.kms, ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: recorded };
        kmsMaterials[i] = p.kms;
      }
    }
  }
  const earliest = earliestValidTo(kmsMaterials, now);
  const result: ReimportResult = {
    keyId: key.KeyId,
    keyArn: key.Arn,
    region: key.Region,
    action: options.mode === 'restore' ? 'restored' : 'reimported',
    keyState: key.KeyState,
    escrow: ref.path,
    materials: [],
  };
  // Reported: the earliest ValidTo KMS lists. A material KMS lacks (revoked or expired: PENDING_IMPORT)
  // counts as due now for --before, but has no ValidTo to report: reporting `now` read as an expiry.
  const listedEarliest = earliestValidTo(kmsMaterials.filter((m) => m.ImportState !== 'PENDING_IMPORT'), now);
  if (listedEarliest) result.earliestValidTo = listedEarliest.toISOString();
  const missingInKms = kmsMaterials.filter((m) => m.ImportState === 'PENDING_IMPORT');

  if (options.mode === 'reimport' && options.beforeMs !== undefined && (!earliest || earliest.getTime() > now.getTime() + options.beforeMs)) {
    // Nothing due; still refuse an escrow that does not cover the key (a daily run should say so).
    if (initial.unknown.length > 0 && [...knownIds(ref.sidecar).values()].every((id) => id !== undefined)) {
      assertEscrowCovers(initial.unknown, key.KeyId, ref.path);
    }
    result.action = 'not-due';
    result.materials = initial.pairs.map((p) => describePair(p));
    deps.progress(`key ${key.KeyId}: not due (earliest ValidTo ${earliest ? earliest.toISOString() : 'none'})`);
    return { result, key };
  }
  if (options.mode === 'restore' && missingInKms.length === 0 && key.KeyState !== 'PendingImport' && initial.unknown.length === 0) {
    result.action = 'nothing-to-restore';
    result.materials = initial.pairs.map((p) => describePair(p));
    deps.progress(`key ${key.KeyId} is ${key.KeyState} with every material imported: nothing to restore`);
    return { result, key };
  }

  await deps.journal.step('started', { keyId: key.KeyId, region: key.Region, escrow: ref.path });
  const payload = await deps.escrow.open(ref);
  try {
    assertEscrowOfKey({ ...ref.sidecar, manifest: payload.manifest }, key, ref.path);
    // The escrow must be the one the key's anchors (in this Region) vouch for: a forged newer version
    // is refused before anything is imported (docs/escrow-format.md, "Anchors").
    const held = initial.pairs.filter((p) => p.kms.ImportState !== 'PENDING_IMPORT').map((p) => p.index);
    const anchorState = await assertAnchored(kms, key.KeyId, { payload, sidecar: ref.sidecar, path: ref.path }, held);
    if (anchorState === 'legacy') deps.progress(`note: key ${key.KeyId} has no escrow anchors yet; kms-byok verify ${key.KeyId} --identity FILE proves the escrow and writes them`);
    const session = new ImportSession(kms, key, { ...deps, journal: deps.journal }, wrappingOf(ref.sidecar, key.KeySpec, deps.wrapping));
    session.listedBefore(listed);
    const expiry = resolveExpiry(options.expiry, deps.now());
    let pairs = initial.pairs;
    if (options.mode === 'restore' && kmsMaterials.length === 0) {
      // A key that never received material (an onboard interrupted after sealing its escrow): the
      // first import, of the escrow's first material.
      if (ref.sidecar.materials.length !== 1 || knownIds(ref.sidecar).get(1) !== undefined) {
        throw new KmsByokError('ERR_ESCROW_MISMATCH', `key ${key.KeyId} holds no material, but escrow ${ref.path} records ${ref.sidecar.materials.length} imported material(s)`, {
          hint: 'this is not the escrow of an interrupted onboard: inspect it before importing',
        });
      }
      // The first import: its anchor first (a key without material accepts any material).
      const fp = fingerprintsOf(payload, key.KeyId).get(1)!;
      await writeAnchors(kms, key.KeyId, new Map([[1, fp]]), deps.progress, ref.path);
      const imported = await session.importMaterial({ material: materialAt(payload, 1).material }, { expiry, ...(key.KeySpec === 'SYMMETRIC_DEFAULT' ? { description: anchorDescription(fp) } : {}) });
      await deps.escrow.recordImport(ref.sidecarPath, importFact(1, key.Region, deps.now(), expiry, imported));
      await deps.journal.step('imported', { keyId: key.KeyId, material: '1', ...(imported.keyMaterialId ? { keyMaterialId: imported.keyMaterialId } : {}) });
      deps.progress(`first import of escrow material 1${imported.keyMaterialId ? ` (${imported.keyMaterialId})` : ''} into ${key.KeyId}`);
      result.materials.push({ index: 1, reimported: true, expirationModel: expiry.ExpirationModel, ...(imported.keyMaterialId ? { keyMaterialId: imported.keyMaterialId } : {}), ...(expiry.ValidTo ? { validTo: expiry.ValidTo.toISOString() } : {}) });
      const verified = await proveImported(kms, key, materialAt(payload, 1).material);
      await deps.journal.step('verified', { keyId: key.KeyId });
      result.keyState = verified.key.KeyState;
      result.verified = verified.proof.summary;
      return { result, key: verified.key };
    }
    if (initial.unknown.length > 0) {
      const r = await reconcileUnknown(kms, key, ref, payload, initial.unknown, expiry, session, deps);
      assertEscrowCovers(r.still, key.KeyId, ref.path);
      pairs = [...pairs, ...r.resolved];
    }
    const already = new Set(pairs.filter((p) => initial.unknown.includes(p.kms)).map((p) => p.index));
    for (const p of pairs.sort((a, b) => a.index - b.index)) {
      const entry = describePair(p);
      const wanted = options.mode === 'reimport' || p.kms.ImportState === 'PENDING_IMPORT';
      if (wanted && !already.has(p.index)) {
        const m = materialAt(payload, p.index);
        const imported = await session
          .importMaterial({ material: m.material }, {
            ImportType: 'EXISTING_KEY_MATERIAL',
            ...(p.kms.KeyMaterialId ? { KeyMaterialId: p.kms.KeyMaterialId } : {}),
            expiry,
          })
          .catch((e: unknown) => {
            throw withHint(e, `materials before ${p.index} were re-imported; re-running the same command is safe`);
          });
        await deps.escrow.recordImport(ref.sidecarPath, importFact(p.index, key.Region, deps.now(), expiry, imported));
        await deps.journal.step('imported', { keyId: key.KeyId, material: String(p.index), ...(imported.keyMaterialId ? { keyMaterialId: imported.keyMaterialId } : {}) });
        deps.progress(`re-imported material ${p.index}${p.kms.KeyMaterialId ? ` (${p.kms.KeyMaterialId})` : ''}: ${expiry.ValidTo ? `ValidTo ${expiry.ValidTo.toISOString()}` : 'no expiry'}`);
        entry.reimported = true;
        // The JSON reports the state KMS holds after the ceremony; the state before is kept beside it.
        if (entry.importState !== undefined) entry.importStateBefore = entry.importState;
        entry.importState = 'IMPORTED';
        entry.expirationModel = expiry.ExpirationModel;
        if (expiry.ValidTo) entry.validTo = expiry.ValidTo.toISOString();
        else delete entry.validTo;
      }
      result.materials.push(entry);
    }
    const current = payload.materials.find((m) => pairs.some((p) => p.index === m.index && p.kms.KeyMaterialState === 'CURRENT')) ?? payload.materials[payload.materials.length - 1]!;
    const verified = await proveImported(kms, key, current.material);
    await deps.journal.step('verified', { keyId: key.KeyId });
    deps.progress(`verified: key ${key.KeyId} ${verified.key.KeyState}, ${verified.proof.summary}`);
    result.keyState = verified.key.KeyState;
    result.verified = verified.proof.summary;
    return { result, key: verified.key };
  } finally {
    disposePayload(payload);
  }
}

function describePair(p: Pairing): ReimportResult['materials'][number] {
  const out: ReimportResult['materials'][number] = { index: p.index, reimported: false };
  if (p.kms.KeyMaterialId) out.keyMaterialId = p.kms.KeyMaterialId;
  if (p.kms.KeyMaterialState) out.keyMaterialState = p.kms.KeyMaterialState;
  if (p.kms.ImportState) out.importState = p.kms.ImportState;
  if (p.kms.ValidTo) {
    out.validToBefore = p.kms.ValidTo.toISOString();
    out.validTo = p.kms.ValidTo.toISOString();
  }
  if (p.kms.ExpirationModel) out.expirationModel = p.kms.ExpirationModel;
  return out;
}
