/**
 * Tamper evidence of the golden escrows. Two attackers:
 * (a) changes a sealed file and leaves the sidecar alone: the recorded SHA-256 catches it
 *     (ERR_ESCROW_TAMPERED), whatever the change;
 * (b) changes a sealed file AND rewrites its SHA-256 in the sidecar: age itself must still refuse it,
 *     with a specific code (format, damaged/altered, or no identity matches) — never by opening it.
 * Every byte of each file is changed in turn (armored text: the replacement always changes the
 * decoded content) against attacker (a); attacker (b) gets every byte of the age header region and
 * every 16th byte after it (every byte with SLOW=1: each attempt costs real X25519/scrypt work). Truncations at a sample of
 * lengths are refused.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { sha256Hex } from '../../src/escrow/format.js';
import { readEscrow, readIdentityFile, readPassphraseFile } from '../../src/escrow/file-store.js';
import { disposePayload, openCustodianFile, openEscrow, type EscrowOpener, type LoadedEscrow } from '../../src/escrow/vault.js';
import { GOLDEN_DIR } from './golden-fixtures.js';
import { KEY_ID, testDeps } from './helpers.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A different character for position i that changes the file's content (and decoded bytes). */
function replacement(c: number): number {
  const ch = String.fromCharCode(c);
  const i = B64.indexOf(ch);
  if (i >= 0) return B64.charCodeAt(i ^ 0b100000); // flips the top bit of the 6-bit value: always a used bit
  return ch === 'A' ? 0x42 : 0x41; // newline, '-', '=', space: replace with a letter
}

function variant(bytes: Uint8Array, i: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[i] = replacement(out[i]!);
  return out;
}

function withFile(loaded: LoadedEscrow, name: string, bytes: Uint8Array, rewriteHash: boolean): LoadedEscrow {
  const sidecar = rewriteHash
    ? { ...loaded.sidecar, files: loaded.sidecar.files.map((f) => (f.name === name ? { ...f, sha256: sha256Hex(bytes) } : f)) }
    : loaded.sidecar;
  return { sidecar, files: loaded.files.map((f) => (f.name === name ? { name, bytes } : f)) };
}

/** Attacker (b) is checked at every byte of the armored age header region (the first ~5 lines)… */
const AGE_HEADER_BYTES = 5 * 65 + 35;
/** …and at every 16th byte after it (every byte with SLOW=1). */
const AGE_LEVEL = ['ERR_ESCROW_FORMAT', 'ERR_ESCROW_TAMPERED', 'ERR_ESCROW_DECRYPT'];

async function outcome(loaded: LoadedEscrow, opener: EscrowOpener): Promise<string> {
  try {
    const p = await openEscrow(loaded, opener, testDeps);
    disposePayload(p);
    return 'OPENED';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

const id = (n: string) => readIdentityFile(join(GOLDEN_DIR, 'identities', `${n}.key`));

const CASES = [
  { dir: 'x25519', file: `${KEY_ID}.v2.age`, opener: async (): Promise<EscrowOpener> => ({ identities: await id('alice') }) },
  {
    dir: 'passphrase',
    file: `${KEY_ID}.v1.age`,
    opener: async (): Promise<EscrowOpener> => ({ passphrase: await readPassphraseFile(join(GOLDEN_DIR, 'passphrase.txt')) }),
  },
  { dir: 'shares-2-of-3', file: `${KEY_ID}.v1.age`, opener: sharesOpener },
  {
    dir: 'shares-2-of-3',
    file: `${KEY_ID}.v1.share-2.age`,
    opener: async (): Promise<EscrowOpener> => ({ identities: [...(await id('alice')), ...(await id('bob'))] }),
    // A share file whose recipient stanza was altered no longer opens with bob's identity, which is
    // then indistinguishable from "not bob's share": the escrow stays closed for lack of shares.
    alsoAllowed: 'ERR_ESCROW_TOO_FEW_SHARES',
  },
] as const;

let shareDocs: Awaited<ReturnType<typeof openCustodianFile>>[] | undefined;
async function sharesOpener(): Promise<EscrowOpener> {
  shareDocs ??= await Promise.all(
    (['alice', 'bob'] as const).map(async (n, i) =>
      openCustodianFile(await readFile(join(GOLDEN_DIR, 'shares-2-of-3', `${KEY_ID}.v1.share-${i + 1}.age`)), await id(n), n),
    ),
  );
  return { shares: shareDocs.map((d) => d.clone()) };
}

describe.each(CASES)('tampering with golden $dir/$file', (c) => {
  const { dir, file } = c;
  const allowed = [...AGE_LEVEL, ...('alsoAllowed' in c ? [c.alsoAllowed] : [])];
  let opener: EscrowOpener;
  beforeAll(async () => {
    opener = await c.opener();
  });

  test('the untouched file opens (control)', async () => {
    const loaded = await readEscrow(join(GOLDEN_DIR, dir, file));
    expect(await outcome(loaded, opener)).toBe('OPENED');
  });

  test('every changed byte is refused, by the sidecar hash and by age itself', async () => {
    const loaded = await readEscrow(join(GOLDEN_DIR, dir, file));
    const original = loaded.files.find((f) => f.name === file)!.bytes;
    const seen = new Map<string, number>();
    let ageLevel = 0;
    for (let i = 0; i < original.length; i++) {
      const bad = variant(original, i);
      expect(bad).not.toEqual(original);
      const a = await outcome(withFile(loaded, file, bad, false), opener);
      if (a !== 'ERR_ESCROW_TAMPERED') expect.fail(`byte ${i}, sidecar kept: ${a}`);
      if (!process.env.SLOW && i >= AGE_HEADER_BYTES && i % 16 !== 0) continue;
      ageLevel++;
      const b = await outcome(withFile(loaded, file, bad, true), opener);
      if (!allowed.includes(b)) expect.fail(`byte ${i}, sidecar rewritten: ${b}`);
      seen.set(b, (seen.get(b) ?? 0) + 1);
    }
    // The age layer really was exercised: authentication failures, not only armor errors.
    expect(seen.get('ERR_ESCROW_TAMPERED') ?? 0).toBeGreaterThan(ageLevel / 2);
    // CPU-bound (one scrypt per opened variant of a passphrase escrow): generous for a loaded machine.
  }, 300_000);

  test('truncations are refused', async () => {
    const loaded = await readEscrow(join(GOLDEN_DIR, dir, file));
    const original = loaded.files.find((f) => f.name === file)!.bytes;
    const n = original.length;
    for (const len of new Set([0, 1, 10, 35, 64, 65, 100, Math.floor(n / 3), Math.floor(n / 2), n - 66, n - 40, n - 35, n - 2])) {
      const bad = original.subarray(0, len);
      expect(await outcome(withFile(loaded, file, bad, false), opener)).toBe('ERR_ESCROW_TAMPERED');
      const b = await outcome(withFile(loaded, file, bad, true), opener);
      if (!allowed.includes(b)) expect.fail(`truncated to ${len}: ${b}`);
    }
  });
});
