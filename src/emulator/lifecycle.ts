/**
 * Key state rules that several operations share: when a key is usable, how a key's state follows its
 * materials, and the sweep that expires materials and deletes keys as the clock passes.
 *
 * Contracts (AWS "Key states of AWS KMS keys" and "Delete imported key material"):
 * - A key with imported material is usable only while every permanently associated material
 *   (CURRENT or NON_CURRENT) is imported; material in PENDING_ROTATION does not count.
 * - When one of those materials expires or is deleted, the key goes to PendingImport, unless it is
 *   PendingDeletion (which it keeps). When they are all imported again, a PendingImport key is Enabled.
 * - {@link sweep} runs before a request whenever something can have come due: materials whose ValidTo
 *   has passed lose their bytes and become PENDING_IMPORT; keys whose DeletionDate has passed are
 *   deleted with their aliases and tokens. {@link Sweeper} decides when: after any request that may
 *   have changed the state, and once the clock reaches the earliest deadline the last sweep saw.
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

/** Tokens are kept this long past ParametersValidTo, so a late import hears "expired", not "invalid". */
const TOKEN_KEPT_MS = 24 * 3600_000;

/** When the sweep forgets a token whose ParametersValidTo is `parametersValidTo` (epoch ms). */
export function tokenSweptAt(parametersValidTo: number): number {
  return parametersValidTo + TOKEN_KEPT_MS + 1;
}

/**
 * Expires materials and deletes keys whose time has come; tells `notify` of each. Returns whether
 * anything changed and the earliest deadline still ahead (epoch ms; Infinity when none): until then,
 * and while no request changes the state, another sweep would find nothing to do.
 */
export function sweep(state: EmulatorState, nowMs: number, notify?: (e: SweepEvent) => void): { changed: boolean; nextDueMs: number } {
  let changed = false;
  let nextDueMs = Infinity;
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
      if (key.keyState === 'PendingDeletion' && key.deletionDate !== undefined) nextDueMs = Math.min(nextDueMs, key.deletionDate);
      for (const m of key.materials) {
        if (m.importState === 'IMPORTED' && m.expirationModel === 'KEY_MATERIAL_EXPIRES' && m.validTo !== undefined) {
          // Written so that a ValidTo that is not a number (a hand-edited state file) never expires.
          if (!(m.validTo <= nowMs)) {
            if (m.validTo > nowMs) nextDueMs = Math.min(nextDueMs, m.validTo);
            continue;
          }
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
  for (const [id, t] of Object.entries(state.tokens)) {
    const sweptAt = tokenSweptAt(t.parametersValidTo);
    if (sweptAt <= nowMs) {
      delete state.tokens[id];
      changed = true;
    } else nextDueMs = Math.min(nextDueMs, sweptAt);
  }
  return { changed, nextDueMs };
}

/**
 * KMS operations that change nothing the sweep reads (key states, deletion dates, materials, tokens).
 * Any other request — another KMS operation, an emulator control such as AdvanceClock, a call to
 * another service — makes the next request sweep. A new entry here must be checked against that.
 */
const SWEEP_NEUTRAL_OPERATIONS: ReadonlySet<string> = new Set([
  'DescribeKey', 'ListKeys', 'ListAliases', 'ListResourceTags', 'ListKeyRotations', 'GetKeyPolicy', 'GetPublicKey',
  'GetKeyLastUsage', 'Encrypt', 'Decrypt', 'GenerateDataKey', 'GenerateMac', 'VerifyMac', 'Sign', 'Verify',
]);

/**
 * Operations whose handlers, when they succeed, settle every key they touch and report each deadline
 * they add through {@link Sweeper.due} (a token's, a material's ValidTo): a re-import's own calls then
 * need no sweep. A failed one counts as a change.
 */
const DEADLINE_REPORTING_OPERATIONS: ReadonlySet<string> = new Set(['GetParametersForImport', 'ImportKeyMaterial']);

/**
 * Runs {@link sweep} before a request only when it can find something: a fleet of n keys otherwise
 * pays O(n) per request, O(n²) per re-import of the fleet.
 *
 * Contract: {@link Sweeper.beforeRequest} sweeps on the first request; when the clock has reached the
 * earliest deadline known (seen by the last sweep or reported since through {@link Sweeper.due}); and
 * during and after any request that may have changed the state otherwise ({@link Sweeper.beforeHandler},
 * {@link Sweeper.afterHandler}). The state
 * must change only through requests (the emulator's state is not exposed); a clock moved by
 * AdvanceClock or by an injected `now` reaches the deadline check.
 */
export class Sweeper {
  private nextDueMs = -Infinity;
  private dirty = true;

  constructor(
    private readonly state: EmulatorState,
    private readonly notify?: (e: SweepEvent) => void,
  ) {}

  beforeRequest(nowMs: number): void {
    if (!this.dirty && nowMs < this.nextDueMs) return;
    this.nextDueMs = sweep(this.state, nowMs, this.notify).nextDueMs;
    this.dirty = false;
  }

  /** A handler added something that comes due at `atMs` (epoch ms). */
  due(atMs: number): void {
    this.nextDueMs = Math.min(this.nextDueMs, atMs);
  }

  /**
   * Before a handler runs. A request that starts while another's handler awaits between its changes
   * must sweep too; the deadline-reporting handlers change the state only after their last await.
   */
  beforeHandler(service: 'kms' | 'other', operation: string): void {
    if (!leavesNothingToSweep(service, operation, true)) this.dirty = true;
  }

  /** After a handler ran, whatever its outcome. */
  afterHandler(service: 'kms' | 'other', operation: string, succeeded: boolean): void {
    if (!leavesNothingToSweep(service, operation, succeeded)) this.dirty = true;
  }
}

/** Whether a handler of `operation` (so far successful, or finished with `succeeded`) needs no sweep after it. */
function leavesNothingToSweep(service: 'kms' | 'other', operation: string, succeeded: boolean): boolean {
  return service === 'kms' && (SWEEP_NEUTRAL_OPERATIONS.has(operation) || (succeeded && DEADLINE_REPORTING_OPERATIONS.has(operation)));
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
