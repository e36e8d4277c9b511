/**
 * Creating the key of a ceremony so that a lost answer never makes a second key (docs/architecture.md,
 * "Unknown outcomes"): the ceremony's id is journalled BEFORE CreateKey and sent as the tag
 * `kms-byok:ceremony=<id>`; when CreateKey gets no answer, or a re-run finds the id journalled without
 * a key id, the key is looked up by that tag before anything is created. Used by onboard, the
 * air-gapped step 1 and the new-key ceremonies.
 */
import { KmsByokError } from '../core/errors.js';
import { outcomeUnknown, type CreateKeyInput, type KeyInfo, type KmsPort, type Tag } from '../kms/port.js';
import type { CeremonyDeps } from './ports.js';
import type { JournalPort } from './shared.js';
import { retryWhileNotFound } from './retry.js';
import { assertAliasFree, withHint } from './onboard.js';

/** The tag every key onboard creates carries, so a key whose CreateKey answer was lost can be found. */
export const CEREMONY_TAG = 'kms-byok:ceremony';

/**
 * Finds the key an earlier run of this ceremony created (CreateKey answered nothing, or the process
 * stopped before the key id was journalled): the key tagged `kms-byok:ceremony=<id>`. Lists every
 * key and its tags: this runs only after an unknown CreateKey outcome.
 */
export async function findCeremonyKey(kms: KmsPort, ceremonyId: string): Promise<KeyInfo | undefined> {
  for (const id of await kms.listKeys()) {
    let tags: Tag[];
    try {
      tags = await kms.listResourceTags(id);
    } catch (e) {
      if (e instanceof KmsByokError && (e.code === 'ERR_KMS_NOT_FOUND' || e.code === 'ERR_KMS_ACCESS_DENIED')) continue;
      throw e;
    }
    if (tags.some((t) => t.TagKey === CEREMONY_TAG && t.TagValue === ceremonyId)) return kms.describeKey(id);
  }
  return undefined;
}

/** Makes `alias` point at `keyId`: created when free; after a lost answer, KMS is asked. */
export async function ensureAlias(kms: KmsPort, alias: string, keyId: string, sleep: (ms: number) => Promise<void>): Promise<'created' | 'present'> {
  const target = await kms.describeKey(alias).then(
    (k) => k.KeyId,
    (e: unknown) => {
      if (e instanceof KmsByokError && e.code === 'ERR_KMS_NOT_FOUND') return undefined;
      throw e;
    },
  );
  if (target === keyId) return 'present';
  if (target !== undefined) {
    throw new KmsByokError('ERR_KMS_ALREADY_EXISTS', `alias ${alias} now points at key ${target}, not at ${keyId} which this onboard created`, {
      hint: `someone took the alias meanwhile: the key ${keyId} goes on without it; give it another alias later (aws kms create-alias)`,
    });
  }
  try {
    await retryWhileNotFound(() => kms.createAlias(alias, keyId), sleep);
    return 'created';
  } catch (e) {
    if (!(e instanceof KmsByokError) || !(outcomeUnknown(e) || e.code === 'ERR_KMS_ALREADY_EXISTS')) throw e;
    const now = await kms.describeKey(alias).then((k) => k.KeyId, () => undefined);
    if (now === keyId) return 'created';
    throw e;
  }
}


export interface ObtainKeyOptions {
  journal: JournalPort;
  /** This ceremony's id (journalled by the caller before this runs). */
  ceremonyId: string;
  /** Checked free before a key is created. */
  alias?: string;
  /** How the hint tells the operator to finish ("re-run the same command …"). */
  finish: string;
  /** Journal fact names of the key id and ARN. */
  keyIdFact: string;
  keyArnFact: string;
}

/** The ceremony's key: the journalled one, the one an interrupted run created (by its tag), or a new one. */
export async function obtainKey(kms: KmsPort, input: Omit<CreateKeyInput, 'Tags'> & { Tags?: Tag[] }, o: ObtainKeyOptions, deps: Pick<CeremonyDeps, 'progress'>): Promise<KeyInfo> {
  const resumed = o.journal.resumed;
  const journalled = resumed[o.keyIdFact];
  let key: KeyInfo;
  if (journalled) {
    key = await kms.describeKey(journalled);
    assertResumable(key);
    deps.progress(`resuming the interrupted ceremony: key ${key.KeyId} (${key.KeyState})`);
  } else {
    const found = resumed.ceremonyId ? await findCeremonyKey(kms, o.ceremonyId) : undefined;
    if (found) {
      assertResumable(found);
      key = found;
      deps.progress(`found key ${key.KeyId}, created by the interrupted run (tag ${CEREMONY_TAG}=${o.ceremonyId})`);
    } else {
      if (o.alias) await assertAliasFree(kms, o.alias);
      try {
        key = await kms.createKey({ ...input, Tags: [...(input.Tags ?? [{ TagKey: 'created-by', TagValue: 'kms-byok' }]), { TagKey: CEREMONY_TAG, TagValue: o.ceremonyId }] });
      } catch (e) {
        if (!outcomeUnknown(e)) throw e;
        const late = await findCeremonyKey(kms, o.ceremonyId).catch(() => undefined);
        if (!late) throw withHint(e, `whether KMS created the key is unknown (no answer); ${o.finish}: it first looks for the key tagged ${CEREMONY_TAG}=${o.ceremonyId}`);
        key = late;
        deps.progress(`CreateKey got no answer, but KMS lists the key it created: ${key.KeyId}`);
      }
      deps.progress(`created key ${key.KeyId} (${key.KeySpec}, origin ${key.Origin}, ${key.KeyState})`);
    }
    await o.journal.step('created key', { [o.keyIdFact]: key.KeyId, [o.keyArnFact]: key.Arn });
  }
  // Strict proof: only an EXTERNAL key holds imported material (docs/architecture.md, "Strict proof").
  if (key.Origin !== 'EXTERNAL') {
    throw new KmsByokError('ERR_KMS_BAD_RESPONSE', `KMS answered key ${key.KeyId} with origin ${key.Origin}, not EXTERNAL`, {
      hint: 'the endpoint is not behaving like KMS for an import ceremony; nothing was imported: check --endpoint-url',
    });
  }
  return key;
}

/** A key found from a journal must still be a key the ceremony can finish. */
function assertResumable(key: KeyInfo): void {
  if (key.KeyState === 'PendingDeletion') {
    throw new KmsByokError('ERR_KMS_INVALID_STATE', `key ${key.KeyId} of the interrupted ceremony is pending deletion`, {
      hint: 'cancel the deletion (aws kms cancel-key-deletion) to finish it, or remove its journal in <escrow-dir>/.journal/ to start afresh',
    });
  }
}
