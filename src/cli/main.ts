/**
 * `main(argv, io)`: the command table and the only place that maps errors to exit codes and stderr
 * lines. Each command module is imported lazily; help (`kms-byok help CMD`, `kms-byok CMD --help`) is
 * printed here from the command's declaration (src/cli/specs/), so it never loads a command module,
 * the AWS SDK, age or inquirer.
 */
import { ExitCode, KmsByokError } from '../core/errors.js';
import { signalExitCode } from './cancel.js';
import { closestFlag, parseFlags } from './args.js';
import { declaredHelp, flagSpec, isGroup } from './command-spec.js';
import { say, type Io } from './io.js';
import { asksForJson, errorDocument } from './documents.js';
import { printJson } from './render.js';

export type CommandFn = (argv: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, () => Promise<CommandFn>> = {
  onboard: async () => (await import('./commands/onboard.js')).onboard,
  escrow: async () => (await import('./commands/escrow.js')).escrow,
  emulator: async () => (await import('./commands/emulator.js')).emulator,
  wizard: async () => (await import('./commands/wizard.js')).wizard,
  wrap: async () => (await import('./commands/wrap.js')).wrap,
  import: async () => (await import('./commands/import.js')).importCommand,
  status: async () => (await import('./commands/status.js')).status,
  discover: async () => (await import('./commands/discover.js')).discover,
  reimport: async () => (await import('./commands/reimport.js')).reimport,
  restore: async () => (await import('./commands/restore.js')).restore,
  rotate: async () => (await import('./commands/rotate.js')).rotate,
  revoke: async () => (await import('./commands/revoke.js')).revoke,
  transcript: async () => (await import('./commands/transcript.js')).transcript,
  verify: async () => (await import('./commands/verify.js')).verify,
  policy: async () => (await import('./commands/policy.js')).policy,
  schedule: async () => (await import('./commands/schedule.js')).schedule,
  fleet: async () => (await import('./commands/fleet.js')).fleet,
  retire: async () => (await import('./commands/retire.js')).retire,
  audit: async () => (await import('./commands/audit.js')).audit,
  alarms: async () => (await import('./commands/alarms.js')).alarms,
};

export const VERSION = '0.1.0';

/** Runs one kms-byok invocation and returns its exit code. Never throws. */
export async function main(argv: string[], given: Io): Promise<number> {
  const [command, ...rest] = argv;
  // With --json, a failure is also a JSON document on stdout (docs/json.md, "Errors") — unless the
  // command already printed its document (one document per run).
  let printed = false;
  const io: Io = { ...given, stdout: { write: (t) => ((printed = true), given.stdout.write(t)) } };
  const asJson = (code: number, e: unknown): number => {
    if (!printed && asksForJson(argv)) printJson(given, errorDocument(e));
    return code;
  };
  try {
    if (command === undefined && io.interactive && !io.env.CI) {
      // No arguments on a terminal: the ceremony wizard.
      return await (await import('./commands/wizard.js')).wizard([], io);
    }
    if (command === undefined || command === '--help' || command === '-h' || (command === 'help' && rest.length === 0)) {
      io.stdout.write((await commandTable()).topLevelHelp());
      return command === undefined && (!io.interactive || io.env.CI) ? ExitCode.usage : ExitCode.ok;
    }
    if (command === 'help') return await help(rest, io);
    if (command === '--version' || command === 'version') {
      io.stdout.write(`kms-byok ${VERSION}\n`);
      return ExitCode.ok;
    }
    const load = COMMANDS[command];
    if (!load) throw unknownCommand(command);
    if (await asksForHelp(argv, io)) return ExitCode.ok;
    const code = await (await load())(rest, io);
    if (!io.cancel.cutShort()) return code;
    const interrupted = reportInterrupted(undefined, argv, io);
    return asJson(interrupted.code, interrupted.error);
  } catch (e) {
    if (io.cancel.cutShort() || (e instanceof KmsByokError && e.code === 'ERR_CANCELLED' && io.cancel.reason())) {
      const interrupted = reportInterrupted(e, argv, io);
      return asJson(interrupted.code, interrupted.error);
    }
    return asJson(reportError(e, io), e);
  }
}

/** Quotes an argument for a POSIX shell when it needs it (argv never holds secrets: docs/architecture.md). */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command stopped by a signal (`cli/cancel.ts`): what is done, what stopped it, and the command that
 * finishes it — the same argv, plus `--resume` for a fleet run (`--plan`). Exit 128 + the signal.
 */
function reportInterrupted(e: unknown, argv: string[], io: Io): { code: number; error: KmsByokError } {
  const signal = io.cancel.reason() ?? 'SIGINT';
  const done = io.cancel.done();
  const what = e instanceof KmsByokError ? e.message : 'stopped before the work was done';
  const message = `interrupted by ${signal}: ${what}; ${done.length > 0 ? `done before stopping: ${done.join(', ')}` : 'no KMS call that changes state completed'}`;
  say(io, null, message);
  if (e instanceof KmsByokError && e.hint) say(io, 'note', e.hint);
  const fleet = argv.some((a) => a === '--plan' || a.startsWith('--plan='));
  const again = fleet && !argv.includes('--resume') ? [...argv, '--resume'] : argv;
  const hint = `re-run the same command to finish: kms-byok ${again.map(shellWord).join(' ')}`;
  say(io, 'hint', hint);
  io.stderr.write('kms-byok: code: ERR_CANCELLED\n');
  // The JSON error document (with --json) carries the same message, the note and the re-run command.
  const note = e instanceof KmsByokError && e.hint ? `${e.hint}; ` : '';
  return { code: signalExitCode(signal), error: new KmsByokError('ERR_CANCELLED', message, { hint: `${note}${hint}` }) };
}

/**
 * Every command's declaration (src/cli/specs/), loaded only for the top-level help: a command run
 * loads its own declaration with its module, and help for one command loads that one
 * (specs/lazy.ts). The whole table was ~10% of what `status` loaded.
 */
const commandTable = () => import('./specs/index.js');
const resolveDeclared = async (argv: readonly string[]) => (await import('./specs/lazy.js')).resolveDeclaredLazily(argv);

/** `kms-byok help CMD [SUB]`: the declaration's help, the same text as `kms-byok CMD [SUB] --help`. */
async function help(words: string[], io: Io): Promise<number> {
  const found = await resolveDeclared(words);
  if (!found) throw unknownCommand(words[0]!);
  if (found.rest.length > 0) {
    throw new KmsByokError('ERR_USAGE', `unknown ${found.declared.name} command "${found.rest[0]}"`, { hint: `run kms-byok help ${found.declared.name}` });
  }
  io.stdout.write(declaredHelp(found.declared));
  return ExitCode.ok;
}

/**
 * Handles `kms-byok CMD [SUB] … --help` (or -h) from the declaration, without loading the command:
 * the flags are parsed as the command parses them (an unknown flag is still a usage error), and the
 * help is printed when asked for. Returns whether it printed help.
 */
async function asksForHelp(argv: string[], io: Io): Promise<boolean> {
  // Help is asked for by one of these words (as a flag, or as a group's first word): without one, the
  // command table is not needed.
  if (!argv.some((a) => a === '--help' || a === '-h' || a === 'help')) return false;
  const found = await resolveDeclared(argv);
  if (!found) return false;
  const d = found.declared;
  if (isGroup(d)) {
    const [first] = found.rest;
    if (first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write(declaredHelp(d));
      return true;
    }
    return false;
  }
  if (!found.rest.includes('--help') && !found.rest.includes('-h')) return false;
  const p = parseFlags(found.rest, flagSpec(d.flags), d.name);
  if (p.values.help !== true) return false;
  io.stdout.write(declaredHelp(d));
  return true;
}

function unknownCommand(command: string): KmsByokError {
  const guess = closestFlag(command, Object.keys(COMMANDS));
  return new KmsByokError('ERR_USAGE', `unknown command "${command}"`, {
    hint: `${guess ? `did you mean ${guess}? ` : ''}the commands are: ${Object.keys(COMMANDS).join(', ')}; run kms-byok --help`,
  });
}

/** Prints an error as `kms-byok: error: …` + `kms-byok: hint: …` and returns its exit code. */
export function reportError(e: unknown, io: Io): number {
  if (e instanceof KmsByokError) {
    say(io, 'error', e.message);
    if (e.hint) say(io, 'hint', e.hint);
    if (io.env.KMS_BYOK_DEBUG === '1') io.stderr.write(`${e.code}\n${String((e.cause as Error | undefined)?.stack ?? '')}\n`);
    else io.stderr.write(`kms-byok: code: ${e.code}\n`);
    return e.exitCode;
  }
  say(io, 'error', `internal error: ${e instanceof Error ? e.message : String(e)}`);
  say(io, 'hint', 'this is a bug in kms-byok: re-run with KMS_BYOK_DEBUG=1 and report the output (it never contains key material)');
  if (io.env.KMS_BYOK_DEBUG === '1' && e instanceof Error) io.stderr.write(`${e.stack}\n`);
  return ExitCode.failed;
}
