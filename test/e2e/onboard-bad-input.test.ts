/**
 * Every bad input of `onboard` ends with one `kms-byok: error:` line, a hint, a stable code, the
 * right exit code, no stack trace — and nothing created in KMS (the emulator's request log proves it).
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

let ws: Workspace;
let recipient: string;

beforeAll(async () => {
  ws = await workspace();
  recipient = (await custodian(ws.path('alice.txt'))).recipient;
  writeFileSync(ws.path('empty-pass.txt'), '\n', { mode: 0o600 });
  writeFileSync(ws.path('not-a-dir'), 'a regular file');
});
afterAll(async () => ws?.close());

interface Case {
  name: string;
  argv: () => string[];
  exit: number;
  code: string;
  error: RegExp;
  hint: RegExp;
  stdin?: string;
}

const base = () => [...ws.target, '--escrow-dir', ws.path('escrow')];

const CASES: Case[] = [
  {
    name: 'missing --yes when not interactive',
    argv: () => ['onboard', ...base(), '--expires-in', '90d', '--recipient', recipient],
    exit: 2, code: 'ERR_MISSING_INPUT', error: /missing --yes/, hint: /re-run with --yes/,
  },
  {
    name: 'no expiry choice',
    argv: () => ['onboard', ...base(), '--yes', '--recipient', recipient],
    exit: 2, code: 'ERR_MISSING_INPUT', error: /missing --valid-to, --expires-in or --no-expiry/, hint: /--expires-in 90d/,
  },
  {
    name: 'no custodian',
    argv: () => ['onboard', ...base(), '--yes', '--expires-in', '90d'],
    exit: 2, code: 'ERR_MISSING_INPUT', error: /missing --recipient or --passphrase-file/, hint: /--recipient age1/,
  },
  {
    name: 'an --escrow-dir that cannot be written',
    argv: () => ['onboard', ...ws.target, '--escrow-dir', ws.path('not-a-dir/escrow'), '--yes', '--expires-in', '90d', '--recipient', recipient],
    exit: 1, code: 'ERR_ESCROW_DIR_UNWRITABLE', error: /escrow/, hint: /./,
  },
  {
    name: 'an unreachable endpoint',
    argv: () => ['onboard', '--endpoint-url', 'http://127.0.0.1:1', '--region', 'us-east-1', '--escrow-dir', ws.path('escrow'), '--yes', '--expires-in', '90d', '--recipient', recipient],
    exit: 1, code: 'ERR_KMS_UNREACHABLE', error: /cannot reach KMS at http:\/\/127\.0\.0\.1:1/, hint: /endpoint-url/,
  },
  {
    name: 'a --valid-to in the past',
    argv: () => ['onboard', ...base(), '--yes', '--valid-to', '2020-01-01T00:00:00Z', '--recipient', recipient],
    exit: 2, code: 'ERR_INVALID_VALID_TO', error: /--valid-to 2020-01-01T00:00:00.000Z is in the past/, hint: /future/,
  },
  {
    name: 'an unparseable --valid-to',
    argv: () => ['onboard', ...base(), '--yes', '--valid-to', 'next tuesday', '--recipient', recipient],
    exit: 2, code: 'ERR_INVALID_VALID_TO', error: /invalid --valid-to "next tuesday"/, hint: /2027-06-30/,
  },
  {
    name: 'a --valid-to more than 365 days ahead',
    argv: () => ['onboard', ...base(), '--yes', '--valid-to', '2099-01-01', '--recipient', recipient],
    exit: 2, code: 'ERR_INVALID_VALID_TO', error: /more than 365 days ahead/, hint: /365/,
  },
  {
    name: 'a recipient that is not an age recipient',
    argv: () => ['onboard', ...base(), '--yes', '--expires-in', '90d', '--recipient', 'age1notarealrecipient'],
    exit: 2, code: 'ERR_INVALID_RECIPIENT', error: /invalid age recipient/, hint: /age-keygen/,
  },
  {
    name: 'an empty passphrase file',
    argv: () => ['onboard', ...base(), '--yes', '--expires-in', '90d', '--passphrase-file', ws.path('empty-pass.txt')],
    exit: 2, code: 'ERR_EMPTY_PASSPHRASE', error: /is empty/, hint: /passphrase/,
  },
  {
    name: 'an empty passphrase on stdin',
    argv: () => ['onboard', ...base(), '--yes', '--expires-in', '90d', '--passphrase-file', '-'],
    stdin: '',
    exit: 2, code: 'ERR_EMPTY_PASSPHRASE', error: /is empty/, hint: /passphrase/,
  },
  {
    name: 'an unknown flag',
    argv: () => ['onboard', ...base(), '--yes', '--expires-in', '90d', '--recipient', recipient, '--colour'],
    exit: 2, code: 'ERR_USAGE', error: /unknown flag --colour/, hint: /onboard --help/,
  },
  {
    name: 'two expiry choices',
    argv: () => ['onboard', ...base(), '--yes', '--expires-in', '90d', '--no-expiry', '--recipient', recipient],
    exit: 2, code: 'ERR_USAGE', error: /only one of --valid-to, --expires-in and --no-expiry/, hint: /one/,
  },
  {
    name: 'a wrapping combination KMS would refuse',
    argv: () => ['onboard', ...base(), '--yes', '--expires-in', '90d', '--recipient', recipient, '--wrapping-algorithm', 'RSA_AES_KEY_WRAP_SHA_256'],
    exit: 2, code: 'ERR_INVALID_COMBINATION', error: /RSA_AES_KEY_WRAP_SHA_256/, hint: /RSAES_OAEP_SHA_256/,
  },
  {
    name: 'a malformed alias',
    argv: () => ['onboard', ...base(), '--yes', '--expires-in', '90d', '--recipient', recipient, '--alias', 'payments'],
    exit: 2, code: 'ERR_INVALID_ARGUMENT', error: /invalid --alias "payments"/, hint: /alias\/NAME/,
  },
];

describe('onboard refuses bad input cleanly and creates nothing', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const before = operations(ws.emu).length;
      const r = await run(c.argv(), c.stdin === undefined ? {} : { stdin: c.stdin });
      expect(r.code, r.stderr).toBe(c.exit);
      const lines = r.stderr.trimEnd().split('\n');
      const error = lines.find((l) => l.startsWith('kms-byok: error: '));
      const hint = lines.find((l) => l.startsWith('kms-byok: hint: '));
      expect(error, r.stderr).toMatch(c.error);
      expect(hint, r.stderr).toMatch(c.hint);
      expect(lines).toContain(`kms-byok: code: ${c.code}`);
      // lower case start, unless it opens with a name spelled as AWS spells it (RSA_AES_KEY_WRAP_SHA_256)
      expect(error!.slice('kms-byok: error: '.length)).toMatch(/^([a-z-]|[A-Z][A-Z0-9_]+_[A-Z0-9_]+\b)/);
      expect(error).not.toMatch(/\.$/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).toBe('');
      expect(operations(ws.emu).slice(before)).not.toContain('CreateKey');
    });
  }

  it('an alias already in use is refused before any key is created', async () => {
    const first = await run(['onboard', ...base(), '--yes', '--expires-in', '90d', '--recipient', recipient, '--alias', 'alias/taken']);
    expect(first.code, first.stderr).toBe(0);
    const creates = operations(ws.emu).filter((o) => o === 'CreateKey').length;
    const r = await run(['onboard', ...base(), '--yes', '--expires-in', '90d', '--recipient', recipient, '--alias', 'alias/taken']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kms-byok: error: alias alias\/taken already points at key/);
    expect(r.stderr).toContain('kms-byok: code: ERR_KMS_ALREADY_EXISTS');
    expect(operations(ws.emu).filter((o) => o === 'CreateKey').length).toBe(creates);
  });
});
