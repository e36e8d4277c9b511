/**
 * Share hand-over (docs/custody.md, "Hand-over"): a custodian of a split escrow opens only their own
 * share (m-of-n) or component (XOR) with their own identity, on their own machine, and re-seals it to
 * a one-time recipient the ceremony's host made for this escrow directory. The host combines the
 * handed-over files with the one-time identity; no long-term private identity leaves its owner.
 *
 * A hand-over file is JSON: a non-secret claim (to whom, which key, escrow id and version, role,
 * index, holder, check values) and the claim again with the share document inside, sealed as age to
 * the one-time recipient. The host refuses a file whose claim does not name this escrow, whose inner
 * claim differs from the outer one, whose check values do not match the share inside (or, for
 * components, the sidecar), or which was sealed to a one-time recipient that is no longer open
 * (consumed by an earlier ceremony, expired, or made elsewhere) — so a share of another escrow or a
 * replayed one is refused by name. Pure (no fs, no process).
 */
import { KmsByokError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import {
  componentCheckValue,
  decodeStrictBase64,
  isIsoUtc,
  parseComponent,
  parseShare,
  sha256Hex,
  type EscrowSidecar,
  type SidecarFile,
} from './format.js';
import { abbreviateRecipient, parseRecipient, recipientOfIdentity, sealArmored, unsealArmored } from './seal.js';
import type { LoadedEscrow } from './vault.js';

/** `format` of a hand-over file (outer, non-secret JSON). */
export const HANDOVER_FORMAT = 'kms-byok-share-handover';
/** `format` of the sealed inner document of a hand-over file. */
export const HANDOVER_SECRET_FORMAT = 'kms-byok-share-handover-secret';

/** What a hand-over file claims, outside and (identically) inside its seal. */
export interface HandoverClaim {
  /** The one-time recipient it is sealed to. */
  to: string;
  keyId: string;
  keyArn: string;
  escrowId: string;
  escrowVersion: number;
  role: 'share' | 'component';
  /** The share's (or component's) 1-based number. */
  index: number;
  holder: { recipient: string; label?: string };
  /**
   * Share: one value, `sha256-kcv:` + first 3 bytes of SHA-256 over the Shamir share. Component: one
   * per material, the component check values the sidecar records.
   */
  checkValues: string[];
  /** ISO-8601 UTC. */
  created: string;
}

/** A written hand-over: the file's bytes and what it says. */
export interface Handover {
  claim: HandoverClaim;
  bytes: Uint8Array;
}

function claimJson(c: HandoverClaim): Record<string, unknown> {
  return {
    to: c.to,
    keyId: c.keyId,
    keyArn: c.keyArn,
    escrowId: c.escrowId,
    escrowVersion: c.escrowVersion,
    role: c.role,
    index: c.index,
    holder: c.holder.label === undefined ? { recipient: c.holder.recipient } : { recipient: c.holder.recipient, label: c.holder.label },
    checkValues: c.checkValues,
    created: c.created,
  };
}

function sameClaim(a: HandoverClaim, b: HandoverClaim): boolean {
  return JSON.stringify(claimJson(a)) === JSON.stringify(claimJson(b));
}

function describe(c: Pick<HandoverClaim, 'role' | 'index' | 'holder'>): string {
  return `${c.role} ${c.index}${c.holder.label === undefined ? '' : ` (${c.holder.label})`}`;
}

/** The custodian's files of an escrow version that these recipients hold (shares or components). */
export function heldFiles(sidecar: EscrowSidecar, mine: ReadonlySet<string>): SidecarFile[] {
  return sidecar.files.filter((f) => (f.role === 'share' || f.role === 'component') && f.holder !== undefined && mine.has(f.holder.recipient));
}

/**
 * Custodian side: finds the share or component sealed to one of `identities`, opens it (after checking
 * its SHA-256 against the sidecar), and re-seals it to the one-time recipient `to`. Refuses a
 * recipients/passphrase escrow (any one custodian opens it whole: there is nothing to hand over
 * without handing over the key) and an identity that holds no part of this escrow.
 */
export async function handOver(loaded: LoadedEscrow, identities: string[], toText: string, created: string): Promise<Handover> {
  const to = parseRecipient(toText, '--to').recipient;
  const sidecar = loaded.sidecar;
  const m = sidecar.manifest;
  if (m.custodians.threshold === undefined && m.custodians.split === undefined) {
    throw new KmsByokError('ERR_INVALID_COMBINATION', `this escrow is not split (any one custodian opens it whole): there is no share to hand over`, {
      hint: 'hand-over is for m-of-n (--threshold) and XOR (--split xor) escrows; a custodian of this one runs the ceremony with their own --identity',
    });
  }
  const mine = new Set<string>();
  for (const id of identities) mine.add(await recipientOfIdentity(id));
  const held = heldFiles(sidecar, mine);
  const entry = held[0];
  if (entry === undefined) {
    throw new KmsByokError('ERR_IDENTITY', `this identity holds no share or component of ${m.keyId} v${m.escrowVersion}`, {
      hint: 'use your own identity file; kms-byok escrow inspect lists who holds which file',
    });
  }
  const file = loaded.files.find((f) => f.name === entry.name);
  if (file === undefined) {
    throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `${entry.name} (your ${entry.role}) is not beside the sidecar`, { hint: 'copy your share file next to the escrow\'s sidecar (.age.json) and run it again' });
  }
  if (sha256Hex(file.bytes) !== entry.sha256) {
    throw new KmsByokError('ERR_ESCROW_TAMPERED', `${entry.name} does not match the SHA-256 its sidecar records`, { hint: 'the file was altered or damaged: use your other copy' });
  }
  const plain = await unsealArmored(file.bytes, { identities }, entry.name);
  try {
    const checkValues = plain.use((b) => {
      if (entry.role === 'share') {
        const d = parseShare(b);
        try {
          if (d.escrowId !== m.escrowId || d.shareIndex !== entry.index) throw new KmsByokError('ERR_ESCROW_MISMATCH', `${entry.name} is not share ${entry.index} of this escrow`);
          const value = componentCheckValue(d.share);
          if (entry.checkValue !== undefined && entry.checkValue !== value) throw shareCheckMismatch(entry.name, describe({ role: 'share', index: entry.index, holder: entry.holder! }), value, entry.checkValue);
          return [value];
        } finally {
          d.share.dispose();
        }
      }
      const d = parseComponent(b);
      try {
        if (d.escrowId !== m.escrowId || d.componentIndex !== entry.index) throw new KmsByokError('ERR_ESCROW_MISMATCH', `${entry.name} is not component ${entry.index} of this escrow`);
        return d.materials.map((x) => componentCheckValue(x.component));
      } finally {
        for (const x of d.materials) x.component.dispose();
      }
    });
    const claim: HandoverClaim = {
      to,
      keyId: m.keyId,
      keyArn: m.keyArn,
      escrowId: m.escrowId,
      escrowVersion: m.escrowVersion,
      role: entry.role as 'share' | 'component',
      index: entry.index!,
      holder: entry.holder!,
      checkValues,
      created,
    };
    const inner = plain.use((b) =>
      new TextEncoder().encode(`${JSON.stringify({ format: HANDOVER_SECRET_FORMAT, version: 1, ...claimJson(claim), document: Buffer.from(b).toString('base64') })}\n`),
    );
    let sealed: Uint8Array;
    try {
      sealed = await sealArmored(inner, { recipients: [to] });
    } finally {
      inner.fill(0);
    }
    const outer = { format: HANDOVER_FORMAT, version: 1, ...claimJson(claim), sealed: new TextDecoder().decode(sealed) };
    return { claim, bytes: new TextEncoder().encode(`${JSON.stringify(outer, null, 2)}\n`) };
  } finally {
    plain.dispose();
  }
}

/** A share whose check value differs from the one its sidecar recorded when it was sealed. */
function shareCheckMismatch(name: string, what: string, actual: string, recorded: string): KmsByokError {
  return new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `${name}: ${what} has check value ${actual}, but the escrow's sidecar recorded ${recorded} when it was sealed`, {
    hint: 'the share and this escrow\'s sidecar disagree (either may have been altered or damaged): it is not combined; compare the sidecar with another custodian\'s copy, and ask that custodian to hand over their share again, or use another custodian',
  });
}

function bad(name: string, why: string): never {
  throw new KmsByokError('ERR_HANDOVER_INVALID', `${name} is not a valid hand-over file: ${why}`, {
    hint: 'ask the custodian to run kms-byok escrow hand-over again and send the file it writes, unchanged',
  });
}

function readClaim(o: Record<string, unknown>, name: string): HandoverClaim {
  const str = (k: string, re?: RegExp): string => {
    const v = o[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > 4100 || (re !== undefined && !re.test(v))) bad(name, `${k} is missing or invalid`);
    return v;
  };
  const int = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > 999_999_999) bad(name, `${k} must be a positive integer`);
    return v;
  };
  const holder = o.holder as { recipient?: unknown; label?: unknown } | undefined;
  if (typeof holder !== 'object' || holder === null || typeof holder.recipient !== 'string' || (holder.label !== undefined && typeof holder.label !== 'string')) bad(name, 'holder is invalid');
  const checkValues = o.checkValues;
  if (!Array.isArray(checkValues) || checkValues.length === 0 || checkValues.some((c) => typeof c !== 'string' || !/^[a-z0-9-]{1,32}:[0-9A-F]{2,128}$/.test(c))) bad(name, 'checkValues is invalid');
  const role = o.role;
  if (role !== 'share' && role !== 'component') bad(name, 'role must be share or component');
  const created = str('created');
  if (!isIsoUtc(created)) bad(name, 'created is not an ISO-8601 UTC time');
  return {
    to: str('to', /^age1[0-9a-z]{10,4000}$/),
    keyId: str('keyId'),
    keyArn: str('keyArn'),
    escrowId: str('escrowId', /^[0-9a-f]{32}$/),
    escrowVersion: int('escrowVersion'),
    role,
    index: int('index'),
    holder: holder.label === undefined ? { recipient: holder.recipient } : { recipient: holder.recipient, label: holder.label as string },
    checkValues: checkValues as string[],
    created,
  };
}

function parseJson(bytes: Uint8Array, name: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    bad(name, 'it is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(name, 'it is not a JSON object');
  return v as Record<string, unknown>;
}

/** Reads a hand-over file's non-secret claim (what the custodian said they sent). */
export function readHandoverClaim(bytes: Uint8Array, name: string): HandoverClaim {
  const o = parseJson(bytes, name);
  if (o.format !== HANDOVER_FORMAT) bad(name, `format is not ${HANDOVER_FORMAT}`);
  if (o.version !== 1) throw new KmsByokError('ERR_ESCROW_VERSION', `${name}: hand-over version ${String(o.version)} is not supported: this build reads version 1`);
  return readClaim(o, name);
}

/** A one-time identity the host holds: its recipient and identity text. */
export interface OneTimeIdentity {
  recipient: string;
  identity: string;
}

/** What the host learned from the hand-over files: the opener for the vault and the one-time recipients used. */
export interface OpenedHandovers {
  opener: { shares: SecretBytes[] } | { components: SecretBytes[] };
  claims: HandoverClaim[];
  /** The one-time recipients whose identities opened them (to be consumed when the ceremony succeeds). */
  used: string[];
}

/**
 * Host side: verifies and opens hand-over files for the escrow version `sidecar` describes, with the
 * escrow directory's open one-time identities. In order, it refuses: a file that is not a hand-over
 * (ERR_HANDOVER_INVALID); one for another key, escrow version or sealing (ERR_ESCROW_FOREIGN_SHARE);
 * one sealed to a one-time recipient that is not open here — consumed, expired or made elsewhere
 * (ERR_HANDOVER_STALE, naming `expired` ones as such); an inner claim that differs from the outer one,
 * a holder or check value that differs from the sidecar or from the share inside (ERR_ESCROW_MISMATCH).
 */
export async function openHandovers(
  files: { name: string; bytes: Uint8Array }[],
  oneTime: OneTimeIdentity[],
  sidecar: EscrowSidecar,
  context: { escrowDir: string; expired?: string[] },
): Promise<OpenedHandovers> {
  const m = sidecar.manifest;
  const split = m.custodians.threshold !== undefined ? 'share' : m.custodians.split === 'xor' ? 'component' : undefined;
  const docs: SecretBytes[] = [];
  const claims: HandoverClaim[] = [];
  const used = new Set<string>();
  try {
    for (const f of files) {
      const claim = readHandoverClaim(f.bytes, f.name);
      if (claim.keyId !== m.keyId || claim.escrowId !== m.escrowId || claim.escrowVersion !== m.escrowVersion) {
        throw new KmsByokError(
          'ERR_ESCROW_FOREIGN_SHARE',
          `${f.name} hands over ${describe(claim)} of ${claim.keyId} v${claim.escrowVersion} (escrow id ${claim.escrowId.slice(0, 8)}…), not of ${m.keyId} v${m.escrowVersion} (escrow id ${m.escrowId.slice(0, 8)}…)`,
          { hint: `ask ${claim.holder.label ?? 'the custodian'} to hand over their ${claim.role} of ${m.keyId}.v${m.escrowVersion}` },
        );
      }
      if (split === undefined || claim.role !== split) {
        throw new KmsByokError('ERR_INVALID_COMBINATION', `${f.name} hands over a ${claim.role}, but ${m.keyId} v${m.escrowVersion} is ${split === undefined ? 'not split' : `split into ${split}s`}`, {
          hint: split === undefined ? 'open this escrow with a custodian\'s --identity or --passphrase-file' : `each custodian hands over their ${split}`,
        });
      }
      const key = oneTime.find((o) => o.recipient === claim.to);
      if (key === undefined) {
        const expired = context.expired?.includes(claim.to) === true;
        throw new KmsByokError(
          'ERR_HANDOVER_STALE',
          expired
            ? `${f.name} was handed over to the one-time recipient ${abbreviateRecipient(claim.to)}, which expired (24 hours) and was removed`
            : `${f.name} was handed over to ${abbreviateRecipient(claim.to)}, which is not an open one-time recipient of ${context.escrowDir} (already used by a ceremony, expired, or made for another escrow directory)`,
          {
            hint: `run kms-byok escrow handover-recipient --escrow-dir ${context.escrowDir} and ask ${claim.holder.label ?? 'the custodian'} to run kms-byok escrow hand-over again with --to the recipient it prints`,
          },
        );
      }
      const entry = sidecar.files.find((x) => x.role === claim.role && x.index === claim.index);
      if (entry === undefined || entry.holder?.recipient !== claim.holder.recipient || entry.holder.label !== claim.holder.label) {
        throw new KmsByokError('ERR_ESCROW_MISMATCH', `${f.name}: ${describe(claim)} is not held by that custodian in this escrow's sidecar`, { hint: 'the hand-over file or the sidecar was altered: do not use it' });
      }
      let sealed: Uint8Array;
      const s = (parseJson(f.bytes, f.name).sealed ?? '') as unknown;
      if (typeof s !== 'string' || s.length === 0) bad(f.name, 'sealed is missing');
      sealed = new TextEncoder().encode(s);
      const inner = await unsealArmored(sealed, { identities: [key.identity] }, f.name);
      let document: SecretBytes;
      try {
        const parsed = inner.use((b) => {
          const o = parseJson(b, f.name);
          if (o.format !== HANDOVER_SECRET_FORMAT || o.version !== 1) bad(f.name, 'the sealed document is not a hand-over');
          const innerClaim = readClaim(o, f.name);
          if (!sameClaim(innerClaim, claim)) {
            throw new KmsByokError('ERR_ESCROW_MISMATCH', `${f.name}: what is sealed inside differs from what the file says outside`, { hint: 'the hand-over file was altered: ask the custodian to hand over again' });
          }
          const raw = typeof o.document === 'string' ? decodeStrictBase64(o.document) : undefined;
          if (raw === undefined || raw.length === 0) bad(f.name, 'the sealed share document is missing');
          return SecretBytes.adopt(raw);
        });
        document = parsed;
      } finally {
        inner.dispose();
      }
      try {
        const actual = document.use((b) => {
          if (claim.role === 'share') {
            const d = parseShare(b);
            try {
              if (d.escrowId !== m.escrowId || d.keyId !== m.keyId || d.escrowVersion !== m.escrowVersion || d.shareIndex !== claim.index || d.holder.recipient !== claim.holder.recipient) {
                throw new KmsByokError('ERR_ESCROW_MISMATCH', `${f.name}: the share inside is not ${describe(claim)} of this escrow`, { hint: 'the hand-over file was altered: do not use it' });
              }
              return [componentCheckValue(d.share)];
            } finally {
              d.share.dispose();
            }
          }
          const d = parseComponent(b);
          try {
            if (d.escrowId !== m.escrowId || d.componentIndex !== claim.index || d.holder.recipient !== claim.holder.recipient) {
              throw new KmsByokError('ERR_ESCROW_MISMATCH', `${f.name}: the component inside is not ${describe(claim)} of this escrow`, { hint: 'the hand-over file was altered: do not use it' });
            }
            return d.materials.map((x) => componentCheckValue(x.component));
          } finally {
            for (const x of d.materials) x.component.dispose();
          }
        });
        // A share is checked against the value its sidecar recorded at seal time (docs/escrow-format.md,
        // "Share check values"); a sidecar written before those values vouches only for the claim.
        if (claim.role === 'share' && entry.checkValue !== undefined && actual[0] !== entry.checkValue) {
          throw shareCheckMismatch(f.name, describe(claim), actual[0]!, entry.checkValue);
        }
        const recorded = claim.role === 'component' ? sidecar.materials.map((x) => x.components?.[claim.index - 1]?.checkValue ?? '') : claim.checkValues;
        if (JSON.stringify(actual) !== JSON.stringify(claim.checkValues) || JSON.stringify(actual) !== JSON.stringify(recorded)) {
          throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `${f.name}: ${describe(claim)} has check value ${actual.join(', ')}, the file says ${claim.checkValues.join(', ')}`, {
            hint: 'the share is damaged or the file was altered: ask the custodian to hand over again',
          });
        }
      } catch (e) {
        document.dispose();
        throw e;
      }
      docs.push(document);
      claims.push(claim);
      used.add(claim.to);
    }
  } catch (e) {
    for (const d of docs) d.dispose();
    throw e;
  }
  return { opener: split === 'share' ? { shares: docs } : { components: docs }, claims, used: [...used] };
}

/**
 * What a custodian's opened share or component document is, for an acknowledgement: its role, number
 * and check value(s) — `sha256-kcv` of the Shamir share, or each material's component check value.
 * Refuses a document of another escrow version (ERR_ESCROW_MISMATCH).
 */
export function custodianPart(plain: SecretBytes, sidecar: EscrowSidecar): { role: 'share' | 'component'; index: number; checkValues: string[] } {
  const m = sidecar.manifest;
  return plain.use((b) => {
    if (m.custodians.threshold !== undefined) {
      const d = parseShare(b);
      try {
        if (d.escrowId !== m.escrowId) throw new KmsByokError('ERR_ESCROW_MISMATCH', 'the share is not of this escrow version');
        return { role: 'share' as const, index: d.shareIndex, checkValues: [componentCheckValue(d.share)] };
      } finally {
        d.share.dispose();
      }
    }
    const d = parseComponent(b);
    try {
      if (d.escrowId !== m.escrowId) throw new KmsByokError('ERR_ESCROW_MISMATCH', 'the component is not of this escrow version');
      const values = d.materials.map((x) => componentCheckValue(x.component));
      const recorded = sidecar.materials.map((x) => x.components?.[d.componentIndex - 1]?.checkValue);
      if (JSON.stringify(values) !== JSON.stringify(recorded)) {
        throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `component ${d.componentIndex} has check value ${values.join(', ')}, the sidecar records ${recorded.join(', ')}`, { hint: 'the component is damaged: do not rely on it' });
      }
      return { role: 'component' as const, index: d.componentIndex, checkValues: values };
    } finally {
      for (const x of d.materials) x.component.dispose();
    }
  });
}
