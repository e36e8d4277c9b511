/**
 * Key policies with separation of duties for an EXTERNAL (imported-material) KMS key, and the matching
 * identity policies for the custodian and scheduled re-import roles. Pure: a function of its options.
 *
 * Facts relied on (AWS KMS Developer Guide, "Default key policy", "AWS KMS condition keys"):
 * - The default statement "Enable IAM User Permissions" gives the account root `kms:*`; it is what keeps
 *   a key manageable (and lets IAM policies grant access). KMS's policy lockout safety check refuses a
 *   policy that would stop the caller from calling PutKeyPolicy again (MalformedPolicyDocumentException)
 *   unless BypassPolicyLockoutSafetyCheck is set; kms-byok never emits a policy without the root
 *   statement.
 * - `kms:WrappingAlgorithm`, `kms:WrappingKeySpec` (String) apply to GetParametersForImport only;
 *   `kms:ExpirationModel` (String) and `kms:ValidTo` (Unix time, numeric operators) to ImportKeyMaterial
 *   only. A condition on a key the request does not carry fails, so each call gets its own statement.
 * - `aws:MultiFactorAuthPresent` is absent from requests signed with long-term credentials, so a Deny
 *   uses `BoolIfExists … "false"` and an Allow uses `Bool … "true"`.
 */
import { KmsByokError } from '../core/errors.js';
import { isKeyId, isRegion, parseKeyArn } from '../core/aws-ids.js';
import {
  KEY_SPECS,
  KEY_USAGES,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  type ExpirationModel,
  type KeySpec,
  type KeyUsage,
  type WrappingAlgorithm,
  type WrappingKeySpec,
} from '../core/aws-names.js';

export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';
export const PARTITIONS: readonly Partition[] = ['aws', 'aws-cn', 'aws-us-gov'];

/** One IAM policy statement, as AWS spells it. */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal?: { AWS: string | string[] };
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Id?: string;
  Statement: PolicyStatement[];
}

export interface KeyPolicyOptions {
  /** The key's account, 12 digits. Its root principal keeps the key manageable. */
  account: string;
  partition?: Partition;
  /** Key custodians: run the import ceremonies (onboard, restore, rotate) and, with MFA, revoke. */
  custodians: readonly string[];
  /** The scheduled `kms-byok reimport` role: the import calls and what re-import reads and proves. */
  reimportRoles?: readonly string[];
  /**
   * The scheduler that holds a renewal seal (docs/escrow-format.md, "Renewal seals"): import-only — the
   * import calls, the reads reimport makes and its proof, but no TagResource, so whoever holds the
   * scheduler's identity (which opens a split escrow alone) cannot re-anchor a forged escrow version.
   */
  schedulerRoles?: readonly string[];
  /** Principals that use the key (encrypt/decrypt, MAC or sign, per key spec). */
  keyUsers?: readonly string[];
  /** Read-only: describe and list. */
  auditors?: readonly string[];
  keySpec?: KeySpec;
  keyUsage?: KeyUsage;
  /** Allowed `kms:WrappingAlgorithm` values (default RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_256). */
  wrappingAlgorithms?: readonly WrappingAlgorithm[];
  /** Allowed `kms:WrappingKeySpec` values (default RSA_4096). */
  wrappingKeySpecs?: readonly WrappingKeySpec[];
  /** The one allowed `kms:ExpirationModel` (default KEY_MATERIAL_EXPIRES). */
  expirationModel?: ExpirationModel;
  /** Upper bound of `kms:ValidTo` (required with KEY_MATERIAL_EXPIRES): a fixed instant. */
  validToMax?: Date;
  /** Keep the account root statement. `false` is refused: it is the lockout the safety check guards. */
  includeRoot?: boolean;
}

export const DEFAULT_WRAPPING_ALGORITHMS: readonly WrappingAlgorithm[] = ['RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_256'];
export const DEFAULT_WRAPPING_KEY_SPECS: readonly WrappingKeySpec[] = ['RSA_4096'];
/** AWS caps ValidTo at 365 days from the import request. */
export const MAX_VALID_TO_DAYS = 365;

/** The Sid of AWS's default key policy statement, kept verbatim. */
export const ROOT_SID = 'Enable IAM User Permissions';

/** The actions of each duty, exactly. Documented statement by statement in docs/key-policy.md. */
export const ACTIONS = {
  getParametersForImport: ['kms:GetParametersForImport'],
  importKeyMaterial: ['kms:ImportKeyMaterial'],
  /** What the onboard/restore/rotate ceremonies call on the key besides the import calls. */
  custodianManage: ['kms:DescribeKey', 'kms:ListKeyRotations', 'kms:CreateAlias', 'kms:UpdateAlias'],
  custodianRotate: ['kms:RotateKeyOnDemand'],
  /** The BYOK kill switch (kms-byok revoke): custodians only, and only with MFA. */
  custodianRevoke: ['kms:DeleteImportedKeyMaterial'],
  /**
   * Read and write the key's tags: the ceremonies anchor escrow fingerprints in tags and check them
   * (docs/key-policy.md). Both import roles hold it.
   */
  escrowAnchorTags: ['kms:TagResource', 'kms:ListResourceTags'],
  /** What `kms-byok reimport` reads to find the key's materials. */
  reimportRead: ['kms:DescribeKey', 'kms:ListKeyRotations'],
  /** What the scheduler role reads: the key, its materials, and the escrow anchors it checks (never writes). */
  schedulerRead: ['kms:DescribeKey', 'kms:ListKeyRotations', 'kms:ListResourceTags'],
  auditors: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListKeyRotations', 'kms:ListResourceTags', 'kms:ListGrants'],
  /** Denied to everyone unless the request was authenticated with MFA. */
  mfaOnly: ['kms:DeleteImportedKeyMaterial', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy'],
} as const;

const ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(root|role\/[\w+=,.@/-]{1,512}|user\/[\w+=,.@/-]{1,512})$/;

function policyError(message: string, hint: string): KmsByokError {
  return new KmsByokError('ERR_INVALID_ARGUMENT', message, { hint });
}

/** The default key usage of a key spec, as `kms-byok onboard` picks it. */
export function defaultKeyUsage(keySpec: KeySpec): KeyUsage {
  if (keySpec === 'SYMMETRIC_DEFAULT') return 'ENCRYPT_DECRYPT';
  if (keySpec.startsWith('HMAC_')) return 'GENERATE_VERIFY_MAC';
  return 'SIGN_VERIFY';
}

/** Key-user actions per key usage (and, for ENCRYPT_DECRYPT, symmetric or asymmetric spec). */
export function keyUserActions(keySpec: KeySpec, keyUsage: KeyUsage): string[] {
  switch (keyUsage) {
    case 'ENCRYPT_DECRYPT':
      return keySpec === 'SYMMETRIC_DEFAULT'
        ? ['kms:DescribeKey', 'kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*']
        : ['kms:DescribeKey', 'kms:Encrypt', 'kms:Decrypt', 'kms:GetPublicKey'];
    case 'GENERATE_VERIFY_MAC':
      return ['kms:DescribeKey', 'kms:GenerateMac', 'kms:VerifyMac'];
    case 'SIGN_VERIFY':
      return ['kms:DescribeKey', 'kms:Sign', 'kms:Verify', 'kms:GetPublicKey'];
    case 'KEY_AGREEMENT':
      return ['kms:DescribeKey', 'kms:DeriveSharedSecret', 'kms:GetPublicKey'];
    default:
      throw policyError(`key usage ${keyUsage} cannot be imported`, 'use ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC or KEY_AGREEMENT');
  }
}

/**
 * The calls kms-byok makes to prove a key holds the escrowed material after an import
 * (src/ceremony/prove.ts): Encrypt/Decrypt, GenerateMac, or GetPublicKey (+ Sign for SIGN_VERIFY).
 */
export function proveActions(keySpec: KeySpec, keyUsage: KeyUsage): string[] {
  if (keySpec === 'SYMMETRIC_DEFAULT') return ['kms:Encrypt', 'kms:Decrypt'];
  if (keySpec.startsWith('HMAC_')) return ['kms:GenerateMac'];
  return keyUsage === 'SIGN_VERIFY' ? ['kms:GetPublicKey', 'kms:Sign'] : ['kms:GetPublicKey'];
}

/** Unix seconds, as `kms:ValidTo` compares them (a string, as AWS's examples write numeric values). */
export function epochSeconds(d: Date): string {
  return String(Math.floor(d.getTime() / 1000));
}

interface Checked {
  partition: Partition;
  account: string;
  custodians: string[];
  reimportRoles: string[];
  schedulerRoles: string[];
  keyUsers: string[];
  auditors: string[];
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  wrappingAlgorithms: WrappingAlgorithm[];
  wrappingKeySpecs: WrappingKeySpec[];
  expirationModel: ExpirationModel;
  validToMax: Date | undefined;
}

function checkPrincipals(flag: string, list: readonly string[] | undefined, partition: Partition): string[] {
  const out: string[] = [];
  for (const arn of list ?? []) {
    const m = ARN.exec(arn);
    if (!m) {
      throw policyError(`${flag} "${arn}" is not an IAM role or user ARN`, `give arn:${partition}:iam::111122223333:role/NAME (or user/NAME)`);
    }
    if (m[1] !== partition) throw policyError(`${flag} "${arn}" is in partition ${m[1]}, not ${partition}`, 'pass --partition to match the principals');
    if (m[3] === 'root') {
      throw policyError(`${flag} "${arn}" is an account root`, 'the account root already has its own statement; name the role or user that holds this duty');
    }
    if (!out.includes(arn)) out.push(arn);
  }
  return out;
}

function checkOptions(o: KeyPolicyOptions): Checked {
  if (o.includeRoot === false) {
    throw new KmsByokError('ERR_POLICY_LOCKOUT', 'refusing a key policy without the account root statement: it could lock the account out of the key', {
      hint: `KMS's policy lockout safety check exists because a key whose policy no principal may change is unmanageable for good; kms-byok always keeps "${ROOT_SID}" (arn:…:iam::ACCOUNT:root, kms:*) and restricts roles with their own statements and an MFA Deny instead`,
    });
  }
  const partition = o.partition ?? 'aws';
  if (!PARTITIONS.includes(partition)) throw policyError(`unknown partition "${String(partition)}"`, `use one of ${PARTITIONS.join(', ')}`);
  if (!/^\d{12}$/.test(o.account)) throw policyError(`--account "${o.account}" is not a 12-digit AWS account id`, 'give the account that owns the key, e.g. --account 111122223333');
  const custodians = checkPrincipals('--custodian-role', o.custodians, partition);
  if (custodians.length === 0) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'missing --custodian-role: a key policy for an imported key needs at least one custodian', {
      hint: 'pass --custodian-role arn:aws:iam::ACCOUNT:role/NAME (repeatable)',
    });
  }
  const reimportRoles = checkPrincipals('--reimport-role', o.reimportRoles, partition);
  const schedulerRoles = checkPrincipals('--scheduler-role', o.schedulerRoles, partition);
  const keyUsers = checkPrincipals('--key-user', o.keyUsers, partition);
  const auditors = checkPrincipals('--auditor', o.auditors, partition);
  const duties: [string, string[]][] = [
    ['--custodian-role', custodians],
    ['--reimport-role', reimportRoles],
    ['--scheduler-role', schedulerRoles],
    ['--key-user', keyUsers],
    ['--auditor', auditors],
  ];
  for (let i = 0; i < duties.length; i++) {
    for (let j = i + 1; j < duties.length; j++) {
      const both = duties[i]![1].find((a) => duties[j]![1].includes(a));
      if (both !== undefined) {
        throw new KmsByokError('ERR_POLICY_SEPARATION', `${both} is given as both ${duties[i]![0]} and ${duties[j]![0]}: separation of duties needs distinct principals`, {
          hint: 'give each duty its own role',
        });
      }
    }
  }
  const keySpec = o.keySpec ?? 'SYMMETRIC_DEFAULT';
  if (!KEY_SPECS.includes(keySpec)) throw policyError(`unknown key spec "${keySpec}"`, `use one of ${KEY_SPECS.join(', ')}`);
  const keyUsage = o.keyUsage ?? defaultKeyUsage(keySpec);
  if (!KEY_USAGES.includes(keyUsage)) throw policyError(`unknown key usage "${keyUsage}"`, `use one of ${KEY_USAGES.join(', ')}`);
  keyUserActions(keySpec, keyUsage);
  const wrappingAlgorithms = [...new Set(o.wrappingAlgorithms ?? DEFAULT_WRAPPING_ALGORITHMS)];
  for (const a of wrappingAlgorithms) {
    if (!WRAPPING_ALGORITHMS.includes(a)) throw policyError(`unknown or refused wrapping algorithm "${a}"`, `use ${WRAPPING_ALGORITHMS.join(', ')}`);
  }
  const wrappingKeySpecs = [...new Set(o.wrappingKeySpecs ?? DEFAULT_WRAPPING_KEY_SPECS)];
  for (const s of wrappingKeySpecs) {
    if (!WRAPPING_KEY_SPECS.includes(s)) throw policyError(`unknown wrapping key spec "${s}"`, `use ${WRAPPING_KEY_SPECS.join(', ')}`);
  }
  if (wrappingAlgorithms.length === 0 || wrappingKeySpecs.length === 0) throw policyError('no wrapping choice left', 'allow at least one wrapping algorithm and one wrapping key spec');
  const expirationModel = o.expirationModel ?? 'KEY_MATERIAL_EXPIRES';
  if (expirationModel !== 'KEY_MATERIAL_EXPIRES' && expirationModel !== 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    throw policyError(`unknown expiration model "${String(expirationModel)}"`, 'use KEY_MATERIAL_EXPIRES or KEY_MATERIAL_DOES_NOT_EXPIRE');
  }
  if (expirationModel === 'KEY_MATERIAL_EXPIRES' && o.validToMax === undefined) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'missing the kms:ValidTo bound: KEY_MATERIAL_EXPIRES needs a latest allowed ValidTo', { hint: 'pass --max-valid-to-days N or --valid-to-max TIME' });
  }
  if (expirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE' && o.validToMax !== undefined) {
    throw new KmsByokError('ERR_INVALID_COMBINATION', 'a kms:ValidTo bound makes no sense with KEY_MATERIAL_DOES_NOT_EXPIRE (imports carry no ValidTo)', { hint: 'drop --max-valid-to-days/--valid-to-max' });
  }
  return {
    partition,
    account: o.account,
    custodians,
    reimportRoles,
    schedulerRoles,
    keyUsers,
    auditors,
    keySpec,
    keyUsage,
    wrappingAlgorithms,
    wrappingKeySpecs,
    expirationModel,
    validToMax: expirationModel === 'KEY_MATERIAL_EXPIRES' ? o.validToMax : undefined,
  };
}

const one = <T,>(xs: readonly T[]): T | T[] => (xs.length === 1 ? xs[0]! : [...xs]);

function wrappingCondition(c: Checked): PolicyStatement['Condition'] {
  return { StringEquals: { 'kms:WrappingAlgorithm': one(c.wrappingAlgorithms), 'kms:WrappingKeySpec': one(c.wrappingKeySpecs) } };
}

function expiryCondition(c: Checked): PolicyStatement['Condition'] {
  const cond: NonNullable<PolicyStatement['Condition']> = { StringEquals: { 'kms:ExpirationModel': c.expirationModel } };
  if (c.validToMax) cond.NumericLessThanEquals = { 'kms:ValidTo': epochSeconds(c.validToMax) };
  return cond;
}

const MFA_TRUE = { Bool: { 'aws:MultiFactorAuthPresent': 'true' } };
const MFA_MISSING_OR_FALSE = { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } };

function allow(sid: string, actions: readonly string[], principals: string[] | undefined, resource: string | string[], condition?: PolicyStatement['Condition']): PolicyStatement {
  return {
    Sid: sid,
    Effect: 'Allow',
    ...(principals ? { Principal: { AWS: one(principals) } } : {}),
    Action: one(actions),
    Resource: resource,
    ...(condition ? { Condition: condition } : {}),
  };
}

/**
 * The proof kms-byok runs after an import. For symmetric keys Encrypt/Decrypt are allowed only without
 * an encryption context (kms-byok's probe carries none; AWS services and well-built applications always
 * send one), so custodians and the re-import role cannot decrypt S3, EBS or application ciphertexts.
 */
/** The condition of the symmetric proof: Encrypt/Decrypt only without an encryption context. */
export const PROVE_WITHOUT_CONTEXT = { Null: { 'kms:EncryptionContextKeys': 'true' } } as const;

/**
 * The scheduler role's actions on a key of unknown spec (a fleet's keys, `schedule --print
 * eventbridge`): `import` (the import calls and what it reads; never TagResource), `proveSymmetric`
 * (allowed only under {@link PROVE_WITHOUT_CONTEXT}) and `proveOther` (HMAC and asymmetric proofs).
 */
export function schedulerKeyActions(): { import: string[]; proveSymmetric: string[]; proveOther: string[] } {
  return {
    import: [...ACTIONS.getParametersForImport, ...ACTIONS.importKeyMaterial, ...ACTIONS.schedulerRead],
    proveSymmetric: proveActions('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'),
    proveOther: [...new Set([...proveActions('HMAC_256', 'GENERATE_VERIFY_MAC'), ...proveActions('RSA_3072', 'SIGN_VERIFY')])],
  };
}

function proveStatement(sid: string, c: Checked, principals: string[] | undefined, resource: string | string[]): PolicyStatement {
  const symmetric = c.keySpec === 'SYMMETRIC_DEFAULT';
  return allow(sid, proveActions(c.keySpec, c.keyUsage), principals, resource, symmetric ? PROVE_WITHOUT_CONTEXT : undefined);
}

function custodianStatements(c: Checked, principals: string[] | undefined, resource: string | string[]): PolicyStatement[] {
  const manage = [...ACTIONS.custodianManage, ...(c.keySpec === 'SYMMETRIC_DEFAULT' ? ACTIONS.custodianRotate : [])];
  return [
    allow('CustodiansGetParametersForImport', ACTIONS.getParametersForImport, principals, resource, wrappingCondition(c)),
    allow('CustodiansImportKeyMaterial', ACTIONS.importKeyMaterial, principals, resource, expiryCondition(c)),
    allow('CustodiansDescribeAliasRotate', manage, principals, resource),
    allow('CustodiansEscrowAnchorTags', ACTIONS.escrowAnchorTags, principals, resource),
    proveStatement('CustodiansProveKey', c, principals, resource),
    allow('CustodiansRevokeWithMFA', ACTIONS.custodianRevoke, principals, resource, MFA_TRUE),
  ];
}

function reimportStatements(c: Checked, principals: string[] | undefined, resource: string | string[]): PolicyStatement[] {
  return [
    allow('ScheduledReimportGetParametersForImport', ACTIONS.getParametersForImport, principals, resource, wrappingCondition(c)),
    allow('ScheduledReimportImportKeyMaterial', ACTIONS.importKeyMaterial, principals, resource, expiryCondition(c)),
    allow('ScheduledReimportReadKey', ACTIONS.reimportRead, principals, resource),
    allow('ScheduledReimportEscrowAnchorTags', ACTIONS.escrowAnchorTags, principals, resource),
    proveStatement('ScheduledReimportProveKey', c, principals, resource),
  ];
}

function schedulerStatements(c: Checked, principals: string[] | undefined, resource: string | string[]): PolicyStatement[] {
  return [
    allow('SchedulerGetParametersForImport', ACTIONS.getParametersForImport, principals, resource, wrappingCondition(c)),
    allow('SchedulerImportKeyMaterial', ACTIONS.importKeyMaterial, principals, resource, expiryCondition(c)),
    allow('SchedulerReadKey', ACTIONS.schedulerRead, principals, resource),
    proveStatement('SchedulerProveKey', c, principals, resource),
  ];
}

/**
 * The key policy: the account root statement, one statement per duty and call, and a Deny of
 * DeleteImportedKeyMaterial, ScheduleKeyDeletion and PutKeyPolicy without MFA for every principal.
 */
export function buildKeyPolicy(options: KeyPolicyOptions): PolicyDocument {
  const c = checkOptions(options);
  const root = `arn:${c.partition}:iam::${c.account}:root`;
  const statements: PolicyStatement[] = [
    { Sid: ROOT_SID, Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*' },
    ...custodianStatements(c, c.custodians, '*'),
  ];
  if (c.reimportRoles.length > 0) statements.push(...reimportStatements(c, c.reimportRoles, '*'));
  if (c.schedulerRoles.length > 0) statements.push(...schedulerStatements(c, c.schedulerRoles, '*'));
  if (c.keyUsers.length > 0) statements.push(allow('KeyUsers', keyUserActions(c.keySpec, c.keyUsage), c.keyUsers, '*'));
  if (c.auditors.length > 0) statements.push(allow('Auditors', ACTIONS.auditors, c.auditors, '*'));
  statements.push({
    Sid: 'DenyKeyMaterialDeletionKeyDeletionAndPolicyChangesWithoutMFA',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: [...ACTIONS.mfaOnly],
    Resource: '*',
    Condition: MFA_MISSING_OR_FALSE,
  });
  return { Version: '2012-10-17', Id: 'kms-byok-external-key-policy-1', Statement: statements };
}

export type IdentityRole = 'custodian' | 'reimport' | 'scheduler';

export interface IdentityPolicyOptions extends Omit<KeyPolicyOptions, 'custodians' | 'reimportRoles' | 'schedulerRoles' | 'keyUsers' | 'auditors'> {
  role: IdentityRole;
  /** Key ARNs the role may act on (default: every key of the account, in `region`). */
  keyArns?: readonly string[];
  /** Region of the default key/alias resources (default `*`). */
  region?: string;
}


/**
 * The identity policy (to attach to the custodian or the scheduled re-import role itself): the same
 * key-resource statements, without principals, on the given keys; for custodians also CreateKey
 * (EXTERNAL origin only, never bypassing the lockout safety check), the alias resources, and the
 * account-wide list calls.
 */
export function buildIdentityPolicy(options: IdentityPolicyOptions): PolicyDocument {
  const placeholder = `arn:${options.partition ?? 'aws'}:iam::${options.account}:role/placeholder`;
  const c = checkOptions({ ...options, custodians: [placeholder] });
  const region = options.region ?? '*';
  if (region !== '*' && !isRegion(region)) throw policyError(`--region "${region}" is not an AWS Region`, 'e.g. --region eu-west-1 (or leave it out for every Region)');
  for (const arn of options.keyArns ?? []) {
    const m = parseKeyArn(arn);
    if (!m || !isKeyId(m.keyId) || m.partition !== c.partition) throw policyError(`--key-arn "${arn}" is not a KMS key ARN`, 'give arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (aliases cannot scope an identity policy)');
    if (m.accountId !== c.account) throw policyError(`--key-arn "${arn}" is not in account ${c.account}`, 'identity policies here cover keys of --account');
  }
  const keys = options.keyArns && options.keyArns.length > 0 ? one([...new Set(options.keyArns)]) : `arn:${c.partition}:kms:${region}:${c.account}:key/*`;
  if (options.role === 'reimport') {
    return { Version: '2012-10-17', Statement: reimportStatements(c, undefined, keys).map((s) => ({ ...s, Sid: s.Sid.replace(/^ScheduledReimport/, 'Reimport') })) };
  }
  if (options.role === 'scheduler') return { Version: '2012-10-17', Statement: schedulerStatements(c, undefined, keys) };
  if (options.role !== 'custodian') throw policyError(`unknown --identity "${String(options.role)}"`, 'use --identity custodian, reimport or scheduler');
  return {
    Version: '2012-10-17',
    Statement: [
      allow('CreateExternalKeysOnly', ['kms:CreateKey'], undefined, '*', {
        StringEquals: { 'kms:KeyOrigin': 'EXTERNAL' },
        Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'false' },
      }),
      allow('ListKeysAndAliases', ['kms:ListKeys', 'kms:ListAliases'], undefined, '*'),
      allow('ManageAliases', ['kms:CreateAlias', 'kms:UpdateAlias'], undefined, `arn:${c.partition}:kms:${region}:${c.account}:alias/*`),
      ...custodianStatements(c, undefined, keys),
    ],
  };
}

/** Every action a statement list allows a principal, by principal ARN (for tests and the summary). */
export function actionsByPrincipal(doc: PolicyDocument): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of doc.Statement) {
    if (s.Effect !== 'Allow' || !s.Principal) continue;
    const principals = Array.isArray(s.Principal.AWS) ? s.Principal.AWS : [s.Principal.AWS];
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    for (const p of principals) {
      const set = out.get(p) ?? new Set<string>();
      for (const a of actions) set.add(a);
      out.set(p, set);
    }
  }
  return out;
}

/** The import choices of a ceremony, as `onboard`/`reimport` would send them. */
export interface ImportChoices {
  wrappingAlgorithm: WrappingAlgorithm;
  wrappingKeySpec: WrappingKeySpec;
  expirationModel: ExpirationModel;
  validTo?: Date;
}

/**
 * Pre-flight for a ceremony that applies (or runs under) a kms-byok key policy: the reasons the
 * policy's custodian import statements would deny these choices, empty when they pass. Lets
 * `onboard --apply-policy` refuse before CreateKey instead of failing at GetParametersForImport or
 * ImportKeyMaterial with AccessDenied. Reads only the statements kms-byok writes (StringEquals and
 * NumericLessThanEquals on the four import condition keys).
 */
export function importDenials(doc: PolicyDocument, choices: ImportChoices, sidPrefix = 'Custodians'): string[] {
  const out: string[] = [];
  const values = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
  for (const s of doc.Statement) {
    if (s.Effect !== 'Allow' || !s.Sid.startsWith(sidPrefix)) continue;
    const eq = s.Condition?.StringEquals ?? {};
    const check = (key: string, value: string) => {
      const allowed = values(eq[key]);
      if (allowed && !allowed.includes(value)) out.push(`${key} ${value} is not allowed (${allowed.join(', ')})`);
    };
    check('kms:WrappingAlgorithm', choices.wrappingAlgorithm);
    check('kms:WrappingKeySpec', choices.wrappingKeySpec);
    check('kms:ExpirationModel', choices.expirationModel);
    const max = values(s.Condition?.NumericLessThanEquals?.['kms:ValidTo'])?.[0];
    if (max !== undefined) {
      if (choices.validTo === undefined) out.push('kms:ValidTo is required (the policy bounds it), but the import has none');
      else if (Number(epochSeconds(choices.validTo)) > Number(max)) {
        out.push(`kms:ValidTo ${choices.validTo.toISOString()} is after the policy's bound ${new Date(Number(max) * 1000).toISOString()}`);
      }
    }
  }
  return out;
}
