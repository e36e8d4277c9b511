/**
 * `kms-byok escrow inspect|verify|reseal|export|acknowledge`: declarations (flags, help, examples).
 * The commands are in ../commands/escrow.ts.
 */
import type { CommandGroup, CommandSpec, FlagDecls } from '../command-spec.js';
import { FULL_CHECK_VALUE, OUTPUT, RENEWAL, SEALING, TARGET } from './shared.js';

/** What opens an existing escrow. */
const OPEN: FlagDecls = {
  identity: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    help: 'age identity file (AGE-SECRET-KEY-1…, as age-keygen writes it); repeatable,\ne.g. every custodian of an m-of-n escrow at one table',
  },
  'passphrase-file': { type: 'string', value: 'FILE', help: 'passphrase of a passphrase-sealed escrow (- for stdin)' },
  share: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    help: "a custodian's handed-over share or component (escrow hand-over), opened with the one-time\nidentity of the escrow's directory (escrow handover-recipient); repeatable",
  },
};

export const ESCROW_INSPECT: CommandSpec = {
  name: 'escrow inspect',
  summary: 'what the sidecar says; needs no secret',
  usage: ['escrow inspect FILE [--full-check-value] [--json]'],
  description: `Prints what the sidecar says (key, custodians, threshold, renewal seals, who has not
acknowledged receipt, materials with check values and expiry, sealed files with SHA-256, versions)
and needs no secret.`,
  flags: { ...FULL_CHECK_VALUE, ...OUTPUT },
  examples: ['$ kms-byok escrow inspect escrow/1234abcd-….v1.age'],
};

export const ESCROW_VERIFY: CommandSpec = {
  name: 'escrow verify',
  summary: 'open the escrow and check it whole (exit 3: a check failed)',
  usage: ['escrow verify FILE (--identity FILE... | --share FILE... | --passphrase-file FILE) [TARGET-FLAGS] [--json]'],
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
    'escrow reseal FILE (--identity FILE... | --share FILE... | --passphrase-file FILE)',
    '    (--recipient [NAME=]AGE... | --new-passphrase-file FILE) [--threshold M | --split xor]',
    '    [--renewal-recipient NAME=AGE...]',
  ],
  description: 'Writes a new version sealed to a new set of custodians; the old version is kept.',
  flags: {
    ...OPEN,
    recipient: { ...SEALING.recipient!, help: 'a new custodian, optionally labelled (alice=age1…); repeatable' },
    'recipients-file': { ...SEALING['recipients-file']!, help: 'new custodians: every recipient listed in FILE (one per line, # comments)' },
    threshold: { ...SEALING.threshold!, help: 'any M of the recipients open the new version (one share file each)' },
    split: { ...SEALING.split!, help: 'each recipient holds a full-length XOR component; all are needed' },
    'new-passphrase-file': { type: 'string', value: 'FILE', help: 'seal the new version (also) with this passphrase' },
    ...RENEWAL,
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
  usage: ['escrow export FILE (--identity FILE... | --share FILE... | --passphrase-file FILE) --insecure-plaintext --out FILE [--material N]'],
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

export const ESCROW_HANDOVER_RECIPIENT: CommandSpec = {
  name: 'escrow handover-recipient',
  summary: 'a one-time age1… recipient custodians hand their shares over to (host of a recovery)',
  usage: ['escrow handover-recipient --escrow-dir DIR [--json]'],
  description: `Run on the machine that hosts a recovery of a split escrow (restore, reimport, escrow
verify|reseal|export). Prints a one-time age recipient; its identity stays in <DIR>/.handover/ (0600)
and is removed when a ceremony uses it, or after 24 hours. Each custodian then runs
"kms-byok escrow hand-over" on their own machine with --to this recipient, and the host passes
the files they send with --share FILE. No custodian's own identity leaves their machine
(docs/custody.md).`,
  flags: {
    'escrow-dir': { type: 'string', value: 'DIR', help: "the escrow directory of the recovery (default ./escrow)" },
    ...OUTPUT,
  },
  examples: ['$ kms-byok escrow handover-recipient --escrow-dir escrow'],
};

export const ESCROW_HAND_OVER: CommandSpec = {
  name: 'escrow hand-over',
  summary: "a custodian re-seals their own share to the host's one-time recipient",
  usage: ['escrow hand-over FILE --identity FILE --to AGE --out FILE [--json]'],
  description: `Run by a custodian on their own machine, with their copy of the escrow (the sidecar .age.json
and their share or component file beside it). Opens only the share (m-of-n) or component (XOR)
sealed to their identity, re-seals it to the one-time recipient the host printed (escrow
handover-recipient) and writes it to a new 0600 file for the host's --share. Prints the custodian,
the share number and its check value, to read aloud to the host. Plain recipients escrows have no
share to hand over: any one custodian opens them whole.`,
  flags: {
    identity: { ...OPEN.identity!, help: "the custodian's own age identity file" },
    to: { type: 'string', value: 'AGE', help: 'the one-time recipient the host printed (age1…)' },
    out: { type: 'string', value: 'FILE', help: 'the hand-over file to create (mode 0600; never overwritten)' },
    ...OUTPUT,
  },
  examples: ['$ kms-byok escrow hand-over escrow/1234abcd-….v1.age --identity ~/.age/bob.txt --to age1… --out bob.handover'],
};

export const ESCROW: CommandGroup = {
  name: 'escrow',
  summary: 'sealed escrows: inspect, verify, reseal, export, acknowledge, hand-over',
  description: `inspect needs no secret; verify, reseal and export open the escrow with a custodian's identity,
the passphrase or handed-over shares; acknowledge proves a custodian holds their part;
handover-recipient and hand-over move one custodian's share to a recovery host without their identity.`,
  subcommands: [ESCROW_INSPECT, ESCROW_VERIFY, ESCROW_RESEAL, ESCROW_EXPORT, ESCROW_ACKNOWLEDGE, ESCROW_HANDOVER_RECIPIENT, ESCROW_HAND_OVER],
};

