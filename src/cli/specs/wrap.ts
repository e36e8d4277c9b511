/** `kms-byok wrap`: declaration (flags, help, examples). The command is in ../commands/wrap.ts. */
import type { CommandSpec } from '../command-spec.js';
import { OUTPUT, SEALING, without } from './shared.js';

export const WRAP: CommandSpec = {
  name: 'wrap',
  summary: 'air-gapped step 2, offline: seal and wrap material for a parameters bundle',
  usage: ['wrap --parameters FILE (--recipient AGE_RECIPIENT... | --passphrase-file FILE) [--out FILE] [flags]', 'wrap --parameters FILE --escrow ESCROW --identity FILE... [--out FILE]'],
  description: `The offline step of an air-gapped ceremony (docs/air-gapped.md). Reads the parameters bundle that
onboard --export-parameters wrote, generates the material (or reads --material-file), seals it in an
escrow (written durably first), wraps it with the bundle's wrapping public key, and writes an import
bundle (create-only, mode 0600). Needs no network, no credentials and no AWS SDK.`,
  flags: {
    parameters: { type: 'string', value: 'FILE', help: 'the parameters bundle (step 1)' },
    out: { type: 'string', value: 'FILE', help: 'the import bundle to write (default import.json; never overwritten)' },
    'material-file': { type: 'string', value: 'PATH', help: 'existing material instead of generating it (as for onboard)' },
    ...without(SEALING, 'threshold', 'split'),
    'escrow-dir': { type: 'string', value: 'DIR', help: 'where the escrow is written (default ./escrow)' },
    escrow: {
      type: 'string',
      value: 'FILE',
      help: "re-wrap the material this escrow holds for fresh parameters (an import\ntoken that expired): opened with --identity, nothing sealed again, no\nplaintext export",
    },
    identity: {
      type: 'string',
      multiple: true,
      value: 'FILE',
      help: "when the key already has an escrow: a custodian's age identity, so wrap\ncan open it and, if it holds exactly --material-file, write the import\nbundle for it instead of refusing (re-running an interrupted wrap)",
    },
    share: {
      type: 'string',
      multiple: true,
      value: 'FILE',
      help: "with --escrow: a custodian's handed-over share (kms-byok escrow hand-over),\nopened with the escrow directory's one-time identity; repeatable, instead\nof --identity",
    },
    ...OUTPUT,
  },
  examples: ['$ kms-byok wrap --parameters params.json --recipient age1… --out import.json', '$ kms-byok wrap --parameters params-2.json --escrow escrow/1234abcd-….v1.age --identity alice.txt --out import-2.json'],
};
