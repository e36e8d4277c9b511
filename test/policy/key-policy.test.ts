/**
 * Key and identity policies: every generated document parses as JSON, each principal gets exactly its
 * actions (table-driven per key spec), the MFA Deny and the conditions have AWS's value formats, and a
 * policy that could lock the account out is refused.
 */
import { describe, expect, it } from 'vitest';
import { KmsByokError } from '../../src/core/errors.js';
import {
  actionsByPrincipal,
  buildIdentityPolicy,
  buildKeyPolicy,
  epochSeconds,
  importDenials,
  ROOT_SID,
  type KeyPolicyOptions,
  type PolicyDocument,
  type PolicyStatement,
} from '../../src/policy/key-policy.js';
import type { KeySpec, KeyUsage } from '../../src/core/aws-names.js';

const ACCOUNT = '111122223333';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const CUSTODIAN = `arn:aws:iam::${ACCOUNT}:role/KeyCustodian`;
const CUSTODIAN_2 = `arn:aws:iam::${ACCOUNT}:user/alice`;
const REIMPORT = `arn:aws:iam::${ACCOUNT}:role/KmsByokReimport`;
const USER = `arn:aws:iam::${ACCOUNT}:role/PaymentsApp`;
const AUDITOR = `arn:aws:iam::${ACCOUNT}:role/SecurityAudit`;
const BOUND = new Date('2027-06-30T00:00:00Z');

function options(extra: Partial<KeyPolicyOptions> = {}): KeyPolicyOptions {
  return {
    account: ACCOUNT,
    custodians: [CUSTODIAN, CUSTODIAN_2],
    reimportRoles: [REIMPORT],
    keyUsers: [USER],
    auditors: [AUDITOR],
    validToMax: BOUND,
    ...extra,
  };
}

/** Round trip through JSON text, as the CLI prints it and AWS reads it. */
function parsed(doc: PolicyDocument): PolicyDocument {
  const text = JSON.stringify(doc);
  return JSON.parse(text) as PolicyDocument;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();
const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);
const statement = (doc: PolicyDocument, sid: string): PolicyStatement => {
  const s = doc.Statement.find((t) => t.Sid === sid);
  expect(s, `statement ${sid}`).toBeDefined();
  return s!;
};

const IMPORT = ['kms:GetParametersForImport', 'kms:ImportKeyMaterial'];
/** Both import roles read and write the tags that anchor escrow fingerprints. */
const ANCHOR = ['kms:TagResource', 'kms:ListResourceTags'];
const AUDIT = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListGrants', 'kms:ListKeyRotations', 'kms:ListResourceTags'];

const TABLE: { keySpec: KeySpec; keyUsage?: KeyUsage; prove: string[]; custodianExtra: string[]; user: string[] }[] = [
  {
    keySpec: 'SYMMETRIC_DEFAULT',
    prove: ['kms:Encrypt', 'kms:Decrypt'],
    custodianExtra: ['kms:RotateKeyOnDemand'],
    user: ['kms:DescribeKey', 'kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
  },
  { keySpec: 'HMAC_256', prove: ['kms:GenerateMac'], custodianExtra: [], user: ['kms:DescribeKey', 'kms:GenerateMac', 'kms:VerifyMac'] },
  { keySpec: 'RSA_3072', prove: ['kms:GetPublicKey', 'kms:Sign'], custodianExtra: [], user: ['kms:DescribeKey', 'kms:Sign', 'kms:Verify', 'kms:GetPublicKey'] },
  {
    keySpec: 'RSA_4096',
    keyUsage: 'ENCRYPT_DECRYPT',
    prove: ['kms:GetPublicKey'],
    custodianExtra: [],
    user: ['kms:DescribeKey', 'kms:Encrypt', 'kms:Decrypt', 'kms:GetPublicKey'],
  },
  { keySpec: 'ECC_NIST_P256', prove: ['kms:GetPublicKey', 'kms:Sign'], custodianExtra: [], user: ['kms:DescribeKey', 'kms:Sign', 'kms:Verify', 'kms:GetPublicKey'] },
];

describe('buildKeyPolicy: each principal gets exactly its actions', () => {
  for (const row of TABLE) {
    it(`${row.keySpec}${row.keyUsage ? ` ${row.keyUsage}` : ''}`, () => {
      const doc = parsed(buildKeyPolicy(options({ keySpec: row.keySpec, ...(row.keyUsage ? { keyUsage: row.keyUsage } : {}) })));
      const got = actionsByPrincipal(doc);
      const custodian = [...IMPORT, ...ANCHOR, 'kms:DescribeKey', 'kms:ListKeyRotations', 'kms:CreateAlias', 'kms:UpdateAlias', ...row.custodianExtra, ...row.prove, 'kms:DeleteImportedKeyMaterial'];
      const expected: Record<string, string[]> = {
        [ROOT]: ['kms:*'],
        [CUSTODIAN]: custodian,
        [CUSTODIAN_2]: custodian,
        [REIMPORT]: [...IMPORT, ...ANCHOR, 'kms:DescribeKey', 'kms:ListKeyRotations', ...row.prove],
        [USER]: row.user,
        [AUDITOR]: AUDIT,
      };
      expect(sorted(got.keys())).toEqual(sorted(Object.keys(expected)));
      for (const [principal, actions] of Object.entries(expected)) {
        expect(sorted(got.get(principal)!), principal).toEqual(sorted(new Set(actions)));
      }
    });
  }

  it('the scheduled role can neither delete material, schedule deletion, change the policy nor alias', () => {
    const got = actionsByPrincipal(buildKeyPolicy(options()));
    for (const a of ['kms:DeleteImportedKeyMaterial', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy', 'kms:CreateAlias', 'kms:UpdateAlias', 'kms:RotateKeyOnDemand']) {
      expect(got.get(REIMPORT)!.has(a), a).toBe(false);
    }
    expect(got.get(USER)!.has('kms:ImportKeyMaterial')).toBe(false);
    expect(got.get(AUDITOR)!.has('kms:Decrypt')).toBe(false);
  });

  it('the renewal-seal scheduler is import-only: import, read, anchors read and proof; never TagResource', () => {
    const SCHEDULER = `arn:aws:iam::${ACCOUNT}:role/KmsByokScheduler`;
    const doc = buildKeyPolicy(options({ schedulerRoles: [SCHEDULER] }));
    const got = sorted(actionsByPrincipal(doc).get(SCHEDULER)!);
    expect(got).toEqual(expect.arrayContaining(['kms:DescribeKey', 'kms:GetParametersForImport', 'kms:ImportKeyMaterial', 'kms:ListKeyRotations', 'kms:ListResourceTags']));
    for (const a of ['kms:TagResource', 'kms:UntagResource', 'kms:DeleteImportedKeyMaterial', 'kms:CreateAlias', 'kms:RotateKeyOnDemand', 'kms:PutKeyPolicy']) expect(got, a).not.toContain(a);
    // The import calls carry the same conditions as the custodians'.
    const imp = doc.Statement.find((x) => x.Sid === 'SchedulerImportKeyMaterial')!;
    expect(JSON.stringify(imp.Condition)).toContain('kms:ValidTo');
    const identity = buildIdentityPolicy({ account: ACCOUNT, role: 'scheduler', validToMax: BOUND });
    expect(identity.Statement.flatMap((x) => (Array.isArray(x.Action) ? x.Action : [x.Action]))).not.toContain('kms:TagResource');
    // One principal, one duty.
    expect(() => buildKeyPolicy(options({ schedulerRoles: [REIMPORT] }))).toThrow(KmsByokError);
  });

  it('stays well under the 32 KiB key policy limit with many principals', () => {
    const many = (kind: string, n: number) => Array.from({ length: n }, (_, i) => `arn:aws:iam::${ACCOUNT}:role/${kind}-${i}`);
    const doc = buildKeyPolicy(options({ custodians: many('Custodian', 10), reimportRoles: many('Reimport', 5), keyUsers: many('App', 40), auditors: many('Audit', 10) }));
    expect(JSON.stringify(doc, null, 2).length).toBeLessThan(32_768);
  });

  it('omits the statements of duties nobody holds', () => {
    const doc = buildKeyPolicy({ account: ACCOUNT, custodians: [CUSTODIAN], validToMax: BOUND });
    expect(doc.Statement.map((s) => s.Sid)).toEqual([
      ROOT_SID,
      'CustodiansGetParametersForImport',
      'CustodiansImportKeyMaterial',
      'CustodiansDescribeAliasRotate',
      'CustodiansEscrowAnchorTags',
      'CustodiansProveKey',
      'CustodiansRevokeWithMFA',
      'DenyKeyMaterialDeletionKeyDeletionAndPolicyChangesWithoutMFA',
    ]);
  });
});

describe('buildKeyPolicy: statements and condition formats', () => {
  const doc = parsed(buildKeyPolicy(options()));

  it('keeps AWS default root statement verbatim', () => {
    expect(doc.Version).toBe('2012-10-17');
    expect(doc.Statement[0]).toEqual({ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' });
  });

  it('denies DeleteImportedKeyMaterial, ScheduleKeyDeletion and PutKeyPolicy to everyone without MFA (BoolIfExists)', () => {
    const deny = doc.Statement.filter((s) => s.Effect === 'Deny');
    expect(deny).toHaveLength(1);
    expect(deny[0]).toEqual({
      Sid: 'DenyKeyMaterialDeletionKeyDeletionAndPolicyChangesWithoutMFA',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['kms:DeleteImportedKeyMaterial', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy'],
      Resource: '*',
      Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
    });
    expect(statement(doc, 'CustodiansRevokeWithMFA').Condition).toEqual({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } });
    expect(statement(doc, 'CustodiansEscrowAnchorTags')).toMatchObject({ Action: ANCHOR, Resource: '*', Principal: { AWS: [CUSTODIAN, CUSTODIAN_2] } });
    expect(statement(doc, 'CustodiansEscrowAnchorTags').Condition).toBeUndefined();
  });

  it('constrains GetParametersForImport with kms:WrappingAlgorithm and kms:WrappingKeySpec (strings, AWS names)', () => {
    for (const sid of ['CustodiansGetParametersForImport', 'ScheduledReimportGetParametersForImport']) {
      const s = statement(doc, sid);
      expect(s.Action).toBe('kms:GetParametersForImport');
      expect(s.Condition).toEqual({ StringEquals: { 'kms:WrappingAlgorithm': ['RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_256'], 'kms:WrappingKeySpec': 'RSA_4096' } });
    }
  });

  it('constrains ImportKeyMaterial with kms:ExpirationModel and kms:ValidTo as Unix seconds (NumericLessThanEquals)', () => {
    for (const sid of ['CustodiansImportKeyMaterial', 'ScheduledReimportImportKeyMaterial']) {
      const s = statement(doc, sid);
      expect(s.Action).toBe('kms:ImportKeyMaterial');
      expect(s.Condition).toEqual({
        StringEquals: { 'kms:ExpirationModel': 'KEY_MATERIAL_EXPIRES' },
        NumericLessThanEquals: { 'kms:ValidTo': '1814313600' },
      });
      const v = (s.Condition!.NumericLessThanEquals!['kms:ValidTo'] as string);
      expect(v).toMatch(/^\d{10}$/);
      expect(new Date(Number(v) * 1000).toISOString()).toBe('2027-06-30T00:00:00.000Z');
    }
    expect(epochSeconds(new Date('2027-06-30T00:00:00.999Z'))).toBe('1814313600');
  });

  it('each condition key sits only on the call that carries it', () => {
    for (const s of doc.Statement) {
      const keys = Object.values(s.Condition ?? {}).flatMap((kv) => Object.keys(kv));
      const actions = list(s.Action);
      if (keys.some((k) => k.startsWith('kms:Wrapping'))) expect(actions).toEqual(['kms:GetParametersForImport']);
      if (keys.includes('kms:ValidTo') || keys.includes('kms:ExpirationModel')) expect(actions).toEqual(['kms:ImportKeyMaterial']);
      if (keys.includes('kms:EncryptionContextKeys')) expect(sorted(actions)).toEqual(['kms:Decrypt', 'kms:Encrypt']);
    }
  });

  it('lets the proof Encrypt/Decrypt only without an encryption context (Null kms:EncryptionContextKeys)', () => {
    for (const sid of ['CustodiansProveKey', 'ScheduledReimportProveKey']) {
      expect(statement(doc, sid).Condition).toEqual({ Null: { 'kms:EncryptionContextKeys': 'true' } });
    }
    expect(statement(doc, 'KeyUsers').Condition).toBeUndefined();
  });

  it('every statement has a unique Sid, an Effect, a principal, actions and Resource "*"', () => {
    expect(new Set(doc.Statement.map((s) => s.Sid)).size).toBe(doc.Statement.length);
    for (const s of doc.Statement) {
      expect(['Allow', 'Deny']).toContain(s.Effect);
      expect(s.Principal?.AWS).toBeDefined();
      expect(list(s.Action).every((a) => /^kms:[A-Za-z*]+$/.test(a))).toBe(true);
      expect(s.Resource).toBe('*');
    }
  });

  it('honours the organisation\'s wrapping and expiry choices', () => {
    const d = buildKeyPolicy(options({ wrappingAlgorithms: ['RSA_AES_KEY_WRAP_SHA_256'], wrappingKeySpecs: ['RSA_3072', 'RSA_4096'], expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', validToMax: undefined }));
    expect(statement(d, 'CustodiansGetParametersForImport').Condition).toEqual({
      StringEquals: { 'kms:WrappingAlgorithm': 'RSA_AES_KEY_WRAP_SHA_256', 'kms:WrappingKeySpec': ['RSA_3072', 'RSA_4096'] },
    });
    expect(statement(d, 'CustodiansImportKeyMaterial').Condition).toEqual({ StringEquals: { 'kms:ExpirationModel': 'KEY_MATERIAL_DOES_NOT_EXPIRE' } });
  });
});

describe('buildKeyPolicy: refusals', () => {
  const refused = (o: KeyPolicyOptions): KmsByokError => {
    try {
      buildKeyPolicy(o);
    } catch (e) {
      expect(e).toBeInstanceOf(KmsByokError);
      return e as KmsByokError;
    }
    throw new Error('expected a refusal');
  };

  it('refuses a policy without the account root, naming the lockout rule (exit 2)', () => {
    const e = refused(options({ includeRoot: false }));
    expect(e.code).toBe('ERR_POLICY_LOCKOUT');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('lock the account out');
    expect(e.hint).toContain('lockout safety check');
  });

  it('refuses one principal in two duties', () => {
    const e = refused(options({ reimportRoles: [CUSTODIAN] }));
    expect(e.code).toBe('ERR_POLICY_SEPARATION');
    expect(e.exitCode).toBe(2);
    expect(refused(options({ keyUsers: [AUDITOR] })).code).toBe('ERR_POLICY_SEPARATION');
  });

  it('refuses bad ARNs, a root principal, no custodian, a bad account and a missing ValidTo bound', () => {
    expect(refused(options({ custodians: ['KeyCustodian'] })).message).toContain('not an IAM role or user ARN');
    expect(refused(options({ auditors: [ROOT] })).message).toContain('account root');
    expect(refused(options({ custodians: [] })).code).toBe('ERR_MISSING_INPUT');
    expect(refused(options({ account: '1234' })).code).toBe('ERR_INVALID_ARGUMENT');
    expect(refused(options({ validToMax: undefined })).code).toBe('ERR_MISSING_INPUT');
    expect(refused(options({ wrappingAlgorithms: ['RSAES_PKCS1_V1_5' as never] })).message).toContain('wrapping algorithm');
    expect(refused(options({ custodians: ['arn:aws-cn:iam::111122223333:role/X'] })).message).toContain('partition');
  });
});

describe('buildIdentityPolicy', () => {
  const KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

  it('reimport: the import calls (same conditions), the reads and the proof, on the given keys only', () => {
    const doc = parsed(buildIdentityPolicy({ role: 'reimport', account: ACCOUNT, validToMax: BOUND, keyArns: [KEY] }));
    const actions = sorted(doc.Statement.flatMap((s) => list(s.Action)));
    expect(actions).toEqual(sorted([...IMPORT, ...ANCHOR, 'kms:DescribeKey', 'kms:ListKeyRotations', 'kms:Encrypt', 'kms:Decrypt']));
    for (const s of doc.Statement) {
      expect(s.Effect).toBe('Allow');
      expect(s.Principal).toBeUndefined();
      expect(s.Resource).toBe(KEY);
      expect(s.Sid).toMatch(/^[A-Za-z0-9]+$/);
    }
    expect(statement(doc, 'ReimportImportKeyMaterial').Condition!.NumericLessThanEquals).toEqual({ 'kms:ValidTo': '1814313600' });
  });

  it('custodian: CreateKey only for EXTERNAL keys without bypassing the lockout check, aliases, lists, and the key statements', () => {
    const doc = parsed(buildIdentityPolicy({ role: 'custodian', account: ACCOUNT, validToMax: BOUND, region: 'eu-west-1' }));
    expect(statement(doc, 'CreateExternalKeysOnly')).toEqual({
      Sid: 'CreateExternalKeysOnly',
      Effect: 'Allow',
      Action: 'kms:CreateKey',
      Resource: '*',
      Condition: { StringEquals: { 'kms:KeyOrigin': 'EXTERNAL' }, Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'false' } },
    });
    expect(statement(doc, 'ManageAliases').Resource).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:alias/*`);
    expect(statement(doc, 'CustodiansImportKeyMaterial').Resource).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/*`);
    const all = new Set(doc.Statement.flatMap((s) => list(s.Action)));
    for (const forbidden of ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:*']) expect(all.has(forbidden), forbidden).toBe(false);
    expect(statement(doc, 'CustodiansRevokeWithMFA').Condition).toEqual({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } });
    expect(statement(doc, 'CustodiansEscrowAnchorTags')).toMatchObject({ Action: ANCHOR, Resource: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/*` });
    expect(statement(doc, 'CustodiansEscrowAnchorTags').Condition).toBeUndefined();
  });

  it('refuses a key ARN of another account and a bad region', () => {
    expect(() => buildIdentityPolicy({ role: 'reimport', account: ACCOUNT, validToMax: BOUND, keyArns: [KEY.replace(ACCOUNT, '999988887777')] })).toThrow(/not in account/);
    expect(() => buildIdentityPolicy({ role: 'reimport', account: ACCOUNT, validToMax: BOUND, keyArns: ['alias/payments'] })).toThrow(/not a KMS key ARN/);
    expect(() => buildIdentityPolicy({ role: 'reimport', account: ACCOUNT, validToMax: BOUND, region: 'mars' })).toThrow(/not an AWS Region/);
  });
});

describe('importDenials: the pre-flight for onboard --apply-policy', () => {
  const doc = buildKeyPolicy(options());
  const ok = { wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKeySpec: 'RSA_4096', expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: new Date('2027-01-01T00:00:00Z') } as const;

  it('passes choices the policy allows', () => {
    expect(importDenials(doc, ok)).toEqual([]);
    expect(importDenials(doc, { ...ok, validTo: BOUND })).toEqual([]);
  });

  it('names each condition the choices would fail', () => {
    expect(importDenials(doc, { ...ok, wrappingAlgorithm: 'RSAES_OAEP_SHA_1' })).toEqual(['kms:WrappingAlgorithm RSAES_OAEP_SHA_1 is not allowed (RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_256)']);
    expect(importDenials(doc, { ...ok, wrappingKeySpec: 'RSA_2048' })).toEqual(['kms:WrappingKeySpec RSA_2048 is not allowed (RSA_4096)']);
    expect(importDenials(doc, { ...ok, validTo: new Date(BOUND.getTime() + 1000) })).toEqual([
      "kms:ValidTo 2027-06-30T00:00:01.000Z is after the policy's bound 2027-06-30T00:00:00.000Z",
    ]);
    expect(importDenials(doc, { ...ok, expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', validTo: undefined })).toEqual([
      'kms:ExpirationModel KEY_MATERIAL_DOES_NOT_EXPIRE is not allowed (KEY_MATERIAL_EXPIRES)',
      'kms:ValidTo is required (the policy bounds it), but the import has none',
    ]);
    expect(importDenials(doc, { ...ok, wrappingKeySpec: 'RSA_2048' }, 'ScheduledReimport')).toHaveLength(1);
  });
});
