/** `kms-byok verify`: declaration (flags, help, examples). The command is in ../commands/verify.ts. */
import type { CommandSpec } from '../command-spec.js';
import { ESCROW_INPUT, OUTPUT, TARGET, HSM_CUSTODY, keyIdFlag } from './shared.js';

const ESCROW = ESCROW_INPUT;

export const VERIFY: CommandSpec = {
  name: 'verify',
  summary: 'prove KMS holds exactly what the escrow holds, changing nothing',
  usage: ['verify KEY (--identity FILE... | --share FILE... | --passphrase-file FILE) [--escrow-dir DIR | --escrow FILE] [--json]'],
  keys: 'one',
  description: `Proves that KMS holds exactly what the key's escrow holds, without changing anything: every material
KMS lists must be in the escrow; each symmetric material is re-imported under its KeyMaterialId with
the expiry KMS already has (KMS accepts only the very same material); and the current material is
shown in use — Encrypt/Decrypt (symmetric), GenerateMac against a local HMAC (HMAC), GetPublicKey
against the local public key and a KMS signature verified locally (RSA, ECC).
Exit 0 when proven, 3 when KMS and the escrow disagree, 1 when it could not be checked.`,
  flags: {
    ...keyIdFlag('one'),
    ...OUTPUT,
    identity: ESCROW.identity!,
    'passphrase-file': ESCROW['passphrase-file']!,
    share: ESCROW.share!,
    'escrow-dir': ESCROW['escrow-dir']!,
    escrow: ESCROW.escrow!,
    ...TARGET,
    ...HSM_CUSTODY,
  },
  examples: ['$ kms-byok verify alias/payments --identity custodian.txt --escrow-dir ./escrow --region eu-west-1'],
};
