/**
 * `status`: for each key, its state, every material (ListKeyRotations), ValidTo and days left, the
 * last rotation and its age, on-demand rotations left, and whether the escrow in the escrow
 * directory exists and matches (KeyMaterialIds and check values, from the sidecar: no secret needed).
 * Pure over the KMS port and a sidecar lookup; `attention` lists what needs action.
 */
import { KmsByokError } from '../core/errors.js';
import { DAY_MS, daysUntil } from '../core/time.js';
import type { KeyInfo, KmsPort } from '../kms/port.js';
import { isSymmetric, knownIds, materialsOf, type EscrowRef } from './lifecycle.js';

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
  escrow: { path?: string; version?: number; exists: boolean; matches: boolean; problem?: string };
  attention: string[];
}

export interface StatusResult {
  keys: KeyStatus[];
  attention: boolean;
}

export interface StatusDeps {
  kms: KmsPort;
  now(): Date;
  escrowOf(keyId: string): Promise<EscrowRef | undefined>;
}

export async function runStatus(options: StatusOptions, deps: StatusDeps): Promise<StatusResult> {
  const { kms } = deps;
  let keys: KeyInfo[];
  if (options.keys.length > 0) {
    keys = [];
    for (const k of options.keys) keys.push(await kms.describeKey(k));
  } else {
    keys = [];
    for (const id of await kms.listKeys()) {
      const k = await kms.describeKey(id);
      if (k.Origin === 'EXTERNAL') keys.push(k);
    }
  }
  const out: KeyStatus[] = [];
  for (const key of keys) out.push(await statusOf(key, options, deps));
  return { keys: out, attention: out.some((k) => k.attention.length > 0) };
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
    if (m.ValidTo && m.ImportState !== 'PENDING_IMPORT') {
      row.validTo = m.ValidTo.toISOString();
      row.daysLeft = daysUntil(m.ValidTo, now);
      if (!earliest || m.ValidTo < earliest) earliest = m.ValidTo;
    }
    if (m.RotationDate) {
      row.rotationDate = m.RotationDate.toISOString();
      if (!lastRotation || m.RotationDate > lastRotation) lastRotation = m.RotationDate;
      if (m.RotationType !== 'AUTOMATIC') onDemand++;
    }
    if (escrow) {
      const index = m.KeyMaterialId === undefined ? (escrow.sidecar.materials.length === 1 ? 1 : undefined) : [...ids.entries()].find(([, id]) => id === m.KeyMaterialId)?.[0];
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
    if (escrow.damaged.length > 0) s.escrow.problem = `sealed file ${escrow.damaged[0]} is missing or differs from its SHA-256`;
    else if (unmatched.length > 0) s.escrow.problem = `lacks key material ${unmatched[0]!.keyMaterialId ?? '(no id)'}`;
    else if (escrow.sidecar.manifest.keySpec !== key.KeySpec) s.escrow.problem = `is for key spec ${escrow.sidecar.manifest.keySpec}, the key is ${key.KeySpec}`;
    s.escrow.matches = s.escrow.problem === undefined;
    if (!s.escrow.matches) s.attention.push(`escrow ${escrow.path} ${s.escrow.problem}`);
  } else {
    s.attention.push(s.escrow.problem ? `escrow unreadable: ${s.escrow.problem}` : 'no escrow of this key in the escrow directory');
  }
  return s;
}
