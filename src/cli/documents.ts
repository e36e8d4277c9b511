/**
 * The `--json` documents' shared parts (docs/json.md): every document carries `schemaVersion`; a key,
 * an escrow reference, a verification and an error have one shape in every command. Commands map
 * their ceremony's result to a document here, at the render edge; the shapes are published as JSON
 * Schemas in docs/schemas/ (tests validate real outputs against them).
 */
import { KmsByokError } from '../core/errors.js';
import type { StatusResult } from '../ceremony/status.js';
import type { ReimportResult } from '../ceremony/reimport.js';
import type { RotateInPlaceResult } from '../ceremony/rotate.js';
import type { OnboardResult } from '../ceremony/onboard.js';
import type { FleetReport } from '../fleet/run.js';
import type { EscrowSummary } from '../escrow/vault.js';
import type { Io } from './io.js';
import { printJson } from './render.js';

/**
 * Version of every document's shape. Additive changes (a new optional field) keep it; renaming,
 * removing or retyping a field, or making one required, bumps it (docs/json.md, "Versioning").
 */
export const SCHEMA_VERSION = 1;

/** Prints a result document: `{ schemaVersion, ...doc }`. */
export function printDocument(io: Io, doc: object): void {
  printJson(io, { schemaVersion: SCHEMA_VERSION, ...doc });
}

/** The one escrow reference: the sealed file (`path`), its sidecar, its version, its sealed files. */
export interface EscrowReference {
  path: string;
  sidecarPath?: string;
  version?: number;
  files?: { path: string; sha256: string; role: string }[];
}

/**
 * An escrow reference from what a command knows. The version is read from the file name
 * (`<key-id>.v<N>.age`, docs/escrow-format.md) when not given.
 */
export function escrowRef(path: string, extra: Omit<EscrowReference, 'path'> = {}): EscrowReference {
  const version = extra.version ?? Number(/\.v(\d+)\.age$/.exec(path)?.[1] ?? Number.NaN);
  return { path, ...extra, ...(Number.isInteger(version) ? { version } : {}) };
}

/** The one verification shape: what proved KMS holds the material (`summary` is for humans). */
export interface Verification {
  method?: string;
  summary: string;
  enabled?: boolean;
  keyMaterialIdConfirmed?: boolean;
}

/** A verification from a ceremony's summary line or object. */
export function verification(v: string | Verification | undefined): Verification | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? { summary: v } : v;
}

/** The error object of the error document and of a fleet or multi-key row. */
export interface ErrorObject {
  code: string;
  message: string;
  hint?: string;
}

export function errorObject(code: string, message: string, hint?: string): ErrorObject {
  return { code, message, ...(hint ? { hint } : {}) };
}

/** The error document printed on stdout with `--json` (stderr keeps the human lines). */
export function errorDocument(e: unknown): { schemaVersion: number; ok: false; error: ErrorObject } {
  const error =
    e instanceof KmsByokError
      ? errorObject(e.code, e.message, e.hint)
      : errorObject('ERR_INTERNAL', `internal error: ${e instanceof Error ? e.message : String(e)}`, 'this is a bug in kms-byok: re-run with KMS_BYOK_DEBUG=1 and report the output');
  return { schemaVersion: SCHEMA_VERSION, ok: false, error };
}

export function printErrorDocument(io: Io, e: unknown): void {
  printJson(io, errorDocument(e));
}

/** Whether argv asks for a JSON document: `--json`, `--format json` or `--format=json` (before `--`). */
export function asksForJson(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return false;
    if (a === '--json' || a === '--format=json' || (a === '--format' && argv[i + 1] === 'json')) return true;
  }
  return false;
}

/**
 * A lifecycle ceremony's result (reimport, restore, rotate, revoke) as a document: the escrow the
 * ceremony names becomes an escrow reference, its verification line a verification.
 */
export function lifecycleDocument<T extends { escrow?: string | undefined; verified?: string | undefined }>(
  r: T,
): Omit<T, 'escrow' | 'verified'> & { escrow?: EscrowReference; verified?: Verification } {
  const { escrow, verified, ...rest } = r;
  const v = verification(verified);
  return { ...rest, ...(escrow !== undefined ? { escrow: escrowRef(escrow) } : {}), ...(v ? { verified: v } : {}) };
}

/** `onboard`: the result with its escrow as the escrow reference. */
export function onboardDocument(r: OnboardResult): object {
  const { path, sidecarPath, files } = r.escrow;
  return { ...r, escrow: escrowRef(path, { sidecarPath, files }) };
}

/** `reimport`/`restore`: a lifecycle document whose multi-Region replicas are documents of the same shape. */
export function reimportDocument(r: ReimportResult): object {
  const { replicas, ...rest } = r;
  return { ...lifecycleDocument(rest), ...(replicas ? { replicas: replicas.map(reimportDocument) } : {}) };
}

/**
 * `rotate --in-place`: the new escrow version is the escrow reference's `version`; the number of
 * materials is `materialCount` (`materials` is a list in every document); replicas are `{ region }`
 * objects, as `rotate --new-key`'s replicas are.
 */
export function rotateInPlaceDocument(r: RotateInPlaceResult): object {
  const { escrowVersion, materials, replicas, escrow, ...rest } = r;
  return { ...lifecycleDocument(rest), escrow: escrowRef(escrow, { version: escrowVersion }), materialCount: materials, replicas: replicas.map((region) => ({ region })) };
}

/**
 * `status --json`: per key, `escrow` is the escrow reference (when one exists) and `escrowCheck` what
 * status found about it; a material's escrow index is `index`, as in every other document; the
 * top-level `needsAttention` says whether any key's `attention` list is non-empty.
 */
export function statusDocument(r: StatusResult, escrowDir: string, target: string): object {
  return {
    keys: r.keys.map((k) => {
      const { escrow, materials, ...rest } = k;
      const { path, version, ...check } = escrow;
      return {
        ...rest,
        materials: materials.map(({ escrowIndex, ...m }) => ({ ...(escrowIndex !== undefined ? { index: escrowIndex } : {}), ...m })),
        ...(path !== undefined ? { escrow: escrowRef(path, version !== undefined ? { version } : {}) } : {}),
        escrowCheck: check,
      };
    }),
    needsAttention: r.attention,
    escrowDir,
    target,
  };
}

/**
 * `escrow inspect|verify --json`: the escrow's summary with the escrow reference (`escrow`), the
 * account as `accountId`, and each material's expiry as elsewhere: `validTo` when it expires,
 * `expirationModel` saying which (the summary's `validTo: null` means it does not expire).
 */
export function escrowSummaryDocument(path: string, sidecarPath: string, s: EscrowSummary): object {
  const { account, escrowVersion, materials, ...rest } = s;
  return {
    escrow: escrowRef(path, { sidecarPath, version: escrowVersion }),
    accountId: account,
    ...rest,
    materials: materials.map(({ validTo, ...m }) => ({
      ...m,
      ...(validTo === null ? { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } : validTo !== undefined ? { expirationModel: 'KEY_MATERIAL_EXPIRES', validTo } : {}),
    })),
  };
}

/**
 * A fleet run's report (docs/fleet.md, "Output"): each row's failure is an `error` object, as in the
 * error document; `action` only on reimport/restore rows, `keyState` and `attention` on status rows.
 */
export function fleetDocument(r: FleetReport): object {
  return {
    ...r,
    keys: r.keys.map(({ code, message, hint, ...row }) => ({ ...row, ...(code !== undefined ? { error: errorObject(code, message ?? code, hint) } : {}) })),
  };
}
