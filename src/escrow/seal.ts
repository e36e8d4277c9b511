/**
 * The age layer of the escrow: recipient and identity parsing, and sealing/unsealing one file as
 * ASCII-armored age, so the stock `age` CLI opens what this module writes. No cipher of our own.
 * Pure (age-encryption only; no fs, no process).
 */
import type * as Age from 'age-encryption';
import type { webcrypto } from 'node:crypto';
import { KmsByokError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import type { RecipientKind } from './format.js';
import { isValidRecipientSyntax, x25519IdentityScalar } from './recipient-syntax.js';

/**
 * age-encryption, loaded on first use: only opening or sealing needs it, and `status` (which reads
 * sidecars only) must not pay for loading it (docs/architecture.md, "The build").
 */
let ageModule: Promise<typeof Age> | undefined;
function loadAge(): Promise<typeof Age> {
  return (ageModule ??= import('age-encryption'));
}

/** age's own default scrypt work factor (log2 N), used for every passphrase-sealed escrow. */
export const DEFAULT_SCRYPT_WORK_FACTOR = 18;
/** The highest work factor age-encryption will decrypt (it refuses more than 2^20). */
export const MAX_SCRYPT_WORK_FACTOR = 20;

/** Shortens a recipient for messages: PQ recipients are ~1959 characters. */
export function abbreviateRecipient(recipient: string): string {
  return recipient.length <= 24 ? recipient : `${recipient.slice(0, 14)}…${recipient.slice(-6)}`;
}

/**
 * Validates one age recipient string and says which kind it is. Accepts native X25519 recipients
 * (`age1…`, 32-byte key) and ML-KEM-768+X25519 hybrid recipients (`age1pq1…`). Refuses anything
 * else — tag recipients, plugin recipients, SSH keys, typos — with ERR_INVALID_RECIPIENT naming it.
 * Surrounding whitespace is trimmed; the returned `recipient` is the canonical string.
 */
export function parseRecipient(text: string, flag = 'the recipient'): { recipient: string; kind: RecipientKind } {
  const recipient = text.trim();
  // A private key where a public one belongs: name it for what it is, and never echo any of it.
  if (/AGE-SECRET-KEY-/i.test(recipient)) {
    throw new KmsByokError('ERR_INVALID_RECIPIENT', `${flag} got an age PRIVATE key: give its public age1… line; keep the private key secret`, {
      hint: 'age-keygen -y IDENTITY_FILE prints the public key (age1…); if the private key was pasted anywhere shared, generate a new one',
    });
  }
  const refuse = (why: string): never => {
    throw new KmsByokError('ERR_INVALID_RECIPIENT', `invalid age recipient ${JSON.stringify(abbreviateRecipient(recipient))}: ${why}`, {
      hint: 'give the public key age-keygen prints ("age1…", or "age1pq1…" from age-keygen -pq)',
    });
  };
  if (recipient.length === 0) refuse('empty');
  if (recipient.startsWith('age1tag1') || recipient.startsWith('age1tagpq1')) refuse('tag recipients are not supported');
  if (!recipient.startsWith('age1')) refuse('not an age recipient');
  const kind: RecipientKind = recipient.startsWith('age1pq1') ? 'pq-hybrid' : 'x25519';
  if (!isValidRecipientSyntax(recipient)) {
    const b = bech32Check(recipient);
    if (b.result === 'bad-checksum') refuse('checksum mismatch — probably a typo (compare it, character by character, with what age-keygen printed)');
    if (b.result === 'not-bech32') refuse('not the text age-keygen prints (a character that cannot occur in an age recipient, or mixed case) — probably a typo');
    if (b.hrp !== 'age' && b.hrp !== 'age1pq') refuse(`a plugin recipient (${b.hrp}1…): plugin recipients are not supported`);
    refuse(kind === 'pq-hybrid' ? 'not a valid post-quantum recipient' : 'not a valid X25519 recipient');
  }
  return { recipient, kind };
}

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/**
 * The bech32 checksum (BIP 173) age recipients carry: tells a typo (`bad-checksum`, or characters
 * bech32 cannot hold) from a well-formed recipient age refuses for another reason (a plugin's `hrp`).
 */
function bech32Check(text: string): { result: 'ok' | 'bad-checksum' | 'not-bech32'; hrp?: string } {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return { result: 'not-bech32' };
  const lower = text.toLowerCase();
  const sep = lower.lastIndexOf('1');
  if (sep < 1 || sep + 7 > lower.length) return { result: 'not-bech32' };
  const hrp = lower.slice(0, sep);
  const values: number[] = [];
  for (const c of hrp) {
    const code = c.charCodeAt(0);
    if (code < 33 || code > 126) return { result: 'not-bech32' };
  }
  for (const c of hrp) values.push(c.charCodeAt(0) >> 5);
  values.push(0);
  for (const c of hrp) values.push(c.charCodeAt(0) & 31);
  for (const c of lower.slice(sep + 1)) {
    const v = BECH32_CHARSET.indexOf(c);
    if (v < 0) return { result: 'not-bech32', hrp };
    values.push(v);
  }
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!;
  }
  return { result: chk === 1 ? 'ok' : 'bad-checksum', hrp };
}

const IDENTITY_PREFIXES = ['AGE-SECRET-KEY-1', 'AGE-SECRET-KEY-PQ-1'] as const;

/**
 * Parses the text of an age identity file as `age-keygen` writes it: `#` comments, blank lines, and
 * one identity per line (`AGE-SECRET-KEY-1…` X25519, or `AGE-SECRET-KEY-PQ-1…` hybrid). Every
 * identity is validated. `source` names the file in messages; identity text is never echoed.
 */
export async function parseIdentities(text: string, source: string): Promise<string[]> {
  const identities: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('-----BEGIN AGE ENCRYPTED FILE-----') || line === 'age-encryption.org/v1') {
      throw new KmsByokError('ERR_IDENTITY', `${source} is an encrypted age file, not an identity file`, {
        hint: 'passphrase-protected identity files are not supported: decrypt it to a private location first (age -d)',
      });
    }
    if (!IDENTITY_PREFIXES.some((p) => line.startsWith(p))) {
      throw new KmsByokError('ERR_IDENTITY', `line ${i + 1} of ${source} is not an age identity`, {
        hint: 'give a file written by age-keygen (lines starting AGE-SECRET-KEY-1 or AGE-SECRET-KEY-PQ-1); SSH and plugin identities are not supported',
      });
    }
    const age = await loadAge();
    try {
      await age.identityToRecipient(line);
    } catch {
      throw new KmsByokError('ERR_IDENTITY', `line ${i + 1} of ${source} is not a valid age identity`, {
        hint: 'the key is damaged; use another custodian copy',
      });
    }
    identities.push(line);
  }
  if (identities.length === 0) {
    throw new KmsByokError('ERR_IDENTITY', `no age identity in ${source}`, {
      hint: 'give a file written by age-keygen (a line starting AGE-SECRET-KEY-1 or AGE-SECRET-KEY-PQ-1)',
    });
  }
  return identities;
}

/** The recipient of an identity string; ERR_IDENTITY when it is not one. */
export async function recipientOfIdentity(identity: string): Promise<string> {
  const age = await loadAge();
  try {
    return await age.identityToRecipient(identity);
  } catch {
    throw new KmsByokError('ERR_IDENTITY', 'not a valid age identity');
  }
}

/** A fresh identity string (X25519 or hybrid) as SecretBytes of its ASCII text. */
export async function generateIdentity(kind: RecipientKind): Promise<SecretBytes> {
  const age = await loadAge();
  const identity = kind === 'pq-hybrid' ? await age.generateHybridIdentity() : await age.generateX25519Identity();
  return SecretBytes.adopt(new TextEncoder().encode(identity));
}

/** Decodes a passphrase held as UTF-8 bytes (age-encryption takes a string). */
function passphraseText(passphrase: SecretBytes): string {
  if (passphrase.length === 0) {
    throw new KmsByokError('ERR_EMPTY_PASSPHRASE', 'passphrase is empty', { hint: 'give a passphrase of several random words' });
  }
  try {
    return passphrase.use((b) => new TextDecoder('utf-8', { fatal: true }).decode(b));
  } catch {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', 'passphrase is not valid UTF-8', { hint: 'use a passphrase of plain text' });
  }
}

/** Who one sealed file is encrypted to. */
export type SealTo = { recipients: string[] } | { passphrase: SecretBytes; scryptWorkFactor?: number };

/**
 * Seals `plaintext` as one ASCII-armored age file (the bytes of the text, ending in a newline).
 * Recipients must already be validated with {@link parseRecipient}. The plaintext is not zeroed here:
 * it belongs to the caller.
 */
export async function sealArmored(plaintext: Uint8Array, to: SealTo): Promise<Uint8Array> {
  const age = await loadAge();
  const e = new age.Encrypter();
  if ('recipients' in to) {
    if (to.recipients.length === 0) throw new KmsByokError('ERR_INTERNAL', 'sealArmored needs a recipient');
    for (const r of to.recipients) e.addRecipient(r);
  } else {
    const logN = to.scryptWorkFactor ?? DEFAULT_SCRYPT_WORK_FACTOR;
    if (!Number.isSafeInteger(logN) || logN < 1 || logN > MAX_SCRYPT_WORK_FACTOR) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `scrypt work factor must be 1 to ${MAX_SCRYPT_WORK_FACTOR}, got ${logN}`);
    }
    e.setScryptWorkFactor(logN);
    e.setPassphrase(passphraseText(to.passphrase));
  }
  const binary = await e.encrypt(plaintext);
  return new TextEncoder().encode(age.armor.encode(binary));
}

// One Decrypter per identities list: parsing an identity derives its public key (a scalar
// multiplication), which a fleet run would otherwise repeat for every escrow it opens. An X25519
// identity is handed to age as a non-extractable WebCrypto key imported once: given the string, age
// imports the private key again for every file it opens (~1 ms each: docs/fleet.md, "CPU per key").
const decrypters = new WeakMap<readonly string[], Promise<Age.Decrypter>>();

function decrypterFor(age: typeof Age, identities: readonly string[]): Promise<Age.Decrypter> {
  let d = decrypters.get(identities);
  if (!d) {
    d = buildDecrypter(age, identities);
    // A refused identity is not cached: the error is reported again where it is used.
    d.catch(() => decrypters.delete(identities));
    decrypters.set(identities, d);
  }
  return d;
}

const PKCS8_X25519_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];

/** The identity as a WebCrypto X25519 private key, or undefined (not X25519, or no WebCrypto X25519 here). */
async function importedX25519(identity: string): Promise<webcrypto.CryptoKey | undefined> {
  const scalar = x25519IdentityScalar(identity);
  if (!scalar) return undefined;
  const pkcs8 = new Uint8Array(PKCS8_X25519_PREFIX.length + 32);
  pkcs8.set(PKCS8_X25519_PREFIX);
  pkcs8.set(scalar, PKCS8_X25519_PREFIX.length);
  scalar.fill(0);
  try {
    return await globalThis.crypto.subtle.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']);
  } catch {
    return undefined;
  } finally {
    pkcs8.fill(0);
  }
}

async function buildDecrypter(age: typeof Age, identities: readonly string[]): Promise<Age.Decrypter> {
  const d = new age.Decrypter();
  for (const identity of identities) {
    try {
      d.addIdentity(identity);
    } catch {
      throw new KmsByokError('ERR_IDENTITY', 'not a valid age identity', { hint: 'give a file written by age-keygen' });
    }
  }
  // Valid, as age itself said. When every one is X25519 and WebCrypto imports it, the keys replace the strings.
  const imported = await Promise.all(identities.map(importedX25519));
  if (imported.every((k): k is webcrypto.CryptoKey => k !== undefined)) {
    const fast = new age.Decrypter();
    // age's CryptoKey is the DOM type; Node's WebCrypto key is that object.
    for (const k of imported) fast.addIdentity(k as unknown as Parameters<Age.Decrypter['addIdentity']>[0]);
    return fast;
  }
  return d;
}

/** What opens one sealed file. */
export type UnsealWith = { identities: string[] } | { passphrase: SecretBytes };

/**
 * age's `decrypt` of a whole buffer, with the plaintext collected here rather than by age: its own
 * collection goes through `new Response(stream)`, which loads Node's fetch implementation (~25 ms of
 * CPU in a process that never fetches) and keeps intermediate copies nobody can zero. Every chunk and
 * every copy but the result is zeroed. Authentication failures surface while reading, as from age itself.
 */
async function decryptToBytes(d: Age.Decrypter, binary: Uint8Array): Promise<SecretBytes> {
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(binary);
      controller.close();
    },
  });
  const reader = (await d.decrypt(input)).getReader();
  const chunks: Uint8Array[] = [];
  try {
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Copied at once and the original zeroed: nothing assumes age hands out a fresh array per chunk.
      chunks.push(value.slice());
      value.fill(0);
      total += value.length;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return SecretBytes.adopt(out);
  } finally {
    for (const c of chunks) c.fill(0);
    reader.releaseLock();
  }
}

/**
 * Opens one ASCII-armored age file. Fails closed with a specific code:
 * ERR_ESCROW_FORMAT (not armored age), ERR_ESCROW_DECRYPT (no given identity or passphrase opens it),
 * ERR_ESCROW_TAMPERED (it opened but failed authentication, or its header is damaged),
 * ERR_IDENTITY (an identity string is invalid).
 */
export async function unsealArmored(file: Uint8Array, opener: UnsealWith, name: string): Promise<SecretBytes> {
  const age = await loadAge();
  let binary: Uint8Array;
  try {
    binary = age.armor.decode(new TextDecoder('latin1').decode(file));
  } catch (e) {
    throw new KmsByokError('ERR_ESCROW_FORMAT', `${name} is not an ASCII-armored age file (${errorText(e)})`, {
      hint: 'the file is damaged or not an escrow file: use another copy',
    });
  }
  let d: Age.Decrypter;
  if ('identities' in opener) {
    if (opener.identities.length === 0) throw new KmsByokError('ERR_IDENTITY', 'no age identity given');
    d = await decrypterFor(age, opener.identities);
  } else {
    d = new age.Decrypter();
    d.addPassphrase(passphraseText(opener.passphrase));
  }
  try {
    return await decryptToBytes(d, binary);
  } catch (e) {
    if (e instanceof KmsByokError) throw e;
    const msg = errorText(e);
    if (msg.includes('no identity matched')) {
      throw new KmsByokError(
        'ERR_ESCROW_DECRYPT',
        'passphrase' in opener ? `wrong passphrase for ${name}` : `none of the given identities opens ${name}`,
        { hint: 'passphrase' in opener ? 'check the passphrase file (one trailing newline is stripped)' : 'give the identity file of a custodian this file is sealed to' },
      );
    }
    throw new KmsByokError('ERR_ESCROW_TAMPERED', `${name} is damaged or was altered (age: ${msg})`, {
      hint: 'do not use it: open another copy of the escrow',
    });
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
