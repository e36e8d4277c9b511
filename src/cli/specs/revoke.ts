/** `kms-byok revoke`: declaration (flags, help, examples). The command is in ../commands/revoke.ts. */
import type { CommandSpec } from '../command-spec.js';
import { ESCROW_INPUT, OUTPUT, TARGET, HSM_CUSTODY, keyIdFlag } from './shared.js';

export const REVOKE: CommandSpec = {
  name: 'revoke',
  summary: 'delete imported key material at once (the BYOK kill switch)',
  usage: ['revoke KEY (--all | --key-material-id ID) --yes --reason TEXT (--identity FILE | --passphrase-file FILE | --without-escrow) [flags]'],
  keys: 'one',
  description: `The BYOK kill switch: DeleteImportedKeyMaterial takes effect at once; the key is unusable (PendingImport)
until restored with kms-byok restore. Before deleting, revoke proves the escrow holds each material the
way verify does: it opens the escrow (--identity or --passphrase-file, required), checks the escrow's
anchors on the key, and has KMS accept each material (a re-import under its KeyMaterialId; GetPublicKey
or GenerateMac for other specs). --without-escrow overrides that, loudly: without an escrow the
deletion is permanent.`,
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
    ...HSM_CUSTODY,
  },
  examples: ['$ kms-byok revoke alias/payments --all --yes --reason "incident 4711: suspected compromise" --identity custodian.txt'],
};
