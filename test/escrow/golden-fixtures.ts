/**
 * Writes the golden escrow fixtures in fixtures/escrow/ (run once, deliberately:
 * `KMS_BYOK_WRITE_GOLDEN=1 npx vitest run test/escrow/golden.test.ts`). Refuses to overwrite: the
 * fixtures are a promise that format v1 keeps opening; a change to them is a format change.
 * Every identity and passphrase written here is TEST ONLY and public.
 */
import { chmodSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as age from 'age-encryption';
import { assertEscrowDirWritable, writeSealedEscrow, updateSidecar } from '../../src/escrow/file-store.js';
import { recordImport, sealEscrow, type EscrowSealing } from '../../src/escrow/vault.js';
import { KEY_ID, contents, knownMaterial, material, secretText, testDeps } from './helpers.js';

export const GOLDEN_DIR = new URL('../../fixtures/escrow/', import.meta.url).pathname;

/**
 * The fixtures' secret files come out of git as 0644 (git keeps no other modes) and kms-byok refuses
 * secret files others can read (ERR_INSECURE_FILE): make them 0600, as their owner would.
 */
for (const f of ['identities/alice.key', 'identities/bob.key', 'identities/carol.key', 'identities/dave-pq.key', 'passphrase.txt']) {
  try {
    chmodSync(join(GOLDEN_DIR, f), 0o600);
  } catch {
    /* a fixture that does not exist yet is made by the generator below, 0600 */
  }
}
export const GOLDEN_PASSPHRASE = 'test-only-golden-passphrase-never-use-for-real-material';
/** KeyMaterialId recorded for golden material 1 (made up, 64 hex). */
export const GOLDEN_KEY_MATERIAL_ID = 'a1'.repeat(32);

async function identityFile(path: string, kind: 'x25519' | 'pq'): Promise<string> {
  const identity = kind === 'pq' ? await age.generateHybridIdentity() : await age.generateX25519Identity();
  const recipient = await age.identityToRecipient(identity);
  await writeFile(
    path,
    `# TEST ONLY: this identity is published in the kms-byok repository. Never seal real key material to it.\n# created: 2026-01-02T03:04:05Z\n# public key: ${recipient}\n${identity}\n`,
    { flag: 'wx', mode: 0o600 },
  );
  return recipient;
}

export async function writeGoldenFixtures(): Promise<void> {
  try {
    await stat(join(GOLDEN_DIR, 'identities'));
    throw new Error('fixtures/escrow/identities exists: golden fixtures are never regenerated in place');
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
  }
  await mkdir(join(GOLDEN_DIR, 'identities'), { recursive: true });
  const alice = await identityFile(join(GOLDEN_DIR, 'identities', 'alice.key'), 'x25519');
  const bob = await identityFile(join(GOLDEN_DIR, 'identities', 'bob.key'), 'x25519');
  const carol = await identityFile(join(GOLDEN_DIR, 'identities', 'carol.key'), 'x25519');
  const dave = await identityFile(join(GOLDEN_DIR, 'identities', 'dave-pq.key'), 'pq');
  await writeFile(join(GOLDEN_DIR, 'passphrase.txt'), `${GOLDEN_PASSPHRASE}\n`, { flag: 'wx', mode: 0o600 });

  const two = () => [
    material(1, knownMaterial(1), { keyMaterialId: GOLDEN_KEY_MATERIAL_ID, description: 'initial material', createdAt: '2026-01-02T03:04:05Z' }),
    material(2, knownMaterial(2), { description: 'rotated material', createdAt: '2026-02-03T04:05:06Z' }),
  ];
  const one = () => [material(1, knownMaterial(1), { createdAt: '2026-01-02T03:04:05Z' })];
  const cases: { dir: string; version: number; materials: ReturnType<typeof one>; sealing: EscrowSealing }[] = [
    { dir: 'x25519', version: 2, materials: two(), sealing: { recipients: [{ recipient: alice, label: 'alice (test)' }] } },
    { dir: 'passphrase', version: 1, materials: one(), sealing: { recipients: [], passphrase: secretText(GOLDEN_PASSPHRASE) } },
    {
      dir: 'shares-2-of-3',
      version: 1,
      materials: two(),
      sealing: { recipients: [{ recipient: alice, label: 'alice (test)' }, { recipient: bob, label: 'bob (test)' }, { recipient: carol, label: 'carol (test)' }], threshold: 2 },
    },
    { dir: 'xor-2', version: 1, materials: one(), sealing: { recipients: [{ recipient: alice, label: 'alice (test)' }, { recipient: bob, label: 'bob (test)' }], split: 'xor' } },
    { dir: 'pq-hybrid', version: 1, materials: one(), sealing: { recipients: [{ recipient: dave, label: 'dave (test, post-quantum)' }] } },
  ];
  for (const c of cases) {
    const sealed = await sealEscrow(contents(c.materials, c.version), c.sealing, testDeps);
    await assertEscrowDirWritable(join(GOLDEN_DIR, c.dir));
    const written = await writeSealedEscrow(join(GOLDEN_DIR, c.dir), KEY_ID, sealed);
    if (c.dir === 'x25519') {
      await updateSidecar(written.sidecarPath, (s) =>
        recordImport(
          recordImport(s, {
            materialIndex: 1,
            importedAt: '2026-01-02T03:10:00Z',
            region: 'eu-west-1',
            expirationModel: 'KEY_MATERIAL_EXPIRES',
            validTo: '2027-01-01T00:00:00Z',
            keyMaterialId: GOLDEN_KEY_MATERIAL_ID,
            wrappingAlgorithm: 'RSAES_OAEP_SHA_256',
            wrappingKeySpec: 'RSA_4096',
          }),
          { materialIndex: 2, importedAt: '2026-02-03T04:10:00Z', region: 'eu-west-1', expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', keyMaterialId: 'b2'.repeat(32) },
        ),
      );
    }
    for (const m of c.materials) m.material.dispose();
  }
}
