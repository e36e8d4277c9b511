/** `kms-byok retire`: declaration (flags, help, examples). The command is in ../commands/retire.ts. */
import type { CommandSpec } from '../command-spec.js';
import { ESCROW_INPUT, OUTPUT, TARGET, keyIdFlag } from './shared.js';

export const RETIRE: CommandSpec = {
  name: 'retire',
  summary: "show a key's usage evidence, then disable it, schedule its deletion, cancel that, or enable it",
  usage: [
    'retire KEY [--quiet-for 30d] [flags]                                  (evidence only)',
    'retire KEY --disable (--yes --reason TEXT | on a terminal) [flags]',
    'retire KEY --schedule-deletion --pending-window 7d..30d (--identity FILE | --passphrase-file FILE | --share FILE | --without-escrow)\n       (--yes --reason TEXT | on a terminal) [flags]',
    'retire KEY --cancel | --enable (--yes --reason TEXT | on a terminal) [flags]',
  ],
  keys: 'one',
  description: `The end of a key a rotate --new-key left behind (or of any key). Without a step, prints the usage
evidence: GetKeyLastUsage and the key's CloudTrail events over --quiet-for (at most 90 days), per
material. CloudTrail that cannot be read is reported MISSING, never as "no use".
--disable and --schedule-deletion are refused while an alias targets the key, while the evidence shows
a use within --quiet-for, or while the evidence is incomplete, unless --force --reason. Scheduling
deletion also needs the key disabled first, and (EXTERNAL keys) the escrow opened and verified: give
--identity, --passphrase-file or --share; the latest escrow is opened with every check (SHA-256, age
authentication, manifest, check values), must name every KeyMaterialId KMS lists, and the key's anchor
tags must vouch for it. --force never overrides that; only --without-escrow does, loudly. For keys of
another origin the escrow checks do not apply. Ciphertexts of a deleted key are unrecoverable, even with the escrow.
--cancel stops a scheduled deletion; the key stays Disabled until --enable. Each step asks you to type
the key id back (on a terminal) or needs --yes --reason, and is recorded in the transcript.`,
  flags: {
    ...keyIdFlag('one'),
    disable: { type: 'boolean', help: 'DisableKey (reversible with --enable)' },
    'schedule-deletion': { type: 'boolean', help: 'ScheduleKeyDeletion (needs --pending-window)' },
    'pending-window': { type: 'string', value: 'DURATION', help: 'days before KMS deletes the key: 7d to 30d' },
    cancel: { type: 'boolean', help: 'CancelKeyDeletion (the key stays disabled)' },
    enable: { type: 'boolean', help: 'EnableKey' },
    'quiet-for': { type: 'string', value: 'DURATION', help: 'the key must not have been used for this long (default 30d; evidence window, at most 90d)' },
    force: { type: 'boolean', help: 'act although an alias targets the key, it was used recently, or evidence is missing (needs --reason)' },
    'without-escrow': { type: 'boolean', help: 'schedule deletion without an opened, verified escrow (the material may be gone for good)' },
    identity: ESCROW_INPUT.identity!,
    'passphrase-file': ESCROW_INPUT['passphrase-file']!,
    share: ESCROW_INPUT.share!,
    yes: { type: 'boolean', help: 'confirm without typing the key id back (needs --reason)' },
    reason: { type: 'string', value: 'TEXT', help: 'why, recorded in the transcript' },
    'escrow-dir': { type: 'string', value: 'DIR', help: "where the key's escrows are (default ./escrow)", group: 'Escrow flags' },
    transcript: { type: 'string', value: 'FILE', help: 'transcript to append to (default <escrow dir>/transcript.md)', group: 'Escrow flags' },
    ...OUTPUT,
    ...TARGET,
  },
  examples: [
    '$ kms-byok retire 1234abcd-12ab-34cd-56ef-1234567890ab --region eu-west-1',
    '$ kms-byok retire 1234abcd-12ab-34cd-56ef-1234567890ab --disable --yes --reason "replaced by alias/payments key of 2027"',
    '$ kms-byok retire 1234abcd-12ab-34cd-56ef-1234567890ab --schedule-deletion --pending-window 30d --identity custodian.txt --yes --reason "quiet since rotation"',
  ],
};
