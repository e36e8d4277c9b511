/**
 * The CLI's window on the process: streams, environment, terminal facts. Commands never touch
 * `process` directly, so end-to-end tests run `main(argv, io)` in-process with a recording Io.
 */
import type { Readable } from 'node:stream';
import { pipeSafe } from './pipe-safe.js';

export interface Io {
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
  stdin: Readable;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** stdin and stderr are both terminals: prompting is possible. */
  interactive: boolean;
  /** stderr is a terminal: progress may redraw lines. */
  stderrIsTTY: boolean;
  /** Resolves when the user interrupts (SIGINT); used to stop long-running commands such as `emulator`. */
  interrupted: Promise<void>;
}

/** The real process. */
export function systemIo(): Io {
  const stderr = pipeSafe(process.stderr);
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  return {
    // EPIPE-safe: a closed reader (`| head -1`) stops the output instead of crashing (pipe-safe.ts).
    stdout: pipeSafe(process.stdout, (m) => stderr.write(m)),
    stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    interrupted,
  };
}

/** Prefixed stderr lines, as `age` does: `kms-byok: error: …`, `kms-byok: hint: …`. */
export function say(io: Io, kind: 'error' | 'hint' | 'warning' | 'note' | null, message: string): void {
  io.stderr.write(`kms-byok: ${kind ? `${kind}: ` : ''}${message}\n`);
}
