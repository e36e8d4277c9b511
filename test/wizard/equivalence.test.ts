/**
 * The wizard builds the SAME OnboardOptions the flags build: runOnboard is replaced by a recorder,
 * the wizard runs with a scripted prompter, the flags run through main(), and the two options
 * objects are compared field by field (the passphrase by its bytes).
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OnboardOptions } from '../../src/ceremony/onboard.js';
import { run, workspace, type Workspace } from '../e2e/harness.js';
import { runScripted } from './helpers.js';

const seen: OnboardOptions[] = [];
vi.mock('../../src/ceremony/onboard.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/ceremony/onboard.js')>();
  return {
    ...original,
    runOnboard: async (options: OnboardOptions) => {
      seen.push({ ...options, sealing: { ...options.sealing, ...(options.sealing.passphrase ? { passphrase: options.sealing.passphrase.use((b) => Buffer.from(b).toString()) as never } : {}) } });
      throw new Error('recorded');
    },
  };
});

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace();
  writeFileSync(ws.path('pass.txt'), 'correct horse battery staple\n', { mode: 0o600 });
});
afterAll(async () => ws?.close());

describe('wizard ≡ flags', () => {
  it('an ECC key with a chosen usage, wrapping, date expiry and passphrase: identical OnboardOptions', async () => {
    const w = await runScripted(ws.target, [
      ['flow', 'onboard'],
      ['keySpec', 'ECC_NIST_P384'],
      ['keyUsage', 'SIGN_VERIFY'],
      ['wrapping', 'RSA_AES_KEY_WRAP_SHA_256/RSA_3072'],
      ['alias', 'alias/eq'],
      ['description', 'signing key'],
      ['expiry', 'at'],
      ['validTo', '2027-06-30T00:00:00Z'],
      ['material', 'generate'],
      ['sealing', 'passphrase-file'],
      ['passphraseFile', 'pass.txt'],
      ['escrowDir', 'escrow'],
      ['confirm', true],
    ], { cwd: ws.dir });
    expect(w.stderr).toContain('recorded');
    const f = await run(['onboard', '--yes', ...ws.target, '--key-spec', 'ECC_NIST_P384', '--key-usage', 'SIGN_VERIFY', '--wrapping-algorithm', 'RSA_AES_KEY_WRAP_SHA_256',
      '--wrapping-key-spec', 'RSA_3072', '--alias', 'alias/eq', '--description', 'signing key', '--valid-to', '2027-06-30T00:00:00Z',
      '--passphrase-file', 'pass.txt', '--escrow-dir', 'escrow'], { cwd: ws.dir });
    expect(f.stderr).toContain('recorded');
    expect(seen).toHaveLength(2);
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]).toMatchObject({ keySpec: 'ECC_NIST_P384', keyUsage: 'SIGN_VERIFY', alias: 'alias/eq', wrapping: { WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_3072' } });
  });
});
