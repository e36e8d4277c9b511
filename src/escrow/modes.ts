/**
 * Split knowledge for the escrow. Pure.
 *
 * - m-of-n: the payload is sealed to a fresh age identity; the identity's *text*
 *   (`AGE-SECRET-KEY-1…`, or `AGE-SECRET-KEY-PQ-1…` when a custodian is post-quantum) is split with
 *   Shamir's scheme over GF(2^8) (`shamir-secret-sharing`, the AES polynomial x^8+x^4+x^3+x+1), one
 *   share per custodian. Any `threshold` shares rebuild the identity text, which the stock
 *   `age -d -i` accepts as it is: see docs/disaster-recovery.md for the by-hand combine.
 * - XOR: each material is cut into N full-length components whose XOR is the material; every
 *   component is needed, and each has its own check value.
 *
 * Every intermediate secret this module creates is zeroed; the Shamir library's own temporaries
 * (polynomial coefficients) are outside our reach.
 */
import { randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { KmsByokError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import type { ShareDocument } from './format.js';
import { abbreviateRecipient, recipientOfIdentity } from './seal.js';

/** Largest number of custodians a split supports (the Shamir field has 255 non-zero points). */
export const MAX_CUSTODIANS = 255;

/**
 * Splits `secret` into `shares` Shamir shares, any `threshold` of which rebuild it. Each share is the
 * secret's length plus one byte (its x coordinate, last).
 */
export async function splitSecret(secret: SecretBytes, shares: number, threshold: number): Promise<SecretBytes[]> {
  // Precondition: 2 <= threshold <= shares <= 255 (one custodian would not be split knowledge).
  if (!Number.isSafeInteger(threshold) || threshold < 2) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `threshold must be at least 2, got ${threshold}`, {
      hint: 'omit the threshold to let any one custodian open the escrow',
    });
  }
  if (!Number.isSafeInteger(shares) || shares < threshold || shares > MAX_CUSTODIANS) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `a ${threshold}-of-n split needs ${threshold} to ${MAX_CUSTODIANS} custodians, got ${shares}`);
  }
  if (secret.length === 0) throw new KmsByokError('ERR_INTERNAL', 'cannot split an empty secret');
  const copy = secret.use((b) => Uint8Array.from(b));
  try {
    const parts = await split(copy, shares, threshold);
    return parts.map((p) => SecretBytes.adopt(p));
  } finally {
    copy.fill(0);
  }
}

/**
 * Rebuilds a secret from Shamir shares. Refuses fewer than two shares, shares of different lengths
 * and two shares with the same x coordinate (ERR_ESCROW_DUPLICATE_SHARE). The result is NOT
 * verified here (the library cannot tell a wrong result): callers check it.
 */
export async function combineShares(shares: SecretBytes[]): Promise<SecretBytes> {
  if (shares.length < 2) {
    throw new KmsByokError('ERR_ESCROW_TOO_FEW_SHARES', `at least 2 shares are needed, ${shares.length} given`);
  }
  const length = shares[0]!.length;
  const xs = new Set<number>();
  for (const s of shares) {
    if (s.length !== length || length < 2) throw new KmsByokError('ERR_ESCROW_TAMPERED', 'shares have different lengths');
    const x = s.use((b) => b[b.length - 1]!);
    if (xs.has(x)) throw new KmsByokError('ERR_ESCROW_DUPLICATE_SHARE', 'the same share was given twice');
    xs.add(x);
  }
  const copies = shares.map((s) => s.use((b) => Uint8Array.from(b)));
  try {
    return SecretBytes.adopt(await combine(copies));
  } finally {
    for (const c of copies) c.fill(0);
  }
}

/** Cuts `material` into `n` full-length random components whose XOR is the material. */
export function xorSplit(material: SecretBytes, n: number): SecretBytes[] {
  if (!Number.isSafeInteger(n) || n < 2 || n > MAX_CUSTODIANS) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `an XOR split needs 2 to ${MAX_CUSTODIANS} custodians, got ${n}`);
  }
  const length = material.length;
  const components: SecretBytes[] = [];
  const last = material.use((b) => Uint8Array.from(b));
  for (let i = 0; i < n - 1; i++) {
    const buf = randomBytes(length);
    const c = new Uint8Array(length);
    c.set(buf);
    buf.fill(0);
    for (let j = 0; j < length; j++) last[j] = last[j]! ^ c[j]!;
    components.push(SecretBytes.adopt(c));
  }
  components.push(SecretBytes.adopt(last));
  return components;
}

/** XORs full-length components back into the material. */
export function xorCombine(components: SecretBytes[]): SecretBytes {
  if (components.length < 2) throw new KmsByokError('ERR_ESCROW_TOO_FEW_SHARES', 'an XOR split has at least 2 components');
  const length = components[0]!.length;
  const out = new Uint8Array(length);
  for (const c of components) {
    if (c.length !== length) {
      out.fill(0);
      throw new KmsByokError('ERR_ESCROW_TAMPERED', 'components have different lengths');
    }
    c.use((b) => {
      for (let j = 0; j < length; j++) out[j] = out[j]! ^ b[j]!;
    });
  }
  return SecretBytes.adopt(out);
}

/** Common fields of every share document of one escrow version. */
export interface ShareContext {
  escrowId: string;
  keyId: string;
  keyArn: string;
  escrowVersion: number;
  payloadFile: string;
  payloadRecipient: string;
  threshold: number;
}

/**
 * Splits the payload identity (its text, as SecretBytes) into one share document per holder, in
 * holder order (`shareIndex` 1…n).
 */
export async function makeShareDocuments(
  identity: SecretBytes,
  holders: { recipient: string; label?: string }[],
  context: ShareContext,
): Promise<ShareDocument[]> {
  const parts = await splitSecret(identity, holders.length, context.threshold);
  return parts.map((share, i) => ({
    ...context,
    shares: holders.length,
    shareIndex: i + 1,
    holder: holders[i]!,
    share,
  }));
}

function describeShare(d: ShareDocument): string {
  return `share ${d.shareIndex}${d.holder.label === undefined ? '' : ` (${d.holder.label})`}`;
}

/**
 * Rebuilds and verifies the payload identity from share documents. In order, it refuses:
 * a share of another escrow or escrow version (ERR_ESCROW_FOREIGN_SHARE), a share whose fields
 * disagree with this escrow (ERR_ESCROW_MISMATCH), the same share twice (ERR_ESCROW_DUPLICATE_SHARE),
 * fewer than `threshold` shares, saying how many more are needed (ERR_ESCROW_TOO_FEW_SHARES), and
 * shares that do not rebuild the identity whose recipient the manifest records (ERR_ESCROW_TAMPERED).
 * With more shares than needed, a bad one is tolerated when some `threshold` of them verify.
 * Returns the identity text as SecretBytes.
 */
export async function recoverPayloadIdentity(
  docs: ShareDocument[],
  expected: ShareContext & { shares: number },
): Promise<SecretBytes> {
  for (const d of docs) {
    if (d.escrowId !== expected.escrowId) {
      throw new KmsByokError(
        'ERR_ESCROW_FOREIGN_SHARE',
        `${describeShare(d)} belongs to another escrow (${d.keyId} v${d.escrowVersion}, escrow id ${d.escrowId.slice(0, 8)}…), not ${expected.keyId} v${expected.escrowVersion}`,
        { hint: `each custodian must bring their share file of ${expected.payloadFile.replace(/\.age$/, '')}` },
      );
    }
    const mismatch =
      d.keyId !== expected.keyId
        ? 'keyId'
        : d.keyArn !== expected.keyArn
          ? 'keyArn'
          : d.escrowVersion !== expected.escrowVersion
            ? 'escrowVersion'
            : d.payloadFile !== expected.payloadFile
              ? 'payloadFile'
              : d.payloadRecipient !== expected.payloadRecipient
                ? 'payloadRecipient'
                : d.threshold !== expected.threshold
                  ? 'threshold'
                  : d.shares !== expected.shares
                    ? 'shares'
                    : undefined;
    if (mismatch !== undefined) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `${describeShare(d)} disagrees with the escrow manifest on ${mismatch}`, {
        hint: 'the share or the sidecar was altered: do not use it',
      });
    }
  }
  const seen = new Map<number, ShareDocument>();
  const xs = new Set<number>();
  for (const d of docs) {
    const x = d.share.use((b) => b[b.length - 1]!);
    if (seen.has(d.shareIndex) || xs.has(x)) {
      throw new KmsByokError('ERR_ESCROW_DUPLICATE_SHARE', `${describeShare(d)} was given twice`, {
        hint: `bring ${expected.threshold} different custodians' shares`,
      });
    }
    seen.set(d.shareIndex, d);
    xs.add(x);
  }
  if (docs.length < expected.threshold) {
    const missing = expected.threshold - docs.length;
    throw new KmsByokError(
      'ERR_ESCROW_TOO_FEW_SHARES',
      `${expected.threshold} of ${expected.shares} shares are needed, ${docs.length} given: ${missing} more needed`,
      { hint: handoverHint(missing, 'share', expected.payloadFile) },
    );
  }
  const verify = async (set: ShareDocument[]): Promise<SecretBytes | undefined> => {
    const identity = await combineShares(set.map((d) => d.share));
    const ok = await identity.use(async (b) => {
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(b);
      } catch {
        return false;
      }
      if (!/^AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]+$/.test(text)) return false;
      try {
        return (await recipientOfIdentity(text)) === expected.payloadRecipient;
      } catch {
        return false;
      }
    });
    if (ok) return identity;
    identity.dispose();
    return undefined;
  };
  const all = await verify(docs);
  if (all !== undefined) return all;
  if (docs.length > expected.threshold) {
    let tried = 0;
    for (const subset of subsets(docs, expected.threshold)) {
      if (++tried > 1000) break;
      const found = await verify(subset);
      if (found !== undefined) return found;
    }
  }
  throw new KmsByokError(
    'ERR_ESCROW_TAMPERED',
    `the shares do not rebuild this escrow's identity (${abbreviateRecipient(expected.payloadRecipient)})`,
    { hint: 'a share is damaged or forged: try another set of custodians' },
  );
}

/**
 * The hint when more custodians are needed: the commands of a hand-over (docs/custody.md). `escrowFile`
 * is the escrow's file name, as custodians know it.
 */
export function handoverHint(missing: number, part: 'share' | 'component', escrowFile: string): string {
  return (
    `ask ${missing} more custodian${missing === 1 ? '' : 's'} to hand over their ${part}: here, kms-byok escrow handover-recipient --escrow-dir DIR ` +
    `prints a one-time age1… recipient; each custodian runs, on their own machine, kms-byok escrow hand-over ${escrowFile} --identity THEIR-IDENTITY --to age1… --out ${part}.handover; ` +
    `then pass every file with --share FILE (or give their --identity files here)`
  );
}

/** Every k-subset of `items`, in lexicographic order of positions. */
export function* subsets<T>(items: T[], k: number): Generator<T[]> {
  if (k === 0) yield [];
  if (k > items.length || k <= 0) return;
  const idx = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield idx.map((i) => items[i]!);
    let i = k - 1;
    while (i >= 0 && idx[i] === items.length - k + i) i--;
    if (i < 0) return;
    idx[i]!++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1;
  }
}
