/** `kms-byok audit`: declaration (flags, help, examples). The command is in ../commands/audit.ts. */
import type { CommandSpec } from '../command-spec.js';
import { OUTPUT, TARGET, keyIdFlag } from './shared.js';

export const AUDIT: CommandSpec = {
  name: 'audit',
  summary: 'reconcile CloudTrail with the transcript: what was done to the keys outside kms-byok',
  usage: ['audit [KEY...] [--since 30d] [--transcript FILE] [flags]'],
  keys: 'many',
  description: `Reads the keys' CloudTrail events (LookupEvents, at most 90 days) and the hash-chained transcript, and
matches them by KMS request id: every CreateKey, ImportKeyMaterial, DeleteImportedKeyMaterial,
RotateKeyOnDemand, ScheduleKeyDeletion, CancelKeyDeletion, DisableKey, EnableKey, PutKeyPolicy,
CreateAlias and UpdateAlias must have its transcript entry, and every such request of an entry its
event. Lists what was done outside kms-byok with who and when, KMS's own events (expired material,
rotations, deletions) and refused uses of disabled or pending-deletion keys. Without KEY, audits every
key the transcript names. A transcript whose chain check fails is refused. Exit 3 when anything is
unexplained, missing from CloudTrail, or a refused use was seen; CloudTrail that cannot be read is an
error (exit 1), never a clean audit.`,
  flags: {
    ...keyIdFlag('many'),
    since: { type: 'string', value: 'DURATION', help: 'how far back (default 30d, at most 90d)' },
    transcript: { type: 'string', value: 'FILE', help: 'the transcript (default <escrow dir>/transcript.md)' },
    'escrow-dir': { type: 'string', value: 'DIR', help: 'escrow directory whose transcript.md is read (default ./escrow)' },
    ...OUTPUT,
    ...TARGET,
  },
  examples: ['$ kms-byok audit --since 30d --region eu-west-1', '$ kms-byok audit alias/payments --transcript escrow/transcript.md --json'],
};
