/** `kms-byok transcript verify`: declaration (flags, help). The command is in ../commands/transcript.ts. */
import type { CommandGroup, CommandSpec } from '../command-spec.js';
import { OUTPUT } from './shared.js';

export const TRANSCRIPT_VERIFY: CommandSpec = {
  name: 'transcript verify',
  summary: "check the ceremony transcript's hash chain (exit 3: broken)",
  usage: ['transcript verify FILE [--head SHA256] [--json]'],
  description: `Checks the ceremony transcript's hash chain: every entry carries the SHA-256 of the previous one, so
an edited, removed or reordered entry is detected. Removing the last entries is only detectable with
--head (the head hash printed after the last ceremony). Exit 3 when the chain is broken.`,
  flags: {
    head: { type: 'string', value: 'SHA256', help: 'the head hash printed after the last ceremony: the chain must end there' },
    ...OUTPUT,
  },
  examples: ['$ kms-byok transcript verify escrow/transcript.md --head 3f5a…'],
};

export const TRANSCRIPT: CommandGroup = {
  name: 'transcript',
  summary: "verify the ceremony transcript's hash chain",
  subcommands: [TRANSCRIPT_VERIFY],
};
