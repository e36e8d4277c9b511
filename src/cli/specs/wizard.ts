/** `kms-byok wizard`: declaration (flags, help). The command is in ../commands/wizard.ts. */
import type { CommandSpec } from '../command-spec.js';
import { OUTPUT, TARGET } from './shared.js';

export const WIZARD: CommandSpec = {
  name: 'wizard',
  summary: 'the ceremonies, interactively (also: kms-byok with no arguments on a terminal)',
  usage: ['wizard [--region REGION] [--profile NAME] [--endpoint-url URL] [--emulator] [--emulator-state FILE]', '    (or kms-byok with no arguments, on a terminal)'],
  description: `Asks, step by step, what the flags of onboard (and of the air-gapped onboard --export-parameters,
wrap and import) would take, with safe defaults; shows the consequences before anything irreversible;
shows each step's progress, the check value for witnesses to compare, and the equivalent command
line. With nothing pointing at AWS it offers the embedded emulator (a rehearsal).

Needs a terminal: without one, with CI set or with --json it exits 2 naming the flags to use instead.
Ctrl-C or Escape at any question cancels (exit 130) with nothing created.`,
  flags: {
    json: { type: 'boolean', help: 'refused: the wizard needs a terminal (use the commands it names instead)' },
    help: OUTPUT.help!,
    ...TARGET,
  },
};
