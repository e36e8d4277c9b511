/** `kms-byok discover`: declaration (flags, help, examples). The command is in ../commands/discover.ts. */
import type { CommandSpec } from '../command-spec.js';
import { OUTPUT, TARGET, without } from './shared.js';

export const DISCOVER: CommandSpec = {
  name: 'discover',
  summary: 'find every EXTERNAL key across accounts and Regions, pair it with its escrow, write a plan',
  usage: [
    'discover --regions R[,R...] --escrow-dir DIR [--accounts FILE | --organization]',
    '    [--role-name NAME | --role-arn-template ARN] [--external-id ID] [--warn-days N]',
    '    [--write-plan FILE [--identity FILE | --passphrase-file FILE] [--expires-in DURATION]] [--json]',
  ],
  description: `Lists every Origin EXTERNAL key (ListKeys + DescribeKey, ListKeyRotations; paced at AWS's documented
request quotas per account and Region) in each Region of --regions and each account: the caller's own
(default), the accounts of --accounts FILE (one 12-digit id a line, optionally followed by that
account's external id; # comments), or every account of the organisation (--organization:
Organizations ListAccounts, from the management account). Other accounts are reached through a role:
--role-name NAME (arn:aws:iam::ACCOUNT:role/NAME) or --role-arn-template with {account} in it; the
caller's own account is read with the caller's credentials.

Each key is paired with its escrow in --escrow-dir (sidecars; no secret is read) and flagged when it
has no escrow, when the escrow holds materials KMS never confirmed, or when its material expires within
--warn-days (default 30). --write-plan FILE writes a fleet plan of the escrowed keys (each account's
role in the plan's "accounts"), which reimport --plan and status --plan accept; it is created
exclusively and never overwritten.

Exit 3 when any key has no escrow (or needs other attention); exit 1 when an account or Region could
not be read (a role that cannot be assumed, Organizations refused): the report says which.`,
  flags: {
    regions: { type: 'string', value: 'R[,R...]', help: 'the Regions to search, comma-separated (required)' },
    accounts: { type: 'string', value: 'FILE', help: 'the accounts to search: one 12-digit id a line, optionally followed by\nits role\'s external id (default: the caller\'s own account)' },
    organization: { type: 'boolean', help: "search every account Organizations ListAccounts lists (run from the\nmanagement account)" },
    'role-name': { type: 'string', value: 'NAME', help: 'the role assumed in every other account: arn:aws:iam::ACCOUNT:role/NAME' },
    'role-arn-template': { type: 'string', value: 'ARN', help: 'the role ARN with {account} for the account id, e.g.\narn:aws:iam::{account}:role/ops/KmsByok' },
    'external-id': { type: 'string', value: 'ID', help: 'the external id every role requires (an --accounts line may give its own)' },
    'escrow-dir': { type: 'string', value: 'DIR', help: 'where the keys\' escrows are (required)' },
    'warn-days': { type: 'string', value: 'N', help: 'flag material that expires within N days (default 30)' },
    'write-plan': { type: 'string', value: 'FILE', help: 'write a fleet plan of the escrowed keys to FILE (new file only)' },
    identity: { type: 'string', value: 'FILE', help: 'with --write-plan: the custodian identity the plan names for re-imports' },
    'passphrase-file': { type: 'string', value: 'FILE', help: 'with --write-plan: the passphrase file the plan names for re-imports' },
    'expires-in': { type: 'string', value: 'DURATION', help: 'with --write-plan: the plan\'s expiry of re-imported material, e.g. 90d' },
    ...OUTPUT,
    ...without(TARGET, 'region'),
  },
  notes: `The JSON document is docs/schemas/discover.schema.json. Each account's identity is checked once
(GetCallerIdentity): a role that acts in another account than the one asked for is not searched.`,
  examples: [
    `$ kms-byok discover --regions us-east-1,eu-west-1 --organization --role-name KmsByok \\
    --escrow-dir /srv/escrow --write-plan fleet.json --identity custodian.txt --expires-in 90d
$ kms-byok reimport --plan fleet.json`,
    '$ kms-byok discover --regions eu-west-1 --accounts accounts.txt --role-name KmsByok --escrow-dir escrow --json',
  ],
};
