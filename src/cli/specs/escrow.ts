/**
 * `kms-byok escrow inspect|verify|reseal|export|acknowledge`: declarations (flags, help, examples).
 * The commands are in ../commands/escrow.ts.
 */
import type { CommandGroup, CommandSpec, FlagDecls } from '../command-spec.js';
import { OUTPUT, SEALING, TARGET } from './shared.js';

/** What opens an existing escrow. */
const OPEN: FlagDecls = {
  identity: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    help: 'age identity file (AGE-SECRET-KEY-1…, as age-keygen writes it); repeatable,\ne.g. every custodian of an m-of-n escrow at one table',
  },
  'passphrase-file': { type: 'string', value: 'FILE', help: 'passphrase of a passphrase-sealed escrow (- for stdin)' },
};

export const ESCROW_INSPECT: CommandSpec = {
  name: 'escrow inspect',
  summary: 'what the sidecar says; needs no secret',
  usage: ['escrow inspect FILE [--json]'],
  description: `Prints what the sidecar says (key, custodians, threshold, materials with check values and
expiry, sealed files with SHA-256, versions) and needs no secret.`,
  flags: { ...OUTPUT },
  examples: ['$ kms-byok escrow inspect escrow/1234abcd-….v1.age'],
};

export const ESCROW_VERIFY: CommandSpec = {
  name: 'escrow verify',
  summary: 'open the escrow and check it whole (exit 3: a check failed)',
  usage: ['escrow verify FILE (--identity FILE... | --passphrase-file FILE) [TARGET-FLAGS] [--json]'],
  description: `Opens the escrow, checks manifest, sidecar, file hashes and every material's check value,
and prints the facts — never the material. With a target flag (--region, --endpoint-url, --emulator…)
it also proves each KeyMaterialId the sidecar names by a re-import KMS accepts only for the same
material, and checks the key's escrow anchors. Exit 3 when a check fails.`,
  flags: { ...OPEN, ...OUTPUT, ...TARGET },
  examples: ['$ kms-byok escrow verify escrow/1234abcd-….v1.age --identity custodian.txt'],
};

export const ESCROW_RESEAL: CommandSpec = {
  name: 'escrow reseal',
  summary: 'a new version sealed to a new set of custodians (the old one is kept)',
  usage: [
    'escrow reseal FILE (--identity FILE... | --passphrase-file FILE)',
    '    (--recipient [NAME=]AGE... | --new-passphrase-file FILE) [--threshold M | --split xor]',
  ],
  description: 'Writes a new version sealed to a new set of custodians; the old version is kept.',
  flags: {
    ...OPEN,
    recipient: { ...SEALING.recipient!, help: 'a new custodian, optionally labelled (alice=age1…); repeatable' },
    'recipients-file': { ...SEALING['recipients-file']!, help: 'new custodians: every recipient listed in FILE (one per line, # comments)' },
    threshold: { ...SEALING.threshold!, help: 'any M of the recipients open the new version (one share file each)' },
    split: { ...SEALING.split!, help: 'each recipient holds a full-length XOR component; all are needed' },
    'new-passphrase-file': { type: 'string', value: 'FILE', help: 'seal the new version (also) with this passphrase' },
    ...OUTPUT,
  },
  examples: [
    `$ kms-byok escrow reseal escrow/1234abcd-….v1.age --identity alice.txt \\
    --recipient bob=age1… --recipient carol=age1… --recipient dan=age1… --threshold 2`,
  ],
};

export const ESCROW_EXPORT: CommandSpec = {
  name: 'escrow export',
  summary: "one material's raw bytes to a new 0600 file (disaster recovery without this tool)",
  usage: ['escrow export FILE (--identity FILE... | --passphrase-file FILE) --insecure-plaintext --out FILE [--material N]'],
  description: `Writes one material's raw bytes to a new 0600 file, for disaster recovery without KMS access
to this tool; it never writes to a terminal.`,
  flags: {
    ...OPEN,
    'insecure-plaintext': { type: 'boolean', help: 'confirm writing key material in plaintext (required)' },
    out: { type: 'string', value: 'FILE', help: 'the file to create (mode 0600; never overwritten)' },
    material: { type: 'string', value: 'N', help: 'which material (default: the current one)' },
    ...OUTPUT,
  },
  examples: ['$ kms-byok escrow export escrow/1234abcd-….v1.age --identity custodian.txt --insecure-plaintext --out material.bin'],
};

export const ESCROW_ACKNOWLEDGE: CommandSpec = {
  name: 'escrow acknowledge',
  summary: "record a custodian's proven receipt in the ceremony transcript",
  usage: ['escrow acknowledge FILE --identity FILE --name "FULL NAME"'],
  description: `Records a custodian's confirmation of receipt in the ceremony transcript: their identity
must open the share or component they hold (or the escrow itself), so possession is proven.`,
  flags: {
    identity: { ...OPEN.identity!, help: "the custodian's own age identity file" },
    name: { type: 'string', value: 'NAME', help: 'who acknowledges receipt, as it should appear in the record' },
    transcript: { type: 'string', value: 'FILE', help: 'the transcript to append to (default <escrow dir>/transcript.md)' },
    ...OUTPUT,
  },
  examples: ['$ kms-byok escrow acknowledge escrow/1234abcd-….v1.age --identity alice.txt --name "Alice Example"'],
};

export const ESCROW: CommandGroup = {
  name: 'escrow',
  summary: 'sealed escrows: inspect, verify, reseal, export, acknowledge',
  description: `inspect needs no secret; verify, reseal and export open the escrow with a custodian's identity or
the passphrase; acknowledge proves a custodian holds their part.`,
  subcommands: [ESCROW_INSPECT, ESCROW_VERIFY, ESCROW_RESEAL, ESCROW_EXPORT, ESCROW_ACKNOWLEDGE],
};

