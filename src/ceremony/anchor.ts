/**
 * Escrow anchors in KMS (docs/escrow-format.md, "Anchors"): the key's tag `kms-byok:material-<i>`
 * holds the fingerprint of escrow material `i`, written before that material's first import. Whoever
 * forges an escrow version by writing files must also change the key's tags (kms:TagResource, in
 * CloudTrail) for a ceremony to trust it.
 *
 * Contracts:
 * - {@link writeAnchors} writes the tags of materials about to be imported; it never overwrites an
 *   anchor with a different value (ERR_ESCROW_ANCHOR_MISMATCH). TagResource is idempotent: after a
 *   lost answer it is simply sent again.
 * - {@link assertAnchored} is called with an opened escrow: every material whose anchor the key
 *   holds must match it; a material KMS holds must be anchored unless the key has no anchors at all
 *   and the sidecar claims none (an escrow written before anchors existed: `legacy`).
 * - {@link anchorReport} compares a sidecar's claims with the tags, without opening anything (status).
 * Tags are per Region (ReplicateKey does not copy them): callers pass each Region's port.
 */
import { KmsByokError } from '../core/errors.js';
import { anchorFingerprint, anchorTagKey, type EscrowPayload, type EscrowSidecar } from '../escrow/index.js';
import { outcomeUnknown, type KeyInfo, type KmsPort } from '../kms/port.js';
import { confirmKeyMaterialId } from './confirm.js';
import { isSymmetric, wrappingOf, type Pairing } from './shared.js';
import { proveKeyMaterial } from './prove.js';
import { readAnchors } from './anchor-report.js';

export { readAnchors, anchorReport, type AnchorFinding } from './anchor-report.js';

/** The fingerprints of every material of an opened escrow, by index. */
export function fingerprintsOf(payload: EscrowPayload, keyId: string): Map<number, string> {
  return new Map(payload.materials.map((m) => [m.index, anchorFingerprint(m.material, keyId, m.index)]));
}

function mismatch(keyId: string, region: string, index: number, escrowFp: string, kmsFp: string, path: string): KmsByokError {
  return new KmsByokError(
    'ERR_ESCROW_ANCHOR_MISMATCH',
    `escrow ${path} material ${index} has fingerprint ${escrowFp}, but key ${keyId} in ${region} vouches for ${kmsFp} (tag ${anchorTagKey(index)})`,
    {
      hint: 'this escrow does not hold the material the custodians anchored: do not import it; use the escrow version that matches (kms-byok escrow inspect), and find who wrote this one',
    },
  );
}

/**
 * Writes the anchors of `fps` (index → fingerprint) on the key, skipping those already present with
 * the same value. Refuses to replace a different anchor.
 */
export async function writeAnchors(kms: KmsPort, keyId: string, fps: ReadonlyMap<number, string>, progress: (s: string) => void, path = 'the escrow'): Promise<void> {
  const present = await readAnchors(kms, keyId);
  const missing: { TagKey: string; TagValue: string }[] = [];
  for (const [index, fp] of fps) {
    const have = present.get(index);
    if (have === undefined) missing.push({ TagKey: anchorTagKey(index), TagValue: fp });
    else if (have !== fp) throw mismatch(keyId, kms.region, index, fp, have, path);
  }
  if (missing.length === 0) return;
  try {
    await kms.tagResource(keyId, missing);
  } catch (e) {
    if (!outcomeUnknown(e)) throw e;
    // TagResource sets the same value again: re-sending it after a lost answer is safe.
    await kms.tagResource(keyId, missing);
  }
  progress(`anchored ${missing.map((t) => `${t.TagKey}=${t.TagValue}`).join(', ')} on key ${keyId} in ${kms.region}`);
}

export type AnchorState = 'anchored' | 'legacy';

/**
 * Checks an opened escrow against the key's anchors in `kms`'s Region. `held` are the escrow
 * material indexes KMS holds (paired by KeyMaterialId, or the single material of other specs).
 */
export async function assertAnchored(
  kms: KmsPort,
  keyId: string,
  escrow: { payload: EscrowPayload; sidecar: EscrowSidecar; path: string },
  held: Iterable<number>,
  options: { migrate?: boolean } = {},
): Promise<AnchorState> {
  const anchors = await readAnchors(kms, keyId);
  const fps = fingerprintsOf(escrow.payload, keyId);
  for (const [index, fp] of fps) {
    const have = anchors.get(index);
    if (have !== undefined && have !== fp) throw mismatch(keyId, kms.region, index, fp, have, escrow.path);
  }
  const claims = escrow.sidecar.materials.some((m) => m.anchor !== undefined);
  // `migrate` (verify, which proves every material before anchoring): a key with no anchors at all is
  // legacy even when the sidecar claims fingerprints (e.g. a reseal of a pre-anchor escrow).
  if (anchors.size === 0 && (!claims || options.migrate)) return 'legacy';
  for (const index of held) {
    if (!anchors.has(index)) {
      throw new KmsByokError(
        'ERR_ESCROW_NOT_ANCHORED',
        `key ${keyId} in ${kms.region} holds escrow material ${index} (fingerprint ${fps.get(index) ?? 'unknown'} in ${escrow.path}) but has no anchor tag ${anchorTagKey(index)} vouching for it`,
        {
          hint:
            anchors.size === 0
              ? `the escrow claims anchors the key does not have: if this escrow is the custodians' own, prove it and write the anchors with kms-byok verify ${keyId} --identity FILE; otherwise find who wrote it`
              : 'someone removed the tag, or this escrow is not the one the custodians anchored: check CloudTrail UntagResource events for the key',
        },
      );
    }
  }
  return 'anchored';
}

/**
 * Migration of a key onboarded before anchors (`legacy`): each material KMS holds is first proven to
 * be the escrow's (symmetric: re-import as EXISTING_KEY_MATERIAL under its id, keeping KMS's expiry;
 * other specs: the key-kind proof), then every escrow material is anchored.
 */
export async function anchorLegacy(
  kms: KmsPort,
  key: KeyInfo,
  escrow: { payload: EscrowPayload; sidecar: EscrowSidecar; path: string },
  held: readonly Pairing[],
  progress: (s: string) => void,
): Promise<void> {
  const wrapping = wrappingOf(escrow.sidecar, key.KeySpec);
  for (const p of held) {
    const m = escrow.payload.materials[p.index - 1];
    if (m === undefined) continue;
    if (isSymmetric(key.KeySpec)) {
      if (p.kms.KeyMaterialId === undefined || p.kms.ImportState === 'PENDING_IMPORT') continue;
      await confirmKeyMaterialId(kms, { keyId: key.KeyId, keySpec: key.KeySpec, material: m.material, keyMaterialId: p.kms.KeyMaterialId, wrapping });
    } else if (key.KeyState === 'Enabled') {
      await proveKeyMaterial(kms, key.KeyId, key.KeySpec, key.KeyUsage, m.material);
    }
  }
  progress(`key ${key.KeyId} in ${kms.region} had no anchors: KMS proved it holds the escrow's materials; anchoring them`);
  await writeAnchors(kms, key.KeyId, fingerprintsOf(escrow.payload, key.KeyId), progress, escrow.path);
}
