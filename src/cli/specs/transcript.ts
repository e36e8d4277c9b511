/** `kms-byok transcript verify`: declaration (flags, help). The command is in ../commands/transcript.ts. */
import type { CommandGroup, CommandSpec } from '../command-spec.js';
import { HELP_FLAG, OUTPUT, TARGET } from './shared.js';

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

export const TRANSCRIPT_RENDER: CommandSpec = {
  name: 'transcript render',
  summary: 'print a ceremony record people can sign (self-contained, print-ready HTML)',
  usage: ['transcript render FILE --html [--ceremony N] [--escrow-dir DIR] [--out FILE]'],
  description: `Renders the ceremonies of an intact transcript as one self-contained HTML page each (inline CSS
with print styles, nothing fetched): who (OS user and AWS caller), when, target account and Region,
key ARN and alias, key spec, wrapping, the check values in large type, the custodians and their
acknowledgements, the escrow files' SHA-256, the transcript's chain head, and signature lines for the
custodians, the operator and two witnesses. Acknowledgements are the transcript's own "custodian
acknowledgement" entries; with --escrow-dir the custodians come from the escrow sidecars, so the page
shows who has not yet acknowledged. A broken chain is refused (exit 3): print only a record that
verifies. Open the page in a browser and print it, or save it as PDF.`,
  flags: {
    html: { type: 'boolean', help: 'render HTML (the only format; required, so another can be added later)' },
    ceremony: { type: 'string', value: 'N', help: 'only the ceremony of entry N (1-based, as transcript verify counts);\ndefault: every entry that is not an acknowledgement' },
    'escrow-dir': { type: 'string', value: 'DIR', help: "the escrow directory: custodians from the keys' sidecars (who has not acknowledged)" },
    out: { type: 'string', value: 'FILE', help: 'write the page to FILE (created new, never overwritten); default stdout' },
    ...HELP_FLAG,
  },
  examples: ['$ kms-byok transcript render escrow/transcript.md --html --escrow-dir escrow --out ceremony.html', '$ kms-byok transcript render escrow/transcript.md --html --ceremony 3 > entry-3.html'],
};

export const TRANSCRIPT: CommandGroup = {
  name: 'transcript',
  summary: "verify the ceremony transcript's hash chain, or render a printable record",
  subcommands: [TRANSCRIPT_VERIFY, TRANSCRIPT_RENDER],
};
