/**
 * Disaster recovery with stock tools: runs the `dr-test` command blocks of docs/disaster-recovery.md
 * with the real `age` binary (Debian package `age`), jq, openssl, node and python3 on fresh escrows
 * and on the golden fixtures, and checks the recovered bytes are the material.
 *
 * Outside CI the suite is skipped when a tool is missing; with CI set, a missing tool fails it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, generateKeyPairSync, privateDecrypt, constants, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { assertEscrowDirWritable, readIdentityFile, writeSealedEscrow } from '../../src/escrow/file-store.js';
import { sealEscrow, type EscrowSealing } from '../../src/escrow/vault.js';
import { GOLDEN_DIR } from './golden-fixtures.js';
import { KEY_ID, contents, knownMaterial, material, testDeps } from './helpers.js';

const TOOLS = ['age', 'age-keygen', 'jq', 'openssl', 'python3', 'node', 'base64', 'od', 'shred'] as const;
const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = missing.length > 0 && !process.env.CI;

const DOC = new URL('../../docs/disaster-recovery.md', import.meta.url).pathname;
/** The scripts shipped beside the doc (docs/dr/), run from their files as a recovery medium holds them. */
const DR = new URL('../../docs/dr', import.meta.url).pathname;
/**
 * PATH without kms-byok: no node_modules/.bin, and no directory that holds a `kms-byok` executable —
 * the machine of this page, where kms-byok is not installed.
 */
const PATH_WITHOUT_KMS_BYOK = (process.env.PATH ?? '/usr/bin:/bin')
  .split(':')
  .filter((d) => d !== '' && !d.includes('node_modules') && spawnSync('test', ['-x', join(d, 'kms-byok')]).status !== 0)
  .join(':');

/** The `dr-test` blocks of the DR doc, by name, de-indented as a reader would copy them. */
async function drBlocks(): Promise<Map<string, string>> {
  const text = await readFile(DOC, 'utf8');
  const blocks = new Map<string, string>();
  const re = /<!-- dr-test: ([a-z0-9-]+) -->\n([ ]*)```sh\n([\s\S]*?)\n\2```/g;
  for (const m of text.matchAll(re)) {
    const indent = m[2]!.length;
    blocks.set(m[1]!, m[3]!.split('\n').map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join('\n'));
  }
  return blocks;
}

let blocks: Map<string, string>;
let root: string;

function run(names: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const script = ['set -euo pipefail', ...names.map((n) => {
    const b = blocks.get(n);
    if (b === undefined) throw new Error(`docs/disaster-recovery.md has no dr-test block ${n}`);
    return b;
  })].join('\n');
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { env: { PATH: PATH_WITHOUT_KMS_BYOK, HOME: root, TMPDIR: root, DR, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${names.join(' + ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

async function ageKeygen(path: string): Promise<string> {
  const r = spawnSync('age-keygen', ['-o', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stderr.replace('Public key: ', '').trim();
}

/** AES-CMAC(key, 16 zero bytes), computed independently of openssl's `mac` command. */
function cmacOfZeroBlock(key: Uint8Array): string {
  const aes = (block: Buffer) => {
    const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  };
  const l = aes(Buffer.alloc(16));
  const k1 = Buffer.alloc(16);
  for (let i = 0, carry = 0; i < 16; i++) {
    const j = 15 - i;
    k1[j] = ((l[j]! << 1) | carry) & 0xff;
    carry = l[j]! >> 7;
  }
  if (l[0]! & 0x80) k1[15]! ^= 0x87;
  return aes(k1).toString('hex').toUpperCase(); // one complete block: CMAC = AES(M xor K1), M = 0
}

describe.skipIf(skip)(`stock age disaster recovery (docs/disaster-recovery.md)${skip ? ` — skipped, missing: ${missing.join(', ')}` : ''}`, () => {
  let identities: { path: string; recipient: string }[];
  const mats = [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32))];
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`CI is set but these tools are missing: ${missing.join(', ')} (apt-get install age jq openssl python3)`);
    blocks = await drBlocks();
    root = await mkdtemp(join(tmpdir(), 'kms-byok-dr-'));
    identities = [];
    for (const name of ['alice', 'bob', 'carol']) {
      const path = join(root, `${name}.key`);
      identities.push({ path, recipient: await ageKeygen(path) });
    }
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function sealTo(dir: string, sealing: EscrowSealing) {
    const d = join(root, dir);
    await assertEscrowDirWritable(d);
    const sealed = await sealEscrow(contents([material(1, mats[0]!), material(2, mats[1]!)]), sealing, testDeps);
    await writeSealedEscrow(d, KEY_ID, sealed);
    return join(d, `${KEY_ID}.v1.age`);
  }

  test('the doc has every block this test runs, and its scratch directory is private', async () => {
    for (const n of ['work', 'open-plain', 'list', 'extract-jq', 'extract-node', 'extract-python', 'kcv-cmac', 'params-files', 'wrap-oaep', 'wrap-kwp', 'cleanup', 'custodian-share', 'combine-py', 'combine-js', 'check-payload-identity', 'open-threshold', 'custodian-component', 'xor-combine-py']) {
      expect(blocks.has(n), n).toBe(true);
    }
    // Nothing to copy out of the page: no heredoc in any block (they break when copied indented).
    expect([...blocks.values()].filter((b) => /<<-?\s*'?EOF/.test(b))).toEqual([]);
    expect(await readFile(DOC, 'utf8')).not.toMatch(/<<-?\s*'?EOF/);
    blocks.set('no-kms-byok', 'if command -v kms-byok; then echo "kms-byok is on PATH" >&2; exit 1; fi; test ! -e node_modules/.bin/kms-byok');
    await run(['no-kms-byok'], {});
    blocks.set('print-work', 'echo "$WORK"');
    const { stdout } = await run(['work', 'print-work'], {});
    const dir = stdout.trim();
    expect(dir.startsWith(root)).toBe(true);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  test('identity files written by stock age-keygen are read by readIdentityFile', async () => {
    expect(await readIdentityFile(identities[0]!.path)).toHaveLength(1);
  });

  test('a plain escrow: open, list, extract every material (jq, node, python3), check, wrap both ways, clean up', async () => {
    const escrow = await sealTo('plain', { recipients: identities.map((i) => ({ recipient: i.recipient })) });
    for (const who of [0, 2]) {
      for (const n of [1, 2]) {
        for (const extract of ['extract-jq', 'extract-node', 'extract-python']) {
          const WORK = await mkdtemp(join(root, 'work-'));
          const env = { ESCROW: escrow, IDENTITY: identities[who]!.path, N: String(n), WORK, KEY_ID };
          const { stdout } = await run(['open-plain', 'list', extract], env);
          expect(stdout).toContain(`material ${n}: check value test-sha256:`);
          expect(new Uint8Array(await readFile(join(WORK, 'material.bin')))).toEqual(mats[n - 1]);
        }
      }
    }
    // Check value by hand, wrapping as AWS documents it (against a stand-in wrapping key), and cleanup.
    const WORK = await mkdtemp(join(root, 'work-'));
    const env = { ESCROW: escrow, IDENTITY: identities[1]!.path, N: '2', WORK, KEY_ID };
    const params = {
      KeyId: `arn:aws:kms:eu-west-1:111122223333:key/${KEY_ID}`,
      ImportToken: randomBytes(64).toString('base64'),
      PublicKey: rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      ParametersValidTo: '2026-01-03T03:04:05+00:00',
    };
    await writeFile(join(WORK, 'params.json'), JSON.stringify(params, null, 4));
    const kcv = await run(['open-plain', 'extract-jq', 'kcv-cmac', 'params-files', 'wrap-oaep'], env);
    expect(kcv.stdout.trim()).toBe(cmacOfZeroBlock(mats[1]!).slice(0, 6));
    expect(await readFile(join(WORK, 'ImportToken.bin'))).toEqual(Buffer.from(params.ImportToken, 'base64'));
    const oaep = await readFile(join(WORK, 'EncryptedKeyMaterial.bin'));
    expect(oaep).toHaveLength(256);
    expect(new Uint8Array(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, oaep))).toEqual(mats[1]);

    await run(['wrap-kwp'], env);
    const kwp = await readFile(join(WORK, 'EncryptedKeyMaterial.bin'));
    const aesKey = privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, kwp.subarray(0, 256));
    const unwrap = createDecipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('A65959A6', 'hex'));
    expect(new Uint8Array(Buffer.concat([unwrap.update(kwp.subarray(256)), unwrap.final()]))).toEqual(mats[1]);

    await run(['cleanup'], env);
    await expect(stat(WORK)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('the wrong custodian gets age\'s "no identity matched" and nothing is written', async () => {
    const escrow = await sealTo('plain-one', { recipients: [{ recipient: identities[0]!.recipient }] });
    const WORK = await mkdtemp(join(root, 'work-'));
    await expect(run(['open-plain'], { ESCROW: escrow, IDENTITY: identities[1]!.path, WORK })).rejects.toThrow(/no identity matched/);
    expect(await readdir(WORK)).toEqual([]);
  });

  test.each(['py', 'js'])('a 2-of-3 escrow by hand: two custodians open their shares, combine (%s), verify, open', async (lang) => {
    const escrow = await sealTo(`threshold-${lang}`, { recipients: identities.map((i) => ({ recipient: i.recipient })), threshold: 2 });
    const WORK = await mkdtemp(join(root, 'work-'));
    for (const i of [1, 3]) await run(['custodian-share'], { ESCROW: escrow, IDENTITY: identities[i - 1]!.path, I: String(i), WORK });
    const { stdout } = await run([`combine-${lang}`, 'check-payload-identity', 'open-threshold', 'extract-jq'], { ESCROW: escrow, N: '2', WORK });
    expect(stdout).toContain('payload identity verified');
    expect(new Uint8Array(await readFile(join(WORK, 'material.bin')))).toEqual(mats[1]);
  });

  test.each(['py', 'js'])('one share is not enough by hand either (%s)', async (lang) => {
    const escrow = await sealTo(`threshold-one-${lang}`, { recipients: identities.map((i) => ({ recipient: i.recipient })), threshold: 2 });
    const WORK = await mkdtemp(join(root, 'work-'));
    await run(['custodian-share'], { ESCROW: escrow, IDENTITY: identities[1]!.path, I: '2', WORK });
    await expect(run([`combine-${lang}`], { ESCROW: escrow, WORK })).rejects.toThrow(/2 shares are needed, 1 given/);
  });

  test('an XOR escrow by hand: every custodian opens a component, XOR gives the material', async () => {
    const escrow = await sealTo('xor', { recipients: identities.map((i) => ({ recipient: i.recipient })), split: 'xor' });
    const WORK = await mkdtemp(join(root, 'work-'));
    for (const i of [1, 2, 3]) await run(['custodian-component'], { ESCROW: escrow, IDENTITY: identities[i - 1]!.path, I: String(i), WORK });
    await run(['xor-combine-py'], { ESCROW: escrow, N: '1', WORK });
    expect(new Uint8Array(await readFile(join(WORK, 'material.bin')))).toEqual(mats[0]);
  });

  test('the golden escrows open with stock age as documented (plain and 2-of-3)', async () => {
    const golden = (dir: string, v = 1) => join(GOLDEN_DIR, dir, `${KEY_ID}.v${v}.age`);
    const id = (n: string) => join(GOLDEN_DIR, 'identities', `${n}.key`);
    let WORK = await mkdtemp(join(root, 'work-'));
    await run(['open-plain', 'extract-jq'], { ESCROW: golden('x25519', 2), IDENTITY: id('alice'), N: '2', WORK });
    expect(new Uint8Array(await readFile(join(WORK, 'material.bin')))).toEqual(knownMaterial(2));
    WORK = await mkdtemp(join(root, 'work-'));
    for (const [i, n] of [[2, 'bob'], [3, 'carol']] as const) await run(['custodian-share'], { ESCROW: golden('shares-2-of-3'), IDENTITY: id(n), I: String(i), WORK });
    const { stdout } = await run(['combine-py', 'check-payload-identity', 'open-threshold', 'extract-jq'], { ESCROW: golden('shares-2-of-3'), N: '1', WORK });
    expect(stdout).toContain('payload identity verified');
    expect(new Uint8Array(await readFile(join(WORK, 'material.bin')))).toEqual(knownMaterial(1));
  });
});
