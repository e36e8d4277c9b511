/**
 * Attack class "local inputs": secret files others may read, impossible dates, alias names KMS would
 * refuse only after a key was created, and a private key pasted where a recipient belongs. Each is
 * refused with its code (exit 2) before any KMS request, with nothing created or written, and a
 * private key is never echoed, not even partly.
 */
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { generateX25519Identity } from 'age-encryption';
import { main } from '../../src/cli/main.js';
import { neverCancelled } from '../../src/cli/cancel.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, run, workspace, type RunResult, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { onboardKey } from '../e2e/lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
let key: { keyId: string; keyArn: string; escrow: { path: string } };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  key = await onboardKey(ws, alice.recipient, ['--expires-in', '30d', '--alias', 'alias/local-security']);
});
afterAll(async () => ws?.close());

function disk(): string[] {
  return (readdirSync(ws.dir, { recursive: true }) as string[])
    .map((f) => join(ws.dir, f))
    .map((p) => `${relative(ws.dir, p)}${statSync(p).isDirectory() ? '/' : ` ${statSync(p).size} ${statSync(p).mtimeMs}`}`)
    .sort();
}

/** Runs argv; asserts exit 2 with `code`, no KMS request and an unchanged workspace. */
async function refused(argv: string[], code: string): Promise<RunResult> {
  const files = disk();
  const before = operations(ws.emu).length;
  const r = await run(argv, { cwd: ws.dir });
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain(`kms-byok: code: ${code}`);
  expect(operations(ws.emu).slice(before)).toEqual([]);
  expect(disk()).toEqual(files);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  return r;
}

const onboard = (...extra: string[]) => ['onboard', ...ws.target, '--yes', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow-new'), ...extra];

describe('secret input files with group/other access', () => {
  it('an identity file of mode 0644: ERR_INSECURE_FILE, hint chmod 600 FILE, nothing reimported', async () => {
    const loose = await custodian(ws.path('alice-loose.txt'));
    writeFileSync(loose.path, `${alice.identity}\n`, { mode: 0o600 });
    chmodSync(loose.path, 0o644);
    const r = await refused(['reimport', key.keyId, ...ws.target, '--identity', loose.path, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d'], 'ERR_INSECURE_FILE');
    expect(r.stderr).toContain(`kms-byok: hint: chmod 600 ${loose.path}`);
    expect(r.stderr).not.toContain(alice.identity.slice(20, 40));
  });

  it('run from the wizard (io.warnInsecureInputs), the same 0644 identity file is warned about with the chmod, and the ceremony runs', async () => {
    const p = ws.path('alice-wizard.txt');
    writeFileSync(p, `${alice.identity}\n`, { mode: 0o600 });
    chmodSync(p, 0o644);
    let stderr = '';
    const code = await main(['reimport', key.keyId, ...ws.target, '--identity', p, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d'], {
      stdout: { write: () => {} },
      stderr: { write: (t) => void (stderr += t) },
      stdin: Readable.from([]),
      env: {},
      cwd: ws.dir,
      interactive: false,
      stderrIsTTY: false,
      cancel: neverCancelled(),
      warnInsecureInputs: true,
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`kms-byok: warning: identity file ${p} is readable or writable by everyone (mode 644): it holds a secret: chmod 600 ${p}`);
  });

  it('a passphrase file of mode 0640: ERR_INSECURE_FILE before anything is created', async () => {
    const p = ws.path('pass-loose.txt');
    writeFileSync(p, 'correct horse battery staple\n', { mode: 0o600 });
    chmodSync(p, 0o640);
    await refused(['onboard', ...ws.target, '--yes', '--expires-in', '30d', '--passphrase-file', p, '--escrow-dir', ws.path('escrow-new')], 'ERR_INSECURE_FILE');
  });
});

describe('dates are real calendar dates', () => {
  it.each(['2027-02-30T00:00:00Z', '2027-02-29', '2026-13-01', '2027-01-31T24:00:00Z'])('--valid-to %s is refused (not rolled over into the next month or day)', async (d) => {
    const r = await refused(onboard('--valid-to', d), 'ERR_INVALID_VALID_TO');
    expect(r.stderr).toContain(`invalid --valid-to "${d}"`);
  });
});

describe('alias names are checked before any KMS request, in every command that takes one', () => {
  it.each([
    ['onboard', () => onboard('--expires-in', '30d', '--alias', 'alias/aws/mine')],
    ['rotate --new-key', () => ['rotate', key.keyId, '--new-key', '--alias', 'alias/has space', ...ws.target, '--yes', '--expires-in', '30d', '--identity', alice.path, '--escrow-dir', ws.path('escrow')]],
    ['restore --new-key', () => ['restore', '--new-key', '--escrow', key.escrow.path, '--alias', 'payments', ...ws.target, '--yes', '--expires-in', '30d', '--identity', alice.path]],
  ])('%s with a bad --alias: ERR_INVALID_ARGUMENT, no key created', async (_name, argv) => {
    const r = await refused(argv(), 'ERR_INVALID_ARGUMENT');
    expect(r.stderr).toMatch(/invalid --alias "/);
  });
});

describe('a private key where a recipient belongs', () => {
  it.each([
    ['X25519', () => generateX25519Identity()],
    ['post-quantum', async () => (await import('age-encryption')).generateHybridIdentity()],
  ])('%s AGE-SECRET-KEY given as --recipient: called a private key, never echoed', async (_kind, make) => {
    const secret = await make();
    const r = await refused(onboard('--expires-in', '30d', '--recipient', secret), 'ERR_INVALID_RECIPIENT');
    expect(r.stderr).toContain('--recipient got an age PRIVATE key: give its public age1… line; keep the private key secret');
    // No part of the key after its well-known prefix appears anywhere.
    const body = secret.replace(/^AGE-SECRET-KEY-(PQ-)?1/, '');
    for (let i = 0; i + 6 <= body.length; i += 3) expect(r.stderr + r.stdout).not.toContain(body.slice(i, i + 6));
  });
});

describe('a bad local file is exit 2 when nothing reached KMS', () => {
  it('a --material-file that is not key material: exit 2 (ERR_MATERIAL), no key created', async () => {
    const p = ws.path('not-material.txt');
    writeFileSync(p, 'this is a sentence, not key material\n', { mode: 0o600 });
    await refused(onboard('--expires-in', '30d', '--material-file', p), 'ERR_MATERIAL');
  });

  it('an identity file that holds no identity: exit 2 (ERR_IDENTITY), nothing reimported', async () => {
    const p = ws.path('not-identity.txt');
    writeFileSync(p, '# nothing here\n', { mode: 0o600 });
    await refused(['reimport', key.keyId, ...ws.target, '--identity', p, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d'], 'ERR_IDENTITY');
  });
});
