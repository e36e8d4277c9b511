/** Runs the wizard in-process with a scripted prompter and a recording, "interactive" Io. */
import { Readable } from 'node:stream';
import { parseCommand } from '../../src/cli/command-spec.js';
import { WIZARD } from '../../src/cli/specs/wizard.js';
import type { Io } from '../../src/cli/io.js';
import { neverCancelled } from '../../src/cli/cancel.js';
import { reportError } from '../../src/cli/main.js';
import { runWizard } from '../../src/cli/commands/wizard.js';
import { scripted, type Answer, type Scripted } from './scripted.js';

export interface WizardRun {
  code: number;
  stdout: string;
  stderr: string;
  prompter: Scripted;
}

export function recordingIo(options: { env?: Record<string, string>; cwd: string; interactive?: boolean }): Io & { out(): string; err(): string } {
  let stdout = '';
  let stderr = '';
  return {
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    stdin: Readable.from([]),
    env: { ...(options.env ?? {}) },
    cwd: options.cwd,
    interactive: options.interactive ?? true,
    stderrIsTTY: false,
    cancel: neverCancelled(),
    out: () => stdout,
    err: () => stderr,
  };
}

/** The wizard with `argv` (its own flags) and a script; errors are reported as main() reports them. */
export async function runScripted(argv: string[], script: [string, Answer][], options: { env?: Record<string, string>; cwd: string }): Promise<WizardRun> {
  const io = recordingIo(options);
  const prompter = scripted(script);
  let code: number;
  try {
    code = await runWizard(parseCommand(argv, WIZARD), io, prompter);
  } catch (e) {
    code = reportError(e, io);
  }
  return { code, stdout: io.out(), stderr: io.err(), prompter };
}
