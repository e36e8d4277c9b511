/**
 * The one import session every ceremony uses (onboard, the post-import proof, reimport, restore,
 * rotate, verify, the air-gapped import): fetch parameters (fresh ones when the token expired), wrap,
 * `ImportKeyMaterial` — and when the outcome of the import is unknown (timeout, connection reset,
 * a 5xx, the process stopped mid-call), find out from KMS before acting again
 * (docs/architecture.md, "Unknown outcomes").
 *
 * Contract of {@link ImportSession.importMaterial}:
 * - It returns only when KMS holds the material as asked; `recovered` says the answer was lost and the
 *   outcome was learned from KMS instead.
 * - After an unknown outcome it asks KMS (`DescribeKey` + `ListKeyRotations`) and concludes "done"
 *   only from a change KMS shows and a proof that the change is this material: a `KeyMaterialId` KMS
 *   lists that it did not list before is confirmed by re-sending the same material as
 *   `EXISTING_KEY_MATERIAL` under that id (KMS accepts only the very same material there). When KMS
 *   shows no change the import did not happen, and it is sent again (at most {@link MAX_SENDS} times).
 * - A definite answer from KMS (a KMS error document) is final and rethrown, except "this material is
 *   already associated with the key" for `NEW_KEY_MATERIAL`, which is exactly what a lost answer
 *   looks like to a retry, and is settled the same way.
 * - When KMS cannot be asked either, the error is rethrown with a hint that says the outcome is
 *   unknown and that re-running the same command asks KMS first. Nothing claims "nothing changed".
 */
import { KmsByokError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import type { ExpirationModel, ImportType, KeySpec, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import type { ImportParameters, KeyMaterialInfo, KmsPort } from '../kms/port.js';
import { outcomeUnknown } from '../kms/port.js';
import { chooseWrapping } from '../material/key-specs.js';
import { parseWrappingPublicKey, wrapKeyMaterial } from '../wrapping/index.js';
import type { CeremonyDeps } from './ports.js';

/** Material already wrapped for one import token (the air-gapped bundle; a resumed onboard). */
export interface WrappedMaterial {
  EncryptedKeyMaterial: Uint8Array;
  ImportToken: Uint8Array;
  ParametersValidTo: Date;
  WrappingAlgorithm: WrappingAlgorithm;
  WrappingKeySpec: WrappingKeySpec;
}

/**
 * What to import: the material itself (wrapped here), a wrapped copy made earlier, or material that
 * is wrapped elsewhere for each set of import parameters (a PKCS#11 token wraps inside itself:
 * docs/hsm.md) — the session never sees its bytes.
 */
export type ImportSource = { material: SecretBytes } | { wrapped: WrappedMaterial } | { wrapWith(params: ImportParameters): Uint8Array };

export interface ImportRequest {
  /** Symmetric keys only; omitted for a key's first import and for other specs. */
  ImportType?: ImportType;
  KeyMaterialId?: string;
  expiry: { ExpirationModel: ExpirationModel; ValidTo?: Date };
  description?: string;
}

export interface Imported {
  /** The material's id (symmetric keys: always; KMS returns one for every symmetric import). */
  keyMaterialId?: string;
  /** The wrapping the material travelled under (recorded in the sidecar). */
  params: Pick<ImportParameters, 'WrappingAlgorithm' | 'WrappingKeySpec'>;
  /** The answer was lost; KMS showed (and confirmed) that the import happened. */
  recovered: boolean;
}

/** How many times one import is sent before the session gives up. */
export const MAX_SENDS = 3;

export interface SessionKey {
  KeyId: string;
  KeySpec: KeySpec;
}

type Wrapping = { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec };

function defaultWrapping(spec: KeySpec): Wrapping {
  const c = chooseWrapping(spec);
  return { WrappingAlgorithm: c.algorithm, WrappingKeySpec: c.wrappingKeySpec };
}

/** A material's observable import state: enough to tell whether an import changed anything. */
function fingerprint(m: KeyMaterialInfo): string {
  return `${m.ImportState ?? ''}|${m.ExpirationModel ?? ''}|${m.ValidTo?.getTime() ?? ''}`;
}

export class ImportSession {
  private params: ImportParameters | undefined;
  private readonly symmetric: boolean;
  /** KMS's materials as the ceremony listed them moments ago (see {@link listedBefore}); used once. */
  private listed: Map<string, string> | undefined;

  constructor(
    private readonly kms: KmsPort,
    private readonly key: SessionKey,
    private readonly deps: Pick<CeremonyDeps, 'now' | 'progress'> & { journal?: { step(name: string, facts?: Record<string, string>): Promise<void> } },
    private readonly wrapping: Wrapping = defaultWrapping(key.KeySpec),
  ) {
    this.symmetric = key.KeySpec === 'SYMMETRIC_DEFAULT';
  }

  /**
   * Hands the session the materials the ceremony has just listed (`ListKeyRotations`, unaltered),
   * with nothing imported since: the first import takes them as its state before instead of asking
   * KMS again (two calls fewer per re-import: docs/fleet.md, "CPU per key"). Symmetric keys only
   * (their list is what {@link materials} returns); a later import in this session asks KMS afresh.
   */
  listedBefore(materials: readonly KeyMaterialInfo[]): void {
    if (this.symmetric) this.listed = new Map(materials.map((m, i) => [m.KeyMaterialId ?? `#${i}`, fingerprint(m)]));
  }

  /** Import parameters, fetched once and reused while valid for at least another minute. */
  private async fresh(): Promise<ImportParameters> {
    if (this.params && this.params.ParametersValidTo.getTime() - 60_000 > this.deps.now().getTime()) return this.params;
    const params = await this.kms.getParametersForImport(this.key.KeyId, this.wrapping);
    parseWrappingPublicKey(params.PublicKey, params.WrappingKeySpec);
    this.params = params;
    this.deps.progress(`got import parameters for ${this.key.KeyId} in ${this.kms.region} (${params.WrappingAlgorithm}, ${params.WrappingKeySpec}, valid until ${params.ParametersValidTo.toISOString()})`);
    await this.deps.journal?.step('got parameters', { keyId: this.key.KeyId, region: this.kms.region, importTokenValidTo: params.ParametersValidTo.toISOString() });
    return params;
  }

  private async wrapped(source: ImportSource): Promise<WrappedMaterial> {
    if ('wrapped' in source) return source.wrapped;
    const p = await this.fresh();
    return {
      EncryptedKeyMaterial: 'wrapWith' in source ? source.wrapWith(p) : wrapKeyMaterial(source.material, p, this.key.KeySpec),
      ImportToken: p.ImportToken,
      ParametersValidTo: p.ParametersValidTo,
      WrappingAlgorithm: p.WrappingAlgorithm,
      WrappingKeySpec: p.WrappingKeySpec,
    };
  }

  /** Every material KMS lists for the key (non-symmetric keys: the one DescribeKey describes). */
  async materials(): Promise<KeyMaterialInfo[]> {
    const key = await this.kms.describeKey(this.key.KeyId);
    if (this.symmetric) return this.kms.listKeyRotations(this.key.KeyId);
    if (key.KeyState === 'PendingImport') return [];
    const one: KeyMaterialInfo = { ImportState: 'IMPORTED', KeyMaterialState: 'CURRENT' };
    if (key.ExpirationModel) one.ExpirationModel = key.ExpirationModel;
    if (key.ValidTo) one.ValidTo = key.ValidTo;
    if (key.CurrentKeyMaterialId) one.KeyMaterialId = key.CurrentKeyMaterialId;
    return [one];
  }

  private async send(w: WrappedMaterial, r: ImportRequest): Promise<{ KeyMaterialId?: string }> {
    const out = await this.kms.importKeyMaterial({
      KeyId: this.key.KeyId,
      ImportToken: w.ImportToken,
      EncryptedKeyMaterial: w.EncryptedKeyMaterial,
      ExpirationModel: r.expiry.ExpirationModel,
      ...(r.expiry.ValidTo ? { ValidTo: r.expiry.ValidTo } : {}),
      ...(this.symmetric && r.ImportType ? { ImportType: r.ImportType } : {}),
      ...(this.symmetric && r.KeyMaterialId ? { KeyMaterialId: r.KeyMaterialId } : {}),
      ...(this.symmetric && r.description ? { KeyMaterialDescription: r.description } : {}),
    });
    // Strict proof: AWS returns a KeyMaterialId for every symmetric import; an answer without one is
    // not evidence of an import (docs/architecture.md, "Strict proof").
    if (this.symmetric && !out.KeyMaterialId) {
      throw new KmsByokError('ERR_KMS_BAD_RESPONSE', `ImportKeyMaterial into ${this.key.KeyId} answered without a KeyMaterialId`, {
        hint: 'KMS always returns one for a symmetric key: the endpoint is not behaving like KMS; check --endpoint-url',
      });
    }
    if (this.symmetric && r.KeyMaterialId && out.KeyMaterialId !== r.KeyMaterialId) {
      throw new KmsByokError('ERR_VERIFY_FAILED', `KMS answered KeyMaterialId ${out.KeyMaterialId}, expected ${r.KeyMaterialId}`, {
        hint: 'do not use this key; compare check values with the custodians',
      });
    }
    return out;
  }

  /**
   * Imports `source` as `request` asks and returns what KMS then holds (see the module contract).
   * `source` is borrowed: the caller disposes material.
   */
  async importMaterial(source: ImportSource, request: ImportRequest): Promise<Imported> {
    // What KMS held before: needed to recognise an import that happened without its answer.
    let before: Map<string, string> | undefined;
    let tokenRefetched = false;
    for (let sent = 1; ; sent++) {
      const w = await this.wrapped(source);
      const params = { WrappingAlgorithm: w.WrappingAlgorithm, WrappingKeySpec: w.WrappingKeySpec };
      try {
        if (before === undefined) before = this.listed ?? (await this.snapshot());
        this.listed = undefined;
        const out = await this.send(w, request);
        return { ...(out.KeyMaterialId ? { keyMaterialId: out.KeyMaterialId } : {}), params, recovered: false };
      } catch (e) {
        if (!(e instanceof KmsByokError)) throw e;
        if (e.code === 'ERR_KMS_IMPORT_TOKEN_EXPIRED' && !('wrapped' in source) && !tokenRefetched) {
          this.deps.progress('import token expired: fetching fresh import parameters');
          this.params = undefined;
          tokenRefetched = true;
          continue;
        }
        const alreadyAssociated = request.ImportType === 'NEW_KEY_MATERIAL' && e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL' && /already associated/i.test(e.message);
        if (!outcomeUnknown(e) && !alreadyAssociated) throw e;
        const settled = await this.settle(source, request, before, e);
        if (settled) return { ...settled, params };
        if (!outcomeUnknown(e) || sent >= MAX_SENDS) throw unknownOutcome(e, this.key.KeyId);
        this.deps.progress(`ImportKeyMaterial into ${this.key.KeyId} got no answer (${e.code}); KMS shows it did not happen: sending it again`);
      }
    }
  }

  private async snapshot(): Promise<Map<string, string> | undefined> {
    try {
      return new Map((await this.materials()).map((m, i) => [m.KeyMaterialId ?? `#${i}`, fingerprint(m)]));
    } catch (e) {
      // Not knowing the state before only weakens recovery (no "done" can be concluded); the import goes on.
      if (e instanceof KmsByokError) return undefined;
      throw e;
    }
  }

  /**
   * After an import whose outcome is unknown: what KMS holds now. Returns the result when KMS shows
   * (and confirms) the import happened; undefined when it shows it did not. Throws the original
   * error, marked unknown, when KMS cannot be asked.
   */
  private async settle(source: ImportSource, request: ImportRequest, before: Map<string, string> | undefined, cause: KmsByokError): Promise<Omit<Imported, 'params'> | undefined> {
    let now: KeyMaterialInfo[];
    try {
      now = await this.materials();
    } catch {
      throw unknownOutcome(cause, this.key.KeyId);
    }
    // Without the state before, a change cannot be told from no change: the outcome stays unknown.
    if (before === undefined) throw unknownOutcome(cause, this.key.KeyId);
    const changed = now.filter((m, i) => before.get(m.KeyMaterialId ?? `#${i}`) !== fingerprint(m));
    const wanted = changed.find((m) => m.ImportState === 'IMPORTED' && (request.KeyMaterialId === undefined || m.KeyMaterialId === request.KeyMaterialId));
    if (!wanted) return undefined;
    const isNew = wanted.KeyMaterialId !== undefined && !before.has(wanted.KeyMaterialId);
    if (request.ImportType === 'EXISTING_KEY_MATERIAL' && request.KeyMaterialId !== undefined && !isNew) {
      // A re-import under a named id changed that material's state: KMS accepts only the same
      // material under its id, so the change is the proof.
      this.deps.progress(`KMS shows the re-import into ${this.key.KeyId} (${wanted.KeyMaterialId}) happened although its answer was lost`);
      return { keyMaterialId: wanted.KeyMaterialId!, recovered: true };
    }
    // A first import, or a NEW_KEY_MATERIAL import: a material appeared. Prove it is this one by
    // re-sending the same material as EXISTING under its id (other specs: as a plain re-import,
    // which KMS also accepts only for the same material).
    const w = await this.wrapped(source);
    const existing: ImportRequest = {
      expiry: wanted.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && wanted.ValidTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: wanted.ValidTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
      ...(this.symmetric && wanted.KeyMaterialId ? { ImportType: 'EXISTING_KEY_MATERIAL' as const, KeyMaterialId: wanted.KeyMaterialId } : {}),
    };
    try {
      const out = await this.send(w, existing);
      this.deps.progress(`KMS shows the import into ${this.key.KeyId} happened although its answer was lost; it accepted the same material again${wanted.KeyMaterialId ? ` under ${wanted.KeyMaterialId}` : ''}`);
      const id = out.KeyMaterialId ?? wanted.KeyMaterialId;
      return { ...(id ? { keyMaterialId: id } : {}), recovered: true };
    } catch (e) {
      if (e instanceof KmsByokError && e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL') {
        throw new KmsByokError('ERR_ESCROW_MISSING_MATERIAL', `key ${this.key.KeyId} gained material ${wanted.KeyMaterialId ?? ''} that is not the material this ceremony imports`.replace('  ', ' '), {
          hint: 'someone imported other material at the same time: stop, and find out who (CloudTrail ImportKeyMaterial events for the key)',
          cause: e,
        });
      }
      if (e instanceof KmsByokError && outcomeUnknown(e)) throw unknownOutcome(e, this.key.KeyId);
      throw e;
    }
  }
}

/** The error of an import whose outcome is still unknown, saying so and what to run. */
export function unknownOutcome(e: KmsByokError, keyId: string): KmsByokError {
  const note = `whether KMS imported the material into ${keyId} is unknown (no answer); re-running the same command asks KMS first and finishes it`;
  if (e.hint?.includes('is unknown')) return e;
  return new KmsByokError(e.code, e.message, { hint: e.hint ? `${note}; ${e.hint}` : note, cause: e.cause ?? e });
}
