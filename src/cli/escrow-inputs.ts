/**
 * CLI edge of the escrow: reads custodian inputs (recipients, recipients files, passphrase file or
 * stdin, identity files) and wires the ceremony's escrow vault to `escrow/file-store`.
 */
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { KmsByokError, asLocalInputError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import { assertSealingValid, parseRecipient, readHandoverClaim, abbreviateRecipient, type EscrowOpener, type EscrowSealing } from '../escrow/index.js';
import { consumeHandoverIdentities, loadHandoverIdentities } from '../records/handover-identity.js';
import { nodeEscrowFs, openFileVault, readIdentityFile, readPassphraseFile, type EscrowFs } from '../escrow/file-store.js';
import type { OnboardDeps } from '../ceremony/onboard.js';
import { bool, missing, str, strs, type Parsed } from './args.js';
import { isLoopbackUrl } from '../core/endpoints.js';
import { say, type Io } from './io.js';

/** Reads all of a stream as bytes (for `-`: secrets piped on stdin). */
async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  const joined = Buffer.concat(chunks);
  const all = new Uint8Array(joined);
  joined.fill(0);
  for (const c of chunks) c.fill(0);
  return all;
}

/**
 * The file store's fs as the invocation sees it: the path `-` means stdin, and relative paths are
 * relative to the invocation's working directory (`io.cwd`), not the process's.
 */
function fsWithStdin(io: Io): EscrowFs {
  return {
    ...nodeEscrowFs,
    readFile: (p) => (p === '-' ? readAll(io.stdin) : nodeEscrowFs.readFile(resolve(io.cwd, p))),
    stat: (p) => nodeEscrowFs.stat(resolve(io.cwd, p)),
  };
}

/**
 * How secret input files with group/other access are treated: refused (ERR_INSECURE_FILE, exit 2)
 * unless the wizard runs the command (`io.warnInsecureInputs`): then warned about, with the chmod.
 */
function insecureHandling(io: Io): { onInsecure?: (warning: string) => void } {
  return io.warnInsecureInputs === true ? { onInsecure: (w) => say(io, 'warning', w) } : {};
}

/** Reads a passphrase from a file, or from stdin for `-`. A bad file is exit 2 (nothing reached KMS yet). */
export async function readPassphrase(path: string, io: Io): Promise<SecretBytes> {
  try {
    return await readPassphraseFile(path, { fs: fsWithStdin(io), ...insecureHandling(io) });
  } catch (e) {
    throw asLocalInputError(e);
  }
}

/** Reads recipients files: one `age1…` per line, `#` comments and blank lines ignored. */
async function readRecipientsFile(path: string, io: Io): Promise<string[]> {
  let bytes: Uint8Array;
  try {
    bytes = await fsWithStdin(io).readFile(path);
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read recipients file ${path} (${(e as { code?: string }).code ?? 'error'})`, {
      hint: 'check the path given to --recipients-file',
    });
  }
  return new TextDecoder()
    .decode(bytes)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Splits `NAME=age1…` into a label and a recipient; a bare recipient has no label. */
function labelled(text: string, flag: string): { recipient: string; label?: string } {
  const eq = text.indexOf('=');
  const label = eq > 0 ? text.slice(0, eq).trim() : undefined;
  const recipient = parseRecipient(eq > 0 ? text.slice(eq + 1) : text, flag).recipient;
  return label ? { recipient, label } : { recipient };
}

/**
 * The sealing of a new key's escrow from onboard's flags (`--recipient`, `--recipients-file`,
 * `--passphrase-file`, `--threshold`, `--split`, `--renewal-recipient`, `--allow-weak-passphrase`),
 * paths relative to the invocation's working directory (`-` is stdin). Used by the software onboard
 * and by the HSM onboard's `--also-escrow`.
 */
export function readOnboardSealing(p: Parsed, io: Io): Promise<EscrowSealing> {
  const local = (path: string) => (path === '-' ? path : resolve(io.cwd, path));
  const passphraseFile = str(p, 'passphrase-file');
  return readSealingInputs(io, {
    recipients: strs(p, 'recipient'),
    recipientsFiles: strs(p, 'recipients-file').map(local),
    passphraseFile: passphraseFile === undefined ? undefined : local(passphraseFile),
    ...(str(p, 'threshold') !== undefined ? { threshold: str(p, 'threshold')! } : {}),
    ...(str(p, 'split') !== undefined ? { split: str(p, 'split')! } : {}),
    renewalRecipients: strs(p, 'renewal-recipient'),
    weakPassphrase: { allow: bool(p, 'allow-weak-passphrase'), rehearsal: isRehearsal(p, io), flag: `--passphrase-file ${passphraseFile ?? ''}` },
  });
}

/** A rehearsal target: the embedded emulator, or a loopback endpoint (nothing on loopback is AWS). */
function isRehearsal(p: Parsed, io: Io): boolean {
  const endpoint = str(p, 'endpoint-url') ?? io.env.AWS_ENDPOINT_URL_KMS;
  return bool(p, 'emulator') || str(p, 'emulator-state') !== undefined || (endpoint !== undefined && isLoopbackUrl(endpoint));
}

/**
 * Builds the escrow sealing from flags. At least one custodian input is required: an escrow nobody
 * can open would make the import irreversible in the worst way. Recipients may carry a label
 * (`alice=age1…`), shown by `escrow inspect` and on share files.
 */
export async function readSealingInputs(
  io: Io,
  input: {
    recipients: string[];
    recipientsFiles: string[];
    passphraseFile: string | undefined;
    threshold?: string;
    split?: string;
    renewalRecipients?: string[];
    /** Strength check of a sealing passphrase (cli/passphrase-strength.ts): `allowWeak` on rehearsals only. */
    weakPassphrase?: { allow: boolean; rehearsal: boolean; flag?: string };
  },
): Promise<EscrowSealing> {
  const texts = input.recipients.map((t) => ({ t, flag: '--recipient' }));
  for (const f of input.recipientsFiles) texts.push(...(await readRecipientsFile(f, io)).map((t) => ({ t, flag: `--recipients-file ${f}` })));
  const recipients = texts.map(({ t, flag }) => labelled(t, flag));
  if (recipients.length === 0 && input.passphraseFile === undefined) {
    throw missing('--recipient or --passphrase-file', 'who can open the escrow', 'pass each custodian\'s age recipient with --recipient age1…, or --passphrase-file FILE');
  }
  const sealing: EscrowSealing = { recipients };
  if (input.threshold !== undefined) {
    const m = Number(input.threshold);
    if (!/^\d+$/.test(input.threshold) || m < 2 || m > recipients.length) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --threshold "${input.threshold}" for ${recipients.length} recipients`, {
        hint: 'give M from 2 to the number of --recipient custodians: any M of them open the escrow',
      });
    }
    sealing.threshold = m;
  }
  if (input.split !== undefined) {
    if (input.split !== 'xor') throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --split "${input.split}"`, { hint: 'the only split is xor (use --threshold M for m-of-n)' });
    sealing.split = 'xor';
  }
  if (input.renewalRecipients !== undefined && input.renewalRecipients.length > 0) {
    sealing.renewal = input.renewalRecipients.map((t) => {
      const r = labelled(t, '--renewal-recipient');
      return { recipient: r.recipient, label: r.label ?? 'scheduler' };
    });
  }
  if (input.passphraseFile !== undefined) {
    sealing.passphrase = await readPassphrase(input.passphraseFile, io);
    try {
      const { assertStrongPassphrase } = await import('./passphrase-strength.js');
      const w = input.weakPassphrase ?? { allow: false, rehearsal: false };
      await assertStrongPassphrase(io, sealing.passphrase, { flag: w.flag ?? input.passphraseFile, allowWeak: w.allow, rehearsal: w.rehearsal });
    } catch (e) {
      sealing.passphrase.dispose();
      throw e;
    }
  }
  // Everything sealing will check (an XOR split of one recipient, a split with a passphrase copy…), now:
  // before any KMS request, not after a key was created.
  try {
    assertSealingValid(sealing);
  } catch (e) {
    sealing.passphrase?.dispose();
    throw e;
  }
  return sealing;
}

/**
 * What opens an escrow: `--identity` files, `--passphrase-file`, or `--share` hand-over files (with
 * the escrow directory's one-time identities: docs/custody.md, "Hand-over"). Exactly one kind is
 * required. Hand-over files sealed to a one-time recipient that is not open in `escrowDir` are
 * refused here, before any KMS request (exit 2).
 */
export async function readOpener(
  io: Io,
  input: { identities: string[]; passphraseFile: string | undefined; shares?: string[]; escrowDir?: string },
): Promise<EscrowOpener> {
  const shares = input.shares ?? [];
  if (shares.length > 0) {
    if (input.identities.length > 0 || input.passphraseFile !== undefined) {
      throw new KmsByokError('ERR_USAGE', `give either --share or ${input.identities.length > 0 ? '--identity' : '--passphrase-file'}, not both`, {
        hint: 'a custodian at this machine hands over too: kms-byok escrow hand-over ESCROW --identity THEIRS --to <one-time recipient> --out FILE',
      });
    }
    if (input.escrowDir === undefined) throw new KmsByokError('ERR_INTERNAL', 'hand-over needs the escrow directory');
    return readHandovers(io, shares, input.escrowDir);
  }
  if (input.identities.length > 0 && input.passphraseFile !== undefined) {
    throw new KmsByokError('ERR_USAGE', 'give either --identity or --passphrase-file, not both', { hint: 'one custodian opens the escrow at a time' });
  }
  if (input.passphraseFile !== undefined) return { passphrase: await readPassphrase(input.passphraseFile, io) };
  if (input.identities.length === 0) {
    throw missing('--identity or --passphrase-file', 'how to open the escrow', 'pass --identity custodian.txt (an age identity file) or --passphrase-file FILE');
  }
  const identities: string[] = [];
  try {
    for (const path of input.identities) identities.push(...(await readIdentityFile(path, { fs: fsWithStdin(io), ...insecureHandling(io) })));
  } catch (e) {
    throw asLocalInputError(e); // read before any KMS request: a bad identity file is exit 2
  }
  return { identities };
}

async function readHandovers(io: Io, paths: string[], escrowDir: string): Promise<EscrowOpener> {
  const files: { name: string; bytes: Uint8Array }[] = [];
  for (const path of paths) {
    let bytes: Uint8Array;
    try {
      bytes = await fsWithStdin(io).readFile(path);
    } catch (e) {
      throw new KmsByokError('ERR_FILE_READ', `cannot read --share ${path} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'give the file a custodian wrote with kms-byok escrow hand-over' });
    }
    files.push({ name: path, bytes });
  }
  const { identities, expired } = await loadHandoverIdentities(escrowDir);
  // Stale hand-overs are refused now (exit 2), before any KMS request; the rest is checked against the escrow when it is opened.
  for (const f of files) {
    try {
      const claim = readHandoverClaim(f.bytes, f.name);
      if (!identities.some((i) => i.recipient === claim.to)) {
        const why = expired.includes(claim.to) ? 'expired (24 hours) and was removed' : `is not open in ${escrowDir} (already used by a ceremony, expired, or made for another escrow directory)`;
        throw new KmsByokError('ERR_HANDOVER_STALE', `--share ${f.name} was handed over to the one-time recipient ${abbreviateRecipient(claim.to)}, which ${why}`, {
          hint: `run kms-byok escrow handover-recipient --escrow-dir ${escrowDir} and ask ${claim.holder.label ?? 'the custodian'} to run kms-byok escrow hand-over again with --to the recipient it prints`,
        });
      }
    } catch (e) {
      throw asLocalInputError(e);
    }
  }
  return { handedOver: files, oneTime: identities, escrowDir, expired, used: new Set<string>(), claims: [] };
}

/**
 * After a ceremony succeeded with hand-over files: removes the one-time identities they used, so the
 * same files cannot open an escrow again (docs/custody.md, "Hand-over"). A no-op for other openers.
 */
export async function consumeHandover(opener: EscrowOpener | undefined, io: Io): Promise<void> {
  if (opener === undefined || !('handedOver' in opener) || opener.used.size === 0) return;
  await consumeHandoverIdentities(opener.escrowDir, opener.used);
  say(io, 'note', `one-time hand-over identit${opener.used.size === 1 ? 'y' : 'ies'} used and removed: the hand-over files cannot be used again`);
}

/**
 * Proves `dir` writable (creating it 0700 if needed) — before any key is created — and returns the
 * ceremony's escrow vault over it.
 */
export async function openEscrowVault(dir: string, io: Io): Promise<OnboardDeps['escrow']> {
  const { vault, warning } = await openFileVault(dir);
  if (warning) say(io, 'warning', warning);
  return vault;
}
