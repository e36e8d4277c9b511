/**
 * Escrow anchors (docs/escrow-format.md, "Anchors"): a non-secret, one-way fingerprint of each
 * escrowed material, written as a tag on the KMS key before the material's first import, so a
 * ceremony can tell the custodians' escrow from one sealed later by someone who can only write files.
 *
 *   fp = base64url(HMAC-SHA256(key = material bytes, message = "kms-byok escrow anchor v1\0" + keyId + "\0" + index))
 *
 * Full 32-byte tag, base64url without padding (43 characters). Pure: imports `core` and `node:crypto`.
 */
import { createHmac } from 'node:crypto';
import type { SecretBytes } from '../core/secret.js';

/** Domain-separation prefix of the fingerprint message. */
export const ANCHOR_LABEL = 'kms-byok escrow anchor v1';

/** Tag key prefix: `kms-byok:material-<index>` holds the fingerprint of escrow material `<index>`. */
export const ANCHOR_TAG_PREFIX = 'kms-byok:material-';

/** A fingerprint as the tag and the sidecar hold it: 43 base64url characters. */
export const ANCHOR_RE = /^[A-Za-z0-9_-]{43}$/;

/** The fingerprint of escrow material `index` (1-based) of key `keyId` (the key id, not an ARN or alias). */
export function anchorFingerprint(material: SecretBytes, keyId: string, index: number): string {
  if (!Number.isInteger(index) || index < 1) throw new RangeError(`material index must be a positive integer, got ${index}`);
  const message = Buffer.from(`${ANCHOR_LABEL}\0${keyId}\0${index}`, 'utf8');
  return material.use((bytes) => createHmac('sha256', bytes).update(message).digest('base64url'));
}

/** The tag key of escrow material `index`. */
export function anchorTagKey(index: number): string {
  return `${ANCHOR_TAG_PREFIX}${index}`;
}

/**
 * The description kms-byok gives a new symmetric material in KMS (`KeyMaterialDescription`, at most
 * 256 characters): `kms-byok:<fp>`, then the operator's own description when one was given.
 */
export function anchorDescription(fp: string, description?: string): string {
  const head = `kms-byok:${fp}`;
  return description ? `${head} ${description}`.slice(0, 256) : head;
}

/**
 * The anchors among a key's tags: index → fingerprint. Tags that look like anchors but are malformed
 * are returned in `malformed` (a ceremony treats them as a mismatch, never as absent).
 */
export function anchorsFromTags(tags: readonly { TagKey: string; TagValue: string }[]): { anchors: Map<number, string>; malformed: string[] } {
  const anchors = new Map<number, string>();
  const malformed: string[] = [];
  for (const t of tags) {
    if (!t.TagKey.startsWith(ANCHOR_TAG_PREFIX)) continue;
    const rest = t.TagKey.slice(ANCHOR_TAG_PREFIX.length);
    const index = /^[1-9][0-9]{0,3}$/.test(rest) ? Number(rest) : undefined;
    if (index === undefined || !ANCHOR_RE.test(t.TagValue)) malformed.push(t.TagKey);
    else anchors.set(index, t.TagValue);
  }
  return { anchors, malformed };
}
