/** `kms-byok policy`: declaration (flags, help, examples). The command is in ../commands/policy.ts. */
import type { CommandSpec } from '../command-spec.js';
import { OUTPUT } from './shared.js';

export const POLICY: CommandSpec = {
  name: 'policy',
  summary: "print a key policy with separation of duties (or a role's identity policy)",
  usage: [
    'policy --account ID --custodian-role ARN... [--reimport-role ARN...] [--scheduler-role ARN...] [--key-user ARN...]',
    '    [--auditor ARN...] [flags] [--json]',
    'policy --identity custodian|reimport|scheduler --account ID [--key-arn ARN...] [flags] [--json]',
  ],
  description: `Prints a key policy for an EXTERNAL key with separation of duties (docs/key-policy.md):
the account root statement (kept always: it is what keeps the key manageable); custodians may
GetParametersForImport and ImportKeyMaterial only with the allowed wrapping and expiry, describe,
alias, rotate, tag and prove the key; the scheduled re-import role gets the same import calls plus the
reads, tags and proof reimport makes; the scheduler role (holder of a split escrow's renewal seal) gets
import-only rights: the import calls, DescribeKey, ListKeyRotations, ListResourceTags and the proof,
but no TagResource; key users encrypt/decrypt (or MAC, or sign, per key spec); auditors
describe and list. DeleteImportedKeyMaterial, ScheduleKeyDeletion and PutKeyPolicy are denied to
everyone without MFA. --json prints the policy document itself; nothing is sent to AWS.`,
  flags: {
    account: { type: 'string', value: 'ID', help: "the key's 12-digit account (its root keeps the key manageable)" },
    partition: { type: 'string', value: 'P', help: 'aws (default), aws-cn, aws-us-gov' },
    'custodian-role': { type: 'string', multiple: true, value: 'ARN', help: 'key custodian role or user (repeatable; at least one)' },
    'reimport-role': { type: 'string', multiple: true, value: 'ARN', help: 'the scheduled re-import role (repeatable)' },
    'scheduler-role': {
      type: 'string',
      multiple: true,
      value: 'ARN',
      help: "the scheduler holding a split escrow's renewal seal: import-only, no TagResource\n(repeatable)",
    },
    'key-user': { type: 'string', multiple: true, value: 'ARN', help: 'may use the key (repeatable)' },
    auditor: { type: 'string', multiple: true, value: 'ARN', help: 'may describe and list (repeatable)' },
    'key-spec': { type: 'string', value: 'SPEC', help: "SYMMETRIC_DEFAULT (default), HMAC_*, RSA_*, ECC_* (decides the key users' calls)" },
    'key-usage': { type: 'string', value: 'USAGE', help: 'default per spec, as onboard picks it' },
    'wrapping-algorithm': {
      type: 'string',
      multiple: true,
      value: 'ALG',
      help: 'allowed kms:WrappingAlgorithm (repeatable; default RSAES_OAEP_SHA_256\nand RSA_AES_KEY_WRAP_SHA_256)',
    },
    'wrapping-key-spec': { type: 'string', multiple: true, value: 'SPEC', help: 'allowed kms:WrappingKeySpec (repeatable; default RSA_4096)' },
    'expiration-model': { type: 'string', value: 'MODEL', help: 'KEY_MATERIAL_EXPIRES (default) or KEY_MATERIAL_DOES_NOT_EXPIRE' },
    'max-valid-to-days': {
      type: 'string',
      value: 'N',
      help: 'kms:ValidTo bound: now + N days (default 365; a fixed instant: regenerate\nthe policy before it)',
    },
    'valid-to-max': { type: 'string', value: 'TIME', help: 'kms:ValidTo bound as an ISO-8601 UTC time instead' },
    identity: { type: 'string', value: 'custodian|reimport|scheduler', help: 'print the identity policy for that role instead of the key policy' },
    'key-arn': { type: 'string', multiple: true, value: 'ARN', help: 'with --identity: the keys it covers (default every key of the account)' },
    region: { type: 'string', value: 'REGION', help: 'with --identity: the Region of the default key and alias resources' },
    'no-root': { type: 'boolean', help: 'refused: a policy without the account root can lock the key for good' },
    json: { type: 'boolean', help: 'print the policy document itself' },
    help: OUTPUT.help!,
  },
  examples: [
    `$ kms-byok policy --account 111122223333 \\
    --custodian-role arn:aws:iam::111122223333:role/KeyCustodian \\
    --reimport-role arn:aws:iam::111122223333:role/KmsByokReimport \\
    --key-user arn:aws:iam::111122223333:role/PaymentsApp \\
    --auditor arn:aws:iam::111122223333:role/SecurityAudit --json > key-policy.json`,
    '$ aws kms put-key-policy --key-id alias/payments --policy file://key-policy.json   # with MFA',
    '$ kms-byok policy --identity reimport --account 111122223333 --json > reimport-role.json',
  ],
};
