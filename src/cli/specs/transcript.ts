/** `kms-byok transcript verify`: declaration (flags, help). The command is in ../commands/transcript.ts. */
import type { CommandGroup, CommandSpec } from '../command-spec.js';
import { OUTPUT, TARGET } from './shared.js';

export const TRANSCRIPT_VERIFY: CommandSpec = {
  name: 'transcript verify',
  summary: "check the ceremony transcript's hash chain (exit 3: broken)",
  usage: ['transcript verify FILE [--head SHA256] [--against-kms TARGET-FLAGS] [--json]'],
  description: `Checks the ceremony transcript's hash chain: every entry carries the SHA-256 of the previous one, so
an edited, removed or reordered entry is detected. Removing the last entries is only detectable with
--head (the head hash printed after the last ceremony), or with --against-kms: every ceremony writes
the head after its entry to the tag kms-byok:transcript-head of each key it touched, and the tag must
name an entry of this chain that names the key — a rewritten (re-chained) or shortened transcript
fails. Exit 3 when the chain is broken or a key's anchor does not match.`,
  flags: {
    head: { type: 'string', value: 'SHA256', help: 'the head hash printed after the last ceremony: the chain must end there' },
    'against-kms': { type: 'boolean', help: 'also check each key the transcript names against the head anchored in its\nkms-byok:transcript-head tag (ListResourceTags; needs the target flags)' },
    ...OUTPUT,
    ...TARGET,
  },
  examples: ['$ kms-byok transcript verify escrow/transcript.md --head 3f5a…', '$ kms-byok transcript verify escrow/transcript.md --against-kms --region eu-west-1'],
};

export const TRANSCRIPT: CommandGroup = {
  name: 'transcript',
  summary: "verify the ceremony transcript's hash chain",
  subcommands: [TRANSCRIPT_VERIFY],
};
