/** `kms-byok revoke`: declaration (flags, help, examples). The command is in ../commands/revoke.ts. */
import type { CommandSpec } from '../command-spec.js';
import { ESCROW_INPUT, OUTPUT, TARGET, keyIdFlag } from './shared.js';

export const REVOKE: CommandSpec = {
  name: 'revoke',
  summary: 'delete imported key material at once (the BYOK kill switch)',
  usage: ['revoke KEY (--all | --key-material-id ID) --yes --reason TEXT [flags]'],
  keys: 'one',
  description: `The BYOK kill switch: DeleteImportedKeyMaterial takes effect at once; the key is unusable (PendingImport)
until restored with kms-byok restore. Refused unless the latest escrow in --escrow-dir holds every
material being deleted and its files match their hashes (with --identity or --passphrase-file it is
also opened and its check values verified). --without-escrow overrides that, loudly: without an
escrow the deletion is permanent.`,
  flags: {
    ...keyIdFlag('one'),
    all: { type: 'boolean', help: 'delete every material of the key' },
    'key-material-id': { type: 'string', value: 'ID', help: 'delete one material' },
    yes: { type: 'boolean', help: 'confirm (required when not interactive)' },
    reason: { type: 'string', value: 'TEXT', help: 'why, recorded in the transcript (required)' },
    'without-escrow': { type: 'boolean', help: 'revoke even without a verified escrow (the key may be lost for good)' },
    ...OUTPUT,
    ...ESCROW_INPUT,
    ...TARGET,
  },
  examples: ['$ kms-byok revoke alias/payments --all --yes --reason "incident 4711: suspected compromise"'],
};
