/**
 * Bad material input: material files of the wrong length, curve or modulus, unparseable or
 * encrypted — refused before any KMS request; and a malformed wrapping public key from KMS — refused
 * before anything is wrapped or imported.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { startRewritingProxy } from './rewriting-proxy.js';

let ws: Workspace;
let recipient: string;
beforeAll(async () => {
  ws = await workspace();
  recipient = (await custodian(ws.path('alice.txt'))).recipient;
  writeFileSync(ws.path('short.bin'), randomBytes(16), { mode: 0o600 });
  writeFileSync(ws.path('aes.hex'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  writeFileSync(ws.path('garbage.txt'), 'this is not key material at all, it is a sentence\n', { mode: 0o600 });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
  writeFileSync(ws.path('p384.pem'), p384.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  writeFileSync(ws.path('rsa2048.der'), rsa2048.export({ type: 'pkcs8', format: 'der' }), { mode: 0o600 });
  writeFileSync(ws.path('rsa2048-pkcs1.pem'), rsa2048.export({ type: 'pkcs1', format: 'pem' }) as string, { mode: 0o600 });
  execFileSync('openssl', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-passout', 'pass:x', '-in', ws.path('p384.pem'), '-out', ws.path('p384-encrypted.pem')]);
});
afterAll(async () => ws?.close());

const onboard = (spec: string, file: string, target = ws.target) =>
  run(['onboard', ...target, '--yes', '--no-expiry', '--recipient', recipient, '--escrow-dir', ws.path('escrow'), '--key-spec', spec, '--material-file', ws.path(file)]);

describe('--material-file refuses unusable material before any KMS request', () => {
  const cases: [string, string, RegExp][] = [
    ['SYMMETRIC_DEFAULT', 'short.bin', /16 bytes|length|32 bytes/],
    ['SYMMETRIC_DEFAULT', 'garbage.txt', /./],
    ['ECC_NIST_P256', 'p384.pem', /curve|P-384|P-256/],
    ['RSA_3072', 'rsa2048.der', /2048|modulus/],
    ['ECC_NIST_P384', 'p384-encrypted.pem', /encrypted/],
    ['RSA_2048', 'rsa2048-pkcs1.pem', /PKCS#1|pkcs8|PKCS#8/],
    ['SYMMETRIC_DEFAULT', 'missing.bin', /cannot read --material-file/],
  ];
  for (const [spec, file, message] of cases) {
    it(`${spec} from ${file}`, async () => {
      const before = operations(ws.emu).length;
      const r = await onboard(spec, file);
      expect(r.code, r.stderr).toBeGreaterThan(0);
      expect(r.stderr).toMatch(/kms-byok: error: /);
      expect(r.stderr.split('\n').find((l) => l.startsWith('kms-byok: error: '))).toMatch(message);
      expect(r.stderr).toMatch(/kms-byok: hint: /);
      expect(r.stderr).toMatch(/kms-byok: code: ERR_(MATERIAL|FILE_READ)/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(operations(ws.emu).length).toBe(before);
    });
  }

  it('accepts hex material for a symmetric key', async () => {
    const r = await onboard('SYMMETRIC_DEFAULT', 'aes.hex');
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('a malformed wrapping public key from KMS is refused before anything is imported', () => {
  let proxy: Awaited<ReturnType<typeof startRewritingProxy>>;
  let endpoint: string;
  let replacement: Buffer;
  beforeAll(async () => {
    // Forwards to the emulator, but swaps GetParametersForImport's PublicKey (what no emulator sends).
    proxy = await startRewritingProxy(
      () => ws.emu.endpoint,
      (operation, body) => (operation === 'GetParametersForImport' ? { ...body, PublicKey: replacement.toString('base64') } : undefined),
    );
    endpoint = proxy.endpoint;
  });
  afterAll(() => proxy?.close());

  const bad: [string, () => Buffer][] = [
    ['an EC public key', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' })],
    ['an RSA-2048 key when RSA_4096 was asked for', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' })],
    ['bytes that are not DER', () => randomBytes(300)],
  ];
  for (const [name, make] of bad) {
    it(name, async () => {
      replacement = make();
      const before = operations(ws.emu).length;
      const r = await run(['onboard', '--endpoint-url', endpoint, '--region', 'us-east-1', '--yes', '--no-expiry', '--recipient', recipient, '--escrow-dir', ws.path('escrow-proxy')]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('kms-byok: code: ERR_KMS_BAD_RESPONSE');
      expect(r.stderr).toMatch(/kms-byok: hint: .*exists in PendingImport with no material; nothing was wrapped or imported/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const after = operations(ws.emu).slice(before);
      expect(after).toContain('GetParametersForImport');
      expect(after).not.toContain('ImportKeyMaterial');
    });
  }
});
