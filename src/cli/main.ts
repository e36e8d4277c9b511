/**
 * `main(argv, io)`: the command table and the only place that maps errors to exit codes and stderr
 * lines. Each command module is imported lazily, so `--help` never loads the AWS SDK or inquirer.
 */
import { ExitCode, KmsByokError } from '../core/errors.js';
import { signalExitCode } from './cancel.js';
import { say, type Io } from './io.js';
import { USAGE } from './usage.js';

export type CommandFn = (argv: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, () => Promise<CommandFn>> = {
  onboard: async () => (await import('./commands/onboard.js')).onboard,
  escrow: async () => (await import('./commands/escrow.js')).escrow,
  emulator: async () => (await import('./commands/emulator.js')).emulator,
  wizard: async () => (await import('./commands/wizard.js')).wizard,
  wrap: async () => (await import('./commands/wrap.js')).wrap,
  import: async () => (await import('./commands/import.js')).importCommand,
  status: async () => (await import('./commands/status.js')).status,
  reimport: async () => (await import('./commands/reimport.js')).reimport,
  restore: async () => (await import('./commands/restore.js')).restore,
  rotate: async () => (await import('./commands/rotate.js')).rotate,
  revoke: async () => (await import('./commands/revoke.js')).revoke,
  transcript: async () => (await import('./commands/transcript.js')).transcript,
  verify: async () => (await import('./commands/verify.js')).verify,
  policy: async () => (await import('./commands/policy.js')).policy,
  schedule: async () => (await import('./commands/schedule.js')).schedule,
};

export const VERSION = '0.1.0';

/** Runs one kms-byok invocation and returns its exit code. Never throws. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined && io.interactive && !io.env.CI) {
      // No arguments on a terminal: the ceremony wizard.
      return await (await import('./commands/wizard.js')).wizard([], io);
    }
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      io.stdout.write(USAGE);
      return command === undefined && (!io.interactive || io.env.CI) ? ExitCode.usage : ExitCode.ok;
    }
    if (command === '--version' || command === 'version') {
      io.stdout.write(`kms-byok ${VERSION}\n`);
      return ExitCode.ok;
    }
    const load = COMMANDS[command];
    if (!load) {
      throw new KmsByokError('ERR_USAGE', `unknown command "${command}"`, {
        hint: `the commands are: ${Object.keys(COMMANDS).join(', ')}; run kms-byok --help`,
      });
    }
    const code = await (await load())(rest, io);
    return io.cancel.cutShort() ? reportInterrupted(undefined, argv, io) : code;
  } catch (e) {
    return io.cancel.cutShort() || (e instanceof KmsByokError && e.code === 'ERR_CANCELLED' && io.cancel.reason()) ? reportInterrupted(e, argv, io) : reportError(e, io);
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
function reportInterrupted(e: unknown, argv: string[], io: Io): number {
  const signal = io.cancel.reason() ?? 'SIGINT';
  const done = io.cancel.done();
  const what = e instanceof KmsByokError ? e.message : 'stopped before the work was done';
  say(io, null, `interrupted by ${signal}: ${what}; ${done.length > 0 ? `done before stopping: ${done.join(', ')}` : 'no KMS call that changes state completed'}`);
  if (e instanceof KmsByokError && e.hint) say(io, 'note', e.hint);
  const fleet = argv.some((a) => a === '--plan' || a.startsWith('--plan='));
  const again = fleet && !argv.includes('--resume') ? [...argv, '--resume'] : argv;
  say(io, 'hint', `re-run the same command to finish: kms-byok ${again.map(shellWord).join(' ')}`);
  io.stderr.write('kms-byok: code: ERR_CANCELLED\n');
  return signalExitCode(signal);
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
