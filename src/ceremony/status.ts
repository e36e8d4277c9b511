/**
 * `status`: for each key, its state, every material (ListKeyRotations), ValidTo and days left, the
 * last rotation and its age, on-demand rotations left, and whether the escrow in the escrow
 * directory exists and matches (KeyMaterialIds and check values, from the sidecar: no secret needed).
 * Pure over the KMS port and a sidecar lookup; `attention` lists what needs action.
 */
import { KmsByokError } from '../core/errors.js';
import { DAY_MS, daysUntil } from '../core/time.js';
import type { KeyInfo, KmsPort } from '../kms/port.js';
import { anchorReport, readAnchors } from './anchor-report.js';
import { isSymmetric, knownIds, materialsOf, recordedValidTo, type EscrowRef } from './escrow-facts.js';

/** AWS's limit on RotateKeyOnDemand per key (2026, not adjustable). */
export const MAX_ON_DEMAND_ROTATIONS = 25;

export interface StatusOptions {
  /** Key ids, ARNs or aliases; empty: every EXTERNAL key the caller can list. */
  keys: string[];
  warnDays: number;
  /** Rotation age that needs action, in ms (omitted: no check). */
  maxAgeMs?: number;
}

export interface KeyStatus {
  keyId: string;
  keyArn: string;
  region: string;
  keySpec: string;
  keyState: string;
  multiRegion?: string;
  validTo?: string;
  daysLeft?: number;
  lastRotation?: string;
  /** Days since the last rotation (or since the key was created when never rotated). */
  rotationAgeDays?: number;
  onDemandRotationsLeft?: number;
  materials: {
    keyMaterialId?: string;
    keyMaterialState?: string;
    importState?: string;
    expirationModel?: string;
    validTo?: string;
    daysLeft?: number;
    rotationDate?: string;
    escrowIndex?: number;
    checkValue?: string;
  }[];
  escrow: {
    path?: string;
    version?: number;
    exists: boolean;
    matches: boolean;
    problem?: string;
    /** KeyMaterialIds KMS lists that the sidecar does not name yet, while the escrow holds materials never confirmed: `verify` confirms them. */
    unconfirmed?: string[];
    /** The sidecar's claimed fingerprints against the key's anchor tags (docs/escrow-format.md, "Anchors"). */
    anchors?: 'ok' | 'not-anchored' | 'mismatch' | 'unreadable';
  };
  /** HSM custody (docs/hsm.md): the custody record stands where the escrow would; status reads it only. */
  custody?: {
    kind: 'pkcs11';
    path: string;
    token: string;
    matches: boolean;
    /**
     * A key with both custodies (docs/hsm.md, "Also an age escrow"): the KeyMaterialIds KMS lists that
     * the escrow does not hold but the custody record does — rotated in place without --also-escrow,
     * held in the token alone. Not an escrow mismatch.
     */
    tokenOnly?: string[];
  };
  attention: string[];
  /** The key could not be read: this row says why (the other keys are still reported). */
  error?: { code: string; message: string };
  /** GetKeyLastUsage (added by the CLI, docs/audit.md): the last use, none since tracking began, or MISSING with why. */
  lastUse?: { operation?: string; time?: string; trackingStartDate?: string; missing?: string };
}

export interface StatusResult {
  keys: KeyStatus[];
  attention: boolean;
}

export interface StatusDeps {
  kms: KmsPort;
  now(): Date;
  escrowOf(keyId: string): Promise<EscrowRef | undefined>;
  /** Every key with an escrow in the escrow directory, with the Region its manifest names (listing runs only). */
  escrowedKeys?(): Promise<{ keyId: string; region: string; path: string }[]>;
  /** The key's HSM custody record, when it has one (docs/hsm.md, "The custody record"). */
  custodyOf?(keyId: string): Promise<{ path: string; token: string; materials: { keyMaterialId?: string; checkValues: string[] }[] } | undefined>;
}

/**
 * Status of every key asked for (or every EXTERNAL key listed). A key that cannot be read is a row
 * with its error and attention, never the end of the report; only a failure to list keys at all fails.
 */
export async function runStatus(options: StatusOptions, deps: StatusDeps): Promise<StatusResult> {
  const { kms } = deps;
  const out: KeyStatus[] = [];
  const rowOf = async (ref: string, known?: KeyInfo): Promise<KeyStatus | undefined> => {
    let key = known;
    try {
      key ??= await kms.describeKey(ref);
      if (options.keys.length === 0 && key.Origin !== 'EXTERNAL') return undefined;
      return await statusOf(key, options, deps);
    } catch (e) {
      if (!(e instanceof KmsByokError)) throw e;
      return unreadable(ref, key, e);
    }
  };
  let listed: string[] = [];
  if (options.keys.length > 0) {
    for (const k of options.keys) out.push((await rowOf(k))!);
  } else {
    listed = await kms.listKeys();
    for (const id of listed) {
      const row = await rowOf(id);
      if (row) out.push(row);
    }
    // Escrows of keys this target does not list: a wrong account or Region, or a deleted key. An
    // empty report over a directory of escrows is not an all-clear.
    if (deps.escrowedKeys) {
      const seen = new Set(listed);
      for (const e of await deps.escrowedKeys()) {
        if (e.region !== kms.region || seen.has(e.keyId)) continue;
        out.push({
          keyId: e.keyId,
          keyArn: '',
          region: e.region,
          keySpec: '',
          keyState: 'NotListed',
          materials: [],
          escrow: { path: e.path, exists: true, matches: false, problem: 'belongs to a key this target does not list' },
          attention: [`escrow ${e.path} belongs to key ${e.keyId}, which ${kms.region} does not list here: check --profile/--region, or whether the key was deleted`],
        });
      }
    }
  }
  return { keys: out, attention: out.some((k) => k.attention.length > 0) };
}

/** The row of a key whose facts could not be read. */
function unreadable(ref: string, key: KeyInfo | undefined, e: KmsByokError): KeyStatus {
  return {
    keyId: key?.KeyId ?? ref,
    keyArn: key?.Arn ?? '',
    region: key?.Region ?? '',
    keySpec: key?.KeySpec ?? '',
    keyState: key?.KeyState ?? 'Unknown',
    materials: [],
    escrow: { exists: false, matches: false },
    attention: [`cannot read the key: ${e.code}: ${e.message}`],
    error: { code: e.code, message: e.message },
  };
}

async function statusOf(key: KeyInfo, o: StatusOptions, deps: StatusDeps): Promise<KeyStatus> {
  const now = deps.now();
  const s: KeyStatus = {
    keyId: key.KeyId,
    keyArn: key.Arn,
    region: key.Region,
    keySpec: key.KeySpec,
    keyState: key.KeyState,
    materials: [],
    escrow: { exists: false, matches: false },
    attention: [],
  };
  if (key.MultiRegionKeyType) s.multiRegion = `${key.MultiRegionKeyType}${key.ReplicaRegions?.length ? ` (replicas: ${key.ReplicaRegions.join(', ')})` : ''}`;
  if (key.Origin !== 'EXTERNAL') {
    s.attention.push(`origin ${key.Origin}: not a key with imported material`);
    return s;
  }
  if (key.KeyState === 'PendingDeletion') s.attention.push(`pending deletion${key.DeletionDate ? ` on ${key.DeletionDate.toISOString()}` : ''} (aws kms cancel-key-deletion)`);
  else if (key.KeyState === 'PendingImport') s.attention.push('PendingImport: unusable until every material is imported (kms-byok restore)');
  else if (key.KeyState !== 'Enabled') s.attention.push(`key is ${key.KeyState}`);

  const materials = key.KeyState === 'PendingDeletion' && !isSymmetric(key.KeySpec) ? [] : await materialsOf(deps.kms, key).catch((e: unknown) => {
    if (e instanceof KmsByokError && (e.code === 'ERR_KMS_INVALID_STATE' || e.code === 'ERR_KMS_UNSUPPORTED')) return [];
    throw e;
  });
  let escrow: EscrowRef | undefined;
  let custody: Awaited<ReturnType<NonNullable<StatusDeps['custodyOf']>>>;
  try {
    escrow = await deps.escrowOf(key.KeyId);
  } catch (e) {
    s.escrow.problem = e instanceof KmsByokError ? e.message : String(e);
  }
  const ids = escrow ? knownIds(escrow.sidecar) : new Map<number, string | undefined>();
  let earliest: Date | undefined;
  let lastRotation: Date | undefined;
  let onDemand = 0;
  for (const m of materials) {
    const row: KeyStatus['materials'][number] = {};
    if (m.KeyMaterialId) row.keyMaterialId = m.KeyMaterialId;
    if (m.KeyMaterialState) row.keyMaterialState = m.KeyMaterialState;
    if (m.ImportState) row.importState = m.ImportState;
    if (m.ExpirationModel) row.expirationModel = m.ExpirationModel;
    const index = escrow ? (m.KeyMaterialId === undefined ? (escrow.sidecar.materials.length === 1 ? 1 : undefined) : [...ids.entries()].find(([, id]) => id === m.KeyMaterialId)?.[0]) : undefined;
    // KMS omitting a ValidTo the sidecar recorded fails closed: the recorded one counts (attention).
    const recorded = escrow && index !== undefined && m.ImportState !== 'PENDING_IMPORT' && !m.ValidTo && m.ExpirationModel !== 'KEY_MATERIAL_DOES_NOT_EXPIRE' ? recordedValidTo(escrow.sidecar, index, key.Region) : undefined;
    if (recorded) s.attention.push(`KMS reports no ValidTo for material ${m.KeyMaterialId ?? ''} although the escrow records ${recorded.toISOString()}: counted as expiring then`.replace('  ', ' '));
    const validTo = m.ImportState !== 'PENDING_IMPORT' ? (m.ValidTo ?? recorded) : undefined;
    if (validTo) {
      row.validTo = validTo.toISOString();
      row.daysLeft = daysUntil(validTo, now);
      if (!earliest || validTo < earliest) earliest = validTo;
    }
    if (m.RotationDate) {
      row.rotationDate = m.RotationDate.toISOString();
      if (!lastRotation || m.RotationDate > lastRotation) lastRotation = m.RotationDate;
      if (m.RotationType !== 'AUTOMATIC') onDemand++;
    }
    if (escrow) {
      if (index !== undefined) {
        row.escrowIndex = index;
        row.checkValue = escrow.sidecar.materials[index - 1]!.checkValue;
      }
    }
    if (m.ImportState === 'PENDING_IMPORT') s.attention.push(`material ${m.KeyMaterialId ?? ''} is not imported (expired or deleted): kms-byok restore`.replace('  ', ' '));
    s.materials.push(row);
  }
  if (earliest) {
    s.validTo = earliest.toISOString();
    s.daysLeft = daysUntil(earliest, now);
    if (earliest.getTime() - now.getTime() < o.warnDays * DAY_MS) s.attention.push(`ValidTo ${s.validTo} is within ${o.warnDays} days: kms-byok reimport`);
  }
  if (isSymmetric(key.KeySpec)) {
    s.onDemandRotationsLeft = Math.max(0, MAX_ON_DEMAND_ROTATIONS - onDemand);
    if (lastRotation) s.lastRotation = lastRotation.toISOString();
  }
  const since = lastRotation ?? key.CreationDate;
  if (since) {
    s.rotationAgeDays = Math.floor((now.getTime() - since.getTime()) / DAY_MS);
    if (o.maxAgeMs !== undefined && now.getTime() - since.getTime() > o.maxAgeMs) {
      s.attention.push(`last rotation ${s.rotationAgeDays} days ago is older than --max-age: kms-byok rotate`);
    }
  }
  if (escrow) {
    s.escrow.exists = true;
    s.escrow.path = escrow.path;
    s.escrow.version = escrow.sidecar.manifest.escrowVersion;
    const unmatched = s.materials.filter((m) => m.escrowIndex === undefined);
    // A material KMS lists that the sidecar cannot name, while the escrow holds as many materials never
    // confirmed: an import whose answer was lost, not a missing material. `verify` proves and records it.
    const neverConfirmed = [...ids.values()].filter((id) => id === undefined).length;
    const unconfirmed = unmatched.length > 0 && unmatched.length <= neverConfirmed && unmatched.every((m) => m.keyMaterialId !== undefined);
    // Materials the escrow lacks but the HSM custody record names: held in the token alone (documented).
    const tokenOnly = !unconfirmed && unmatched.length > 0 ? await tokenOnlyMaterials(s, unmatched, deps) : false;
    if (escrow.damaged.length > 0) s.escrow.problem = `sealed file ${escrow.damaged[0]} is missing or differs from its SHA-256`;
    else if (unconfirmed) {
      s.escrow.unconfirmed = unmatched.map((m) => m.keyMaterialId!);
      s.attention.push(`material ${s.escrow.unconfirmed.join(', ')} is not yet confirmed against escrow ${escrow.path} (an import whose answer was lost): kms-byok verify ${key.KeyId} --identity FILE confirms and records it`);
    } else if (unmatched.length > 0 && !tokenOnly) s.escrow.problem = `lacks key material ${unmatched[0]!.keyMaterialId ?? '(no id)'}`;
    else if (escrow.sidecar.manifest.keySpec !== key.KeySpec) s.escrow.problem = `is for key spec ${escrow.sidecar.manifest.keySpec}, the key is ${key.KeySpec}`;
    s.escrow.matches = s.escrow.problem === undefined && !unconfirmed;
    if (!s.escrow.matches) s.attention.push(`escrow ${escrow.path} ${s.escrow.problem}`);
    await anchorStatus(s, key, escrow, deps.kms);
  } else if (!s.escrow.problem && deps.custodyOf && (custody = await deps.custodyOf(key.KeyId).catch(() => undefined))) {
    // HSM custody: every material KMS lists must be one the custody record names (status opens no token).
    const recorded = new Map(custody.materials.filter((m) => m.keyMaterialId).map((m) => [m.keyMaterialId!, m]));
    // A key that is not symmetric holds one material, which KMS may list without an id: the record's one.
    const sole = key.KeySpec !== 'SYMMETRIC_DEFAULT' && custody.materials.length === 1 && s.materials.length === 1 && s.materials[0]!.keyMaterialId === undefined ? custody.materials[0] : undefined;
    const unmatched = s.materials.filter((m) => !sole && (m.keyMaterialId === undefined || !recorded.has(m.keyMaterialId)));
    for (const m of s.materials) if (m.keyMaterialId && recorded.has(m.keyMaterialId)) m.checkValue = recorded.get(m.keyMaterialId)!.checkValues[0]!;
    if (sole) s.materials[0]!.checkValue = sole.checkValues[0]!;
    s.custody = { kind: 'pkcs11', path: custody.path, token: custody.token, matches: unmatched.length === 0 };
    if (unmatched.length > 0) s.attention.push(`custody record ${custody.path} lacks key material ${unmatched[0]!.keyMaterialId ?? '(no id)'}`);
  } else {
    s.attention.push(s.escrow.problem ? `escrow unreadable: ${s.escrow.problem}` : 'no escrow of this key in the escrow directory');
  }
  return s;
}

/**
 * True when the custody record (docs/hsm.md, "The custody record") names every material in `unmatched`
 * by its KeyMaterialId: they are held in the token alone; `s.custody` then says so, with their check values.
 */
async function tokenOnlyMaterials(s: KeyStatus, unmatched: KeyStatus['materials'], deps: StatusDeps): Promise<boolean> {
  const record = deps.custodyOf ? await deps.custodyOf(s.keyId).catch(() => undefined) : undefined;
  if (!record) return false;
  const byId = new Map(record.materials.filter((m) => m.keyMaterialId).map((m) => [m.keyMaterialId!, m]));
  if (!unmatched.every((m) => m.keyMaterialId !== undefined && byId.has(m.keyMaterialId))) return false;
  for (const m of unmatched) m.checkValue = byId.get(m.keyMaterialId!)!.checkValues[0]!;
  s.custody = { kind: 'pkcs11', path: record.path, token: record.token, matches: true, tokenOnly: unmatched.map((m) => m.keyMaterialId!) };
  return true;
}

/** Adds what the key's anchors say about the sidecar's claims (status opens nothing). */
async function anchorStatus(s: KeyStatus, key: KeyInfo, escrow: EscrowRef, kms: KmsPort): Promise<void> {
  let anchors: Map<number, string>;
  try {
    anchors = await readAnchors(kms, key.KeyId);
  } catch (e) {
    if (!(e instanceof KmsByokError)) throw e;
    s.escrow.anchors = e.code === 'ERR_ESCROW_ANCHOR_MISMATCH' ? 'mismatch' : 'unreadable';
    s.attention.push(e.code === 'ERR_ESCROW_ANCHOR_MISMATCH' ? e.message : `cannot read the key's anchor tags (${e.code}): the escrow is not checked against KMS`);
    return;
  }
  const held = new Set(s.materials.filter((m) => m.escrowIndex !== undefined && m.importState !== 'PENDING_IMPORT').map((m) => m.escrowIndex!));
  if (!isSymmetric(key.KeySpec) && key.KeyState !== 'PendingImport' && escrow.sidecar.materials.length === 1) held.add(1);
  const findings = anchorReport(escrow.sidecar, anchors, held);
  const bad = findings.find((f) => f.state === 'mismatch');
  if (bad) {
    s.escrow.anchors = 'mismatch';
    s.escrow.matches = false;
    s.attention.push(`escrow ${escrow.path} claims fingerprint ${bad.claimed} for material ${bad.index}, but the key vouches for ${bad.tag} (tag kms-byok:material-${bad.index}): this escrow is not the one the custodians anchored`);
    return;
  }
  const unanchored = findings.filter((f) => f.state === 'not-anchored');
  if (unanchored.length > 0) {
    s.escrow.anchors = 'not-anchored';
    s.attention.push(
      anchors.size === 0
        ? `not anchored: key ${key.KeyId} has no escrow anchor tags; kms-byok verify ${key.KeyId} --identity FILE proves the escrow and writes them`
        : `not anchored: key ${key.KeyId} has no anchor tag for escrow material ${unanchored.map((f) => f.index).join(', ')} although KMS holds it`,
    );
    return;
  }
  s.escrow.anchors = 'ok';
}
