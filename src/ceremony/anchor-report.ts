/**
 * What status reads of the escrow anchors (docs/escrow-format.md, "Anchors"): the key's anchor tags
 * and how they compare with a sidecar's claims, without opening anything. Apart from ceremony/anchor.ts
 * (which re-exports both) so a status run loads no ceremony code; it imports the anchors' tag format
 * straight from escrow/anchor.ts for the same reason (the escrow barrel also carries the vault).
 */
import { KmsByokError } from '../core/errors.js';
import type { EscrowSidecar } from '../escrow/index.js';
import { anchorsFromTags } from '../escrow/anchor.js';
import type { KmsPort } from '../kms/port.js';

/** The anchors a key holds in one Region. */
export async function readAnchors(kms: KmsPort, keyId: string): Promise<Map<number, string>> {
  const { anchors, malformed } = anchorsFromTags(await kms.listResourceTags(keyId));
  if (malformed.length > 0) {
    throw new KmsByokError('ERR_ESCROW_ANCHOR_MISMATCH', `key ${keyId} in ${kms.region} has a malformed anchor tag ${malformed[0]}`, {
      hint: 'anchors are written by kms-byok only: find who changed the tag (CloudTrail TagResource events for the key)',
    });
  }
  return anchors;
}

/** What status says about one material's anchor, from the sidecar alone. */
export interface AnchorFinding {
  index: number;
  /** What the sidecar claims (version 2 sidecars). */
  claimed?: string;
  /** What the key's tag holds. */
  tag?: string;
  state: 'ok' | 'mismatch' | 'not-anchored' | 'pending';
}

/**
 * Compares a sidecar's claimed fingerprints with the key's anchors (status: nothing is opened).
 * `held` are the indexes KMS holds; a claimed material KMS does not hold and the key does not
 * anchor yet is `pending` (sealed, not imported).
 */
export function anchorReport(sidecar: EscrowSidecar, anchors: ReadonlyMap<number, string>, held: ReadonlySet<number>): AnchorFinding[] {
  return sidecar.materials.map((m): AnchorFinding => {
    const tag = anchors.get(m.index);
    const out: AnchorFinding = { index: m.index, state: 'ok' };
    if (m.anchor !== undefined) out.claimed = m.anchor;
    if (tag !== undefined) out.tag = tag;
    if (tag !== undefined && m.anchor !== undefined) out.state = tag === m.anchor ? 'ok' : 'mismatch';
    else if (tag !== undefined) out.state = 'ok';
    else out.state = held.has(m.index) ? 'not-anchored' : 'pending';
    return out;
  });
}
