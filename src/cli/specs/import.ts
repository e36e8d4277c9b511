/** `kms-byok import`: declaration (flags, help, examples). The command is in ../commands/import.ts. */
import type { CommandSpec } from '../command-spec.js';
import { OUTPUT, TARGET } from './shared.js';

export const IMPORT: CommandSpec = {
  name: 'import',
  summary: 'air-gapped step 3, online: import and verify an import bundle',
  usage: ['import --bundle FILE [--key-id KEY] [--escrow-dir DIR] [target flags] [--json]'],
  description: `The last, online step of an air-gapped ceremony (docs/air-gapped.md). Checks the import bundle that
kms-byok wrap wrote (format, fingerprint, import token not expired, for this very key in this account
and Region), imports it, records KeyMaterialId and ValidTo in the escrow's sidecar when --escrow-dir
holds it, and verifies without the material: Enabled and Encrypt/Decrypt (symmetric), GenerateMac
against a MAC computed offline (HMAC), GetPublicKey against the public key recorded offline and a
signature that verifies with it (asymmetric).`,
  flags: {
    bundle: { type: 'string', value: 'FILE', help: 'the import bundle (step 2)' },
    'key-id': { type: 'string', value: 'KEY', help: 'refuse the bundle unless it is for this key (id, ARN or alias/NAME)' },
    'escrow-dir': { type: 'string', value: 'DIR', help: "where the escrow's sidecar is (default ./escrow); optional" },
    'record-only': { type: 'boolean', help: 'the key is already imported: only record KeyMaterialId/ValidTo in the sidecar' },
    ...OUTPUT,
    ...TARGET,
  },
  examples: ['$ kms-byok import --bundle import.json --escrow-dir /mnt/escrow-copy'],
};
