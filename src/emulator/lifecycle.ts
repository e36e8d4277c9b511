/**
 * Key state rules that several operations share: when a key is usable, how a key's state follows its
 * materials, and the sweep that expires materials and deletes keys as the clock passes.
 *
 * Contracts (AWS "Key states of AWS KMS keys" and "Delete imported key material"):
 * - A key with imported material is usable only while every permanently associated material
 *   (CURRENT or NON_CURRENT) is imported; material in PENDING_ROTATION does not count.
 * - When one of those materials expires or is deleted, the key goes to PendingImport, unless it is
 *   PendingDeletion (which it keeps). When they are all imported again, a PendingImport key is Enabled.
 * - {@link sweep} runs before every request: materials whose ValidTo has passed lose their bytes and
 *   become PENDING_IMPORT; keys whose DeletionDate has passed are deleted with their aliases and tokens.
 */
import { fail } from './errors.js';
import { keyArn } from './lookup.js';
import { allRegionStates, type EmulatorState, type KeyRecord, type MaterialRecord } from './state.js';

/** Materials permanently associated with the key (not pending rotation). */
export function permanentMaterials(key: KeyRecord): MaterialRecord[] {
  return key.materials.filter((m) => m.materialState === 'CURRENT' || m.materialState === 'NON_CURRENT');
}

/** The CURRENT material, if the key has one. */
export function currentMaterial(key: KeyRecord): MaterialRecord | undefined {
  return key.materials.find((m) => m.materialState === 'CURRENT');
}

/** Whether every permanently associated material is present (always true for AWS_KMS keys). */
export function hasAllMaterial(key: KeyRecord): boolean {
  const permanent = permanentMaterials(key);
  return permanent.length > 0 && permanent.every((m) => m.importState === 'IMPORTED');
}

/** Moves the key between PendingImport and Enabled as its materials require. */
export function settleState(key: KeyRecord): void {
  if (key.keyState === 'PendingDeletion') return;
  if (!hasAllMaterial(key)) key.keyState = 'PendingImport';
  else if (key.keyState === 'PendingImport') key.keyState = 'Enabled';
}

/** Forgets a material's bytes: it is no longer imported. */
export function dropMaterial(m: MaterialRecord): void {
  delete m.material;
  m.importState = 'PENDING_IMPORT';
}

/** What the sweep did that KMS reports on its own (a CloudTrail service event: trail.ts). */
export interface SweepEvent {
  eventName: 'DeleteExpiredKeyMaterial' | 'DeleteKey';
  key: KeyRecord;
  /** When it happened: the material's ValidTo or the key's DeletionDate (epoch ms). */
  timeMs: number;
  keyMaterialId?: string;
}

/** Expires materials and deletes keys whose time has come; tells `notify` of each. Returns whether anything changed. */
export function sweep(state: EmulatorState, nowMs: number, notify?: (e: SweepEvent) => void): boolean {
  let changed = false;
  for (const region of allRegionStates(state)) {
    for (const key of Object.values(region.keys)) {
      if (key.keyState === 'PendingDeletion' && key.deletionDate !== undefined && key.deletionDate <= nowMs) {
        delete region.keys[key.keyId];
        for (const [name, alias] of Object.entries(region.aliases)) if (alias.targetKeyId === key.keyId) delete region.aliases[name];
        for (const [id, t] of Object.entries(state.tokens)) if (t.keyId === key.keyId && t.region === key.region) delete state.tokens[id];
        notify?.({ eventName: 'DeleteKey', key, timeMs: key.deletionDate });
        changed = true;
        continue;
      }
      for (const m of key.materials) {
        if (m.importState === 'IMPORTED' && m.expirationModel === 'KEY_MATERIAL_EXPIRES' && m.validTo !== undefined && m.validTo <= nowMs) {
          dropMaterial(m);
          notify?.({ eventName: 'DeleteExpiredKeyMaterial', key, timeMs: m.validTo, keyMaterialId: m.keyMaterialId });
          changed = true;
        }
      }
      if (key.origin === 'EXTERNAL') {
        const before = key.keyState;
        settleState(key);
        if (key.keyState !== before) changed = true;
      }
    }
  }
  // Tokens are kept a day past ParametersValidTo so a late import hears "expired", not "invalid".
  for (const [id, t] of Object.entries(state.tokens)) {
    if (t.parametersValidTo + 24 * 3600_000 < nowMs) {
      delete state.tokens[id];
      changed = true;
    }
  }
  return changed;
}

/**
 * The state check of cryptographic operations (Encrypt, Decrypt, GenerateMac, Sign, …), with AWS's
 * exceptions: DisabledException when disabled, KMSInvalidStateException when pending import or deletion.
 */
export function requireEnabled(key: KeyRecord): void {
  switch (key.keyState) {
    case 'Enabled':
      return;
    case 'Disabled':
      throw fail('DisabledException', `${keyArn(key)} is disabled.`);
    case 'PendingImport':
      throw fail('KMSInvalidStateException', `${keyArn(key)} is pending import.`);
    case 'PendingDeletion':
      throw fail('KMSInvalidStateException', `${keyArn(key)} is pending deletion.`);
  }
}

/** Refuses keys pending deletion (management operations that AWS refuses in that state). */
export function requireNotPendingDeletion(key: KeyRecord): void {
  if (key.keyState === 'PendingDeletion') throw fail('KMSInvalidStateException', `${keyArn(key)} is pending deletion.`);
}

/** Refuses keys whose origin is not EXTERNAL (the import operations). */
export function requireExternal(key: KeyRecord): void {
  if (key.origin !== 'EXTERNAL') {
    throw fail('UnsupportedOperationException', `${keyArn(key)} origin is ${key.origin} which is not valid for this operation.`);
  }
}
