/**
 * The library entry as another Node program uses it: the built `dist/index.js` (what `import
 * 'kms-byok'` resolves to) and `kms-byok/emulator`, running the example from its TSDoc — onboard against the embedded
 * emulator, escrow written, then opened and verified with the exported functions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity, identityToRecipient } from 'age-encryption';

const dir = mkdtempSync(join(tmpdir(), 'kms-byok-lib-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('import from the package entry', () => {
  it('runs the documented onboard example and its escrow opens with the exported API', async () => {
    const lib = (await import(new URL('../../dist/index.js', import.meta.url).href)) as typeof import('../../src/index.js');
    const identity = await generateIdentity();
    const recipient = await identityToRecipient(identity);
    // The emulator is its own entry (package.json "exports": "./emulator"), not part of the library's.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, { default: string }> };
    expect(pkg.exports['./emulator']!.default).toBe('./dist/emulator/index.js');
    expect('startEmulator' in lib).toBe(false);
    const { startEmulator } = (await import(new URL(`../../${pkg.exports['./emulator']!.default}`, import.meta.url).href)) as typeof import('../../src/emulator/index.js');
    const emulator = await startEmulator();
    try {
      const kms = await lib.createAwsKms({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' } });
      const { vault } = await lib.openFileVault(join(dir, 'escrow'));
      const steps: string[] = [];
      const result = await lib.runOnboard(
        {
          keySpec: 'SYMMETRIC_DEFAULT',
          keyUsage: 'ENCRYPT_DECRYPT',
          alias: 'alias/embedded',
          wrapping: { WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096' },
          expiry: { ExpirationModel: 'KEY_MATERIAL_EXPIRES', expiresInMs: 90 * 86_400_000 },
          sealing: { recipients: [{ recipient, label: 'alice' }] },
          createdBy: 'ops@example',
        },
        { kms, escrow: vault, now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), progress: (s) => steps.push(s) },
      );
      expect(result.keyState).toBe('Enabled');
      expect(result.checkValue).toMatch(/^cmac-aes:[0-9A-F]{6}$/);
      expect(statSync(result.escrow.path).mode & 0o777).toBe(0o600);
      expect(steps.some((s) => s.startsWith('material sealed in escrow'))).toBe(true);

      const payload = await lib.openEscrow(await lib.readEscrow(result.escrow.path), { identities: [identity] }, { computeCheckValue: lib.checkValue });
      expect(payload.materials[0]!.checkValue).toBe(result.checkValue);
      const key = await kms.describeKey('alias/embedded');
      const verified = await lib.runVerify(kms, key, { payload, sidecar: (await lib.readEscrow(result.escrow.path)).sidecar, path: result.escrow.path }, () => {});
      expect(verified.proof.method).toBe('encrypt-decrypt');
      expect(verified.materials[0]!.confirmedByReimport).toBe(true);
      for (const m of payload.materials) m.material.dispose();

      let caught: unknown;
      try {
        await lib.createAwsKms({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 }).then((k) => k.describeKey('x'));
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(lib.KmsByokError);
      expect((caught as InstanceType<typeof lib.KmsByokError>).code).toBe('ERR_KMS_UNREACHABLE');
    } finally {
      await emulator.close();
    }
  });
});

describe('what import("kms-byok") loads', () => {
  // The air-gapped test's resolve hook records every module resolved and refuses the AWS SDK and kms/aws.
  const HOOK = fileURLToPath(new URL('./airgap-offline-hook.mjs', import.meta.url));
  const LIBRARY = new URL('../../dist/index.js', import.meta.url).href;

  it('loads no AWS SDK, age or emulator: createAwsKms loads the SDK when it is first called', () => {
    const resolved = join(dir, 'library-resolved.txt');
    writeFileSync(resolved, '');
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(HOOK).href, '--input-type=module', '-e', `const m = await import(${JSON.stringify(LIBRARY)}); process.stdout.write(typeof m.createAwsKms + ' ' + typeof m.runOnboard)`], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, KMS_BYOK_TEST_RESOLVED: resolved },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('function function');
    const modules = readFileSync(resolved, 'utf8').split('\n').filter(Boolean);
    expect(modules.some((m) => m.endsWith('/dist/index.js'))).toBe(true);
    expect(modules.filter((m) => /@aws-sdk|@smithy|age-encryption|\/emulator\/|\/kms\/aws\./.test(m))).toEqual([]);
  });
});
