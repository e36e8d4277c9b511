/**
 * The one-time hand-over identities of an escrow directory (docs/custody.md, "Hand-over"):
 * `<escrow dir>/.handover/<recipient>.txt`, one age identity each, created exclusively 0600 (never
 * through a link) in a 0700 directory of this user. An identity lives until a ceremony consumes it
 * ({@link consumeHandoverIdentities}) or for {@link HANDOVER_LIFETIME_MS}: expiry is checked whenever
 * the identities are loaded for use, and every expired one is removed when a new one is made.
 */
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import { generateIdentity, recipientOfIdentity, type OneTimeIdentity } from '../escrow/index.js';
import { createExclusive, unsafePath } from './safe-files.js';

/** How long a one-time identity stays usable: 24 hours from its creation. */
export const HANDOVER_LIFETIME_MS = 24 * 3_600_000;

/** `<escrow dir>/.handover`, beside the journal directory `.journal`. */
export function handoverDir(escrowDir: string): string {
  return join(escrowDir, '.handover');
}

const FILE_RE = /^(age1[0-9a-z]{10,100})\.txt$/;

async function ensureDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw e;
  }
  const st = await fs.lstat(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw unsafePath(dir, 'the hand-over directory', st.isSymbolicLink() ? 'is a symbolic link' : 'is not a directory');
  if (typeof process.geteuid === 'function' && st.uid !== process.geteuid()) throw unsafePath(dir, 'the hand-over directory', 'belongs to another user');
  if ((st.mode & 0o077) !== 0) await fs.chmod(dir, 0o700);
}

interface Stored extends OneTimeIdentity {
  path: string;
  created: number;
}

async function readStored(dir: string): Promise<Stored[]> {
  let names: string[];
  try {
    // The directory itself is held to the rules it was created under: a link to another escrow
    // directory's one-time identities, or a directory of another user, is refused.
    const st = await fs.lstat(dir);
    if (st.isSymbolicLink() || !st.isDirectory()) throw unsafePath(dir, 'the hand-over directory', st.isSymbolicLink() ? 'is a symbolic link' : 'is not a directory');
    if (typeof process.geteuid === 'function' && st.uid !== process.geteuid()) throw unsafePath(dir, 'the hand-over directory', 'belongs to another user');
    names = await fs.readdir(dir);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return [];
    throw e;
  }
  const out: Stored[] = [];
  for (const name of names) {
    const m = FILE_RE.exec(name);
    if (m === null) continue;
    const path = join(dir, name);
    const st = await fs.lstat(path);
    // Only regular files of this user, 0600, one link: anything else was not written by kms-byok.
    if (!st.isFile() || st.nlink !== 1 || (st.mode & 0o077) !== 0 || (typeof process.geteuid === 'function' && st.uid !== process.geteuid())) continue;
    const text = await fs.readFile(path, 'utf8');
    const created = Date.parse(/^# created: (\S+)$/m.exec(text)?.[1] ?? '');
    const identity = text.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
    if (identity === undefined || Number.isNaN(created)) continue;
    const recipient = await recipientOfIdentity(identity.trim());
    if (recipient !== m[1]) continue;
    out.push({ path, recipient, identity: identity.trim(), created });
  }
  return out;
}

async function removeExpired(stored: Stored[], now: number): Promise<{ live: Stored[]; expired: string[] }> {
  const live: Stored[] = [];
  const expired: string[] = [];
  for (const s of stored) {
    if (now - s.created >= HANDOVER_LIFETIME_MS || s.created - now > 300_000) {
      await fs.unlink(s.path).catch(() => undefined);
      expired.push(s.recipient);
    } else live.push(s);
  }
  return { live, expired };
}

/**
 * Makes a new one-time identity for `escrowDir` (sweeping expired ones first) and returns its
 * recipient and expiry. The identity text never leaves the file.
 */
export async function createHandoverIdentity(escrowDir: string, now = Date.now()): Promise<{ recipient: string; path: string; expires: string; swept: number }> {
  const dir = handoverDir(escrowDir);
  await ensureDir(dir);
  const { expired } = await removeExpired(await readStored(dir), now);
  const secret = await generateIdentity('x25519');
  try {
    const identity = secret.use((b) => new TextDecoder().decode(b));
    const recipient = await recipientOfIdentity(identity);
    const path = join(dir, `${recipient}.txt`);
    const created = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const text = `# kms-byok one-time hand-over identity (docs/custody.md): removed when a ceremony uses it, or after 24 hours\n# created: ${created}\n# recipient: ${recipient}\n${identity}\n`;
    const bytes = new TextEncoder().encode(text);
    try {
      await createExclusive(path, bytes, 'the one-time hand-over identity');
    } finally {
      bytes.fill(0);
    }
    return { recipient, path, expires: new Date(now + HANDOVER_LIFETIME_MS).toISOString().replace(/\.\d{3}Z$/, 'Z'), swept: expired.length };
  } finally {
    secret.dispose();
  }
}

/**
 * The open one-time identities of `escrowDir`; expired ones are removed and named in `expired`.
 * Never creates the directory.
 */
export async function loadHandoverIdentities(escrowDir: string, now = Date.now()): Promise<{ identities: OneTimeIdentity[]; expired: string[] }> {
  const { live, expired } = await removeExpired(await readStored(handoverDir(escrowDir)), now);
  return { identities: live.map(({ recipient, identity }) => ({ recipient, identity })), expired };
}

/**
 * The recipients of the open (unexpired) one-time identities of `escrowDir`, for a question that
 * checks a hand-over file before the ceremony: removes nothing, never creates the directory.
 */
export async function openHandoverRecipients(escrowDir: string, now = Date.now()): Promise<string[]> {
  const stored = await readStored(handoverDir(escrowDir));
  return stored.filter((s) => now - s.created < HANDOVER_LIFETIME_MS && s.created - now <= 300_000).map((s) => s.recipient);
}

/** Removes the one-time identities of these recipients: a ceremony used them. */
export async function consumeHandoverIdentities(escrowDir: string, recipients: Iterable<string>): Promise<void> {
  for (const r of recipients) {
    if (!/^age1[0-9a-z]{10,100}$/.test(r)) throw new KmsByokError('ERR_INTERNAL', 'not a one-time recipient');
    await fs.unlink(join(handoverDir(escrowDir), `${r}.txt`)).catch((e: unknown) => {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    });
  }
}
