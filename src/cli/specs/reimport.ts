/** `kms-byok reimport`: declaration (flags, help, examples). The command is in ../commands/reimport.ts. */
import type { CommandSpec } from '../command-spec.js';
import { ESCROW_INPUT, RESUME_WITH_PLAN, EXPIRY, FLEET, OUTPUT, TARGET, HSM_CUSTODY, keyIdFlag } from './shared.js';
import { WRAPPING_OVERRIDE } from './shared.js';

export const REIMPORT: CommandSpec = {
  name: 'reimport',
  summary: 're-import every material of keys with a new expiry (scheduled renewal)',
  usage: [
    'reimport KEY... (--expires-in DURATION | --valid-to TIME | --no-expiry)',
    '    (--identity FILE | --passphrase-file FILE) [--before 30d] [flags]',
    'reimport --plan FILE [--resume] [--concurrency N] [--rate OP=N] [--before 30d] [--json]',
  ],
  keys: 'many',
  description: `Scripted renewal: opens each key's escrow unattended, fetches fresh import parameters, re-imports
every material of the key (ImportType EXISTING_KEY_MATERIAL with its KeyMaterialId, so KMS itself
confirms it is the same material) with the new expiry, records the new ValidTo in the escrow's
sidecar, and verifies the key. Safe to run twice.`,
  flags: {
    ...keyIdFlag('many'),
    'expires-in': { ...EXPIRY['expires-in']!, help: 'new expiry from now, e.g. 90d (at most 365d)' },
    'valid-to': { ...EXPIRY['valid-to']!, help: 'new expiry, ISO-8601 UTC' },
    'no-expiry': { ...EXPIRY['no-expiry']!, help: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
    before: { type: 'string', value: 'DURATION', help: 'only keys whose earliest ValidTo is within DURATION (else "not due", exit 0)' },
    ...OUTPUT,
    ...ESCROW_INPUT,
    ...WRAPPING_OVERRIDE,
    ...RESUME_WITH_PLAN,
    ...FLEET,
    ...TARGET,
    ...HSM_CUSTODY,
  },
  examples: [
    `# daily, see docs/lifecycle.md for cron and systemd timers
$ kms-byok reimport alias/payments --before 30d --expires-in 90d --identity /etc/kms-byok/custodian.txt`,
  ],
};
