/**
 * Every command's declaration, in the order the top-level help lists them, and the top-level help
 * generated from them, without loading any command module. main.ts imports it for `main(['--help'])`;
 * help for one command loads only that declaration (lazy.ts); the build renders the top-level help
 * from it.
 */
import { flagSections, isGroup, resolveIn, type CommandSpec, type Declared } from '../command-spec.js';
import { EMULATOR } from './emulator.js';
import { ESCROW } from './escrow.js';
import { FLEET_COMMANDS } from './fleet.js';
import { IMPORT } from './import.js';
import { ONBOARD } from './onboard.js';
import { POLICY } from './policy.js';
import { REIMPORT } from './reimport.js';
import { RESTORE } from './restore.js';
import { REVOKE } from './revoke.js';
import { ROTATE } from './rotate.js';
import { SCHEDULE } from './schedule.js';
import { TARGET } from './shared.js';
import { STATUS } from './status.js';
import { DISCOVER } from './discover.js';
import { TRANSCRIPT } from './transcript.js';
import { VERIFY } from './verify.js';
import { WIZARD } from './wizard.js';
import { WRAP } from './wrap.js';
import { RETIRE } from './retire.js';
import { AUDIT } from './audit.js';
import { ALARMS } from './alarms.js';

export const DECLARED: readonly Declared[] = [
  ONBOARD, ESCROW, EMULATOR, WIZARD, WRAP, IMPORT, STATUS, DISCOVER, VERIFY, REIMPORT, RESTORE, ROTATE, REVOKE, RETIRE, AUDIT, ALARMS, FLEET_COMMANDS, TRANSCRIPT, POLICY, SCHEDULE,
];

/** The declaration of `name` (a command or a command group). */
export function declared(name: string): Declared | undefined {
  return DECLARED.find((d) => d.name === name);
}

/** Every runnable declaration: commands, and each subcommand of a group. */
export function allCommands(): CommandSpec[] {
  return DECLARED.flatMap((d) => (isGroup(d) ? [...d.subcommands] : [d]));
}

/** The declaration that `argv` (the words after `kms-byok`) runs (command-spec.ts, `resolveIn`). */
export function resolveDeclared(argv: readonly string[]): { declared: Declared; rest: string[] } | undefined {
  return resolveIn(argv[0] === undefined ? undefined : declared(argv[0]), argv);
}

/** The top-level help (`kms-byok --help`), with every command and its summary. */
export function topLevelHelp(): string {
  const width = Math.max(...DECLARED.map((d) => d.name.length)) + 2;
  const commands = DECLARED.map((d) => `    ${d.name.padEnd(width)}${d.summary}`).join('\n');
  const target = [...flagSections(TARGET).values()].flat();
  const label = (name: string, value: string | undefined) => `--${name}${value ? ` ${value}` : ''}`;
  const targetWidth = Math.max(...target.map(([n, d]) => label(n, d.value).length)) + 2;
  const targetLines = target.map(([n, d]) => `    ${label(n, d.value).padEnd(targetWidth)}${d.help}`).join('\n');
  return `Usage:
    kms-byok onboard --yes (--recipient AGE_RECIPIENT... | --passphrase-file FILE) [flags]
    kms-byok COMMAND [KEY...] [flags]
    kms-byok help COMMAND

Bring your own key material into AWS KMS: create an EXTERNAL key, generate the material
locally, seal it in an escrow for the custodians, wrap it, import it, and prove KMS holds it.

With no AWS target (--region, --profile, --endpoint-url, AWS_REGION, AWS_PROFILE or
AWS_ENDPOINT_URL_KMS) a command on a terminal runs against an embedded KMS emulator: a
rehearsal. Without a terminal, or with CI set, it exits 2 (ERR_NO_TARGET) unless --emulator
asks for the rehearsal.

Commands:
${commands}

Target flags (every command that talks to KMS):
${targetLines}

Keys are given as a key id, a key ARN or alias/NAME, positionally or with --key-id (as aws kms
spells it). A key ARN names its Region: it is used when --region is not given.

Output:
    Results go to stdout; progress, warnings and errors to stderr. --json prints one JSON document.
    Exit codes: 0 done, 1 failed, 2 usage or missing input, 3 needs attention, 130/143/129 stopped
    by SIGINT/SIGTERM/SIGHUP (re-run the same command to finish).

Run kms-byok help COMMAND (or kms-byok COMMAND --help) for a command's flags and examples.
`;
}
