/** `kms-byok restore`: declaration (flags, help, examples). The command is in ../commands/restore.ts. */
import type { CommandSpec } from '../command-spec.js';
import { ESCROW_INPUT, RESUME_WITH_PLAN, EXPIRY, FLEET, OUTPUT, SEALING, TARGET, HSM_CUSTODY, keyIdFlag } from './shared.js';
import { WRAPPING_OVERRIDE } from './shared.js';

export const RESTORE: CommandSpec = {
  name: 'restore',
  summary: 'disaster recovery: re-import from the escrow, or a new key from it',
  usage: [
    'restore KEY (--expires-in DURATION | --valid-to TIME | --no-expiry) (--identity FILE | --passphrase-file FILE)',
    'restore --new-key --escrow FILE --yes [--alias alias/NAME] [--multi-region --replica-region R...] [flags]',
    'restore --plan FILE [--resume] [--concurrency N] [--json]',
  ],
  keys: 'one',
  description: `Disaster recovery. For a key in PendingImport (material expired or deleted), re-imports every missing
material from its escrow so the key is usable again; old ciphertexts decrypt as before.

With --new-key, creates a fresh EXTERNAL key (in this or another account or Region) from the escrow's
current material and seals a new escrow for it. Ciphertexts of the old key do NOT decrypt under the
new key: KMS binds each ciphertext to its key. With --multi-region the new key is a multi-Region
primary, replicated to each --replica-region, and the same material is imported into every replica.`,
  flags: {
    ...keyIdFlag('one'),
    'new-key': { type: 'boolean', help: 'create a new key instead of restoring the old one (needs --yes)' },
    yes: { type: 'boolean', help: 'confirm creating the new key (required when not interactive)' },
    alias: { type: 'string', multiple: true, value: 'alias/NAME', help: 'alias for the new key (created, or moved to it when it exists: --move-alias)' },
    'move-alias': { type: 'boolean', help: 'move an existing alias to the new key' },
    'multi-region': { type: 'boolean', help: 'the new key is a multi-Region primary' },
    'replica-region': { type: 'string', multiple: true, value: 'R', help: 'replicate the new key into R and import there (repeatable)' },
    recipient: { ...SEALING.recipient!, help: "--new-key: a custodian of the new key's escrow (default: the old escrow's); repeatable" },
    description: { type: 'string', value: 'TEXT', help: '--new-key: the new key\'s description (default: "restored by kms-byok from …")' },
    'expires-in': { ...EXPIRY['expires-in']!, help: 'expiry of the re-imported material from now, e.g. 90d (at most 365d)' },
    'valid-to': { ...EXPIRY['valid-to']!, help: 'expiry of the re-imported material, ISO-8601 UTC' },
    'no-expiry': { ...EXPIRY['no-expiry']!, help: 'the re-imported material never expires' },
    ...OUTPUT,
    ...ESCROW_INPUT,
    ...WRAPPING_OVERRIDE,
    ...RESUME_WITH_PLAN,
    ...FLEET,
    ...TARGET,
    ...HSM_CUSTODY,
  },
  examples: [
    '$ kms-byok restore alias/payments --expires-in 90d --identity custodian.txt',
    `$ kms-byok restore --new-key --escrow escrow/1234abcd-….v2.age --yes --expires-in 90d \\
    --identity custodian.txt --multi-region --replica-region eu-west-1 --replica-region us-west-2`,
  ],
};
