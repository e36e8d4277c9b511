/** `kms-byok policy` through main(argv, io): stdout, stderr, exit codes. */
import { describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/policy/key-policy.js';
import { cli } from './run.js';

const A = '111122223333';
const ROLES = [
  '--custodian-role',
  `arn:aws:iam::${A}:role/KeyCustodian`,
  '--reimport-role',
  `arn:aws:iam::${A}:role/KmsByokReimport`,
  '--key-user',
  `arn:aws:iam::${A}:role/PaymentsApp`,
  '--auditor',
  `arn:aws:iam::${A}:role/SecurityAudit`,
];

describe('kms-byok policy', () => {
  it('--json prints exactly one policy document, and notes the ValidTo bound on stderr', async () => {
    const r = await cli(['policy', '--account', A, ...ROLES, '--valid-to-max', '2099-01-01T00:00:00Z', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as PolicyDocument;
    expect(doc.Version).toBe('2012-10-17');
    expect(doc.Statement[0]!.Sid).toBe('Enable IAM User Permissions');
    expect(JSON.stringify(doc)).toContain('"kms:ValidTo":"4070908800"');
    expect(r.stderr).toContain('ValidTo <= 2099-01-01T00:00:00.000Z (kms:ValidTo 4070908800)');
  });

  it('defaults the ValidTo bound to 365 days from now', async () => {
    const before = Math.floor(Date.now() / 1000) + 365 * 86400;
    const r = await cli(['policy', '--account', A, ...ROLES, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = Number(/"kms:ValidTo": "(\d+)"/.exec(r.stdout)![1]);
    expect(v).toBeGreaterThanOrEqual(before);
    expect(v).toBeLessThan(before + 60);
  });

  it('without --json prints a readable summary of every statement', async () => {
    const r = await cli(['policy', '--account', A, ...ROLES, '--max-valid-to-days', '90']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Allow  Enable IAM User Permissions');
    expect(r.stdout).toContain('Deny   DenyKeyMaterialDeletionKeyDeletionAndPolicyChangesWithoutMFA');
    expect(r.stdout).toContain('condition   BoolIfExists aws:MultiFactorAuthPresent = false');
    expect(r.stdout).toContain('condition   StringEquals kms:WrappingAlgorithm = RSAES_OAEP_SHA_256 | RSA_AES_KEY_WRAP_SHA_256');
    expect(r.stderr).toContain('add --json');
  });

  it('refuses --no-root naming the lockout rule (exit 2)', async () => {
    const r = await cli(['policy', '--account', A, ...ROLES, '--no-root', '--json']);
    expect(r.code).toBe(2);
    // --json: no policy document, the error document instead (docs/json.md)
    expect(JSON.parse(r.stdout)).toMatchObject({ schemaVersion: 1, ok: false, error: { code: 'ERR_POLICY_LOCKOUT' } });
    expect(r.stderr).toContain('kms-byok: error: refusing a key policy without the account root statement');
    expect(r.stderr).toContain('lockout safety check');
    expect(r.stderr).toContain('kms-byok: code: ERR_POLICY_LOCKOUT');
  });

  it('--identity reimport prints the scheduled role identity policy', async () => {
    const r = await cli(['policy', '--identity', 'reimport', '--account', A, '--region', 'eu-west-1', '--max-valid-to-days', '120', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as PolicyDocument;
    expect(doc.Statement.map((s) => s.Sid)).toEqual(['ReimportGetParametersForImport', 'ReimportImportKeyMaterial', 'ReimportReadKey', 'ReimportEscrowAnchorTags', 'ReimportProveKey']);
    expect(doc.Statement.every((s) => s.Resource === `arn:aws:kms:eu-west-1:${A}:key/*`)).toBe(true);
  });

  it('--identity custodian prints the custodian identity policy', async () => {
    const r = await cli(['policy', '--identity', 'custodian', '--account', A, '--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('"kms:KeyOrigin": "EXTERNAL"');
    expect(r.stdout).not.toContain('kms:ValidTo');
  });

  const refusals: [string, string[], string][] = [
    ['no --account', [...ROLES], 'missing --account'],
    ['no custodian', ['--account', A], 'missing --custodian-role'],
    ['one role in two duties', ['--account', A, '--custodian-role', `arn:aws:iam::${A}:role/X`, '--auditor', `arn:aws:iam::${A}:role/X`], 'separation of duties'],
    ['a bound with no-expiry', ['--account', A, ...ROLES, '--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE', '--max-valid-to-days', '30'], 'make no sense'],
    ['a bound over 365 days', ['--account', A, ...ROLES, '--max-valid-to-days', '400'], 'invalid --max-valid-to-days'],
    ['a past bound', ['--account', A, ...ROLES, '--valid-to-max', '2020-01-01'], 'in the past'],
    ['principals on an identity policy', ['--identity', 'reimport', '--account', A, ...ROLES], 'is for key policies'],
    ['an unknown identity role', ['--identity', 'admin', '--account', A], 'unknown --identity'],
    ['an unknown flag', ['--account', A, '--admin', 'x'], 'unknown flag'],
  ];
  for (const [title, argv, message] of refusals) {
    it(`refuses ${title} (exit 2)`, async () => {
      const r = await cli(['policy', ...argv]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
    });
  }

  it('is listed in kms-byok --help and has its own --help', async () => {
    const top = await cli(['--help']);
    expect(top.stdout).toMatch(/\n {4}policy {6}/);
    expect(top.stdout).toMatch(/\n {4}schedule {4}/);
    const r = await cli(['policy', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--custodian-role ARN');
  });
});
