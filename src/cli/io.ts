/**
 * The CLI's window on the process: streams, environment, terminal facts. Commands never touch
 * `process` directly, so end-to-end tests run `main(argv, io)` in-process with a recording Io.
 */
import type { Readable } from 'node:stream';
import { Cancellation } from './cancel.js';
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
  /**
   * Stop requests (SIGINT, SIGTERM, SIGHUP), with the contract in `cli/cancel.ts`: KMS ports opened for
   * the command honour it; `emulator` waits for `cancel.stopped()`. Tests pass `neverCancelled()` or
   * call `cancel.request(...)` themselves.
   */
  cancel: Cancellation;
  /**
   * Set by the wizard only: an identity or passphrase file that group or others may access is warned
   * about (with the `chmod`) instead of refused (ERR_INSECURE_FILE).
   */
  warnInsecureInputs?: boolean;
}

/**
 * The real process. Installs the handlers of SIGINT, SIGTERM and SIGHUP: from now on they no longer
 * end the process; they request a stop (first) or abandon what is in flight (second), as
 * `cli/cancel.ts` describes, and say so on stderr.
 */
export function systemIo(): Io {
  const cancel = new Cancellation();
  const onSignal = (signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP') => {
    const r = cancel.request(signal);
    const tell = (text: string) => void process.stderr.write(`kms-byok: ${text}\n`);
    if (r.kind === 'stop') {
      tell(`note: ${signal} received: stopping at the next safe point (a KMS call that changes state is let finish; ${signal === 'SIGHUP' ? 'SIGINT or SIGTERM' : 'the same signal again'} abandons it)`);
    } else if (r.kind === 'abandon') {
      if (r.abandoned.length === 0) tell(`note: ${signal} again: stopping now; nothing is in flight`);
      for (const what of r.abandoned) tell(`warning: abandoning ${what} in flight: its outcome is unknown until KMS is asked; re-run the same command, it asks KMS first`);
    }
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  const stderr = pipeSafe(process.stderr);
  return {
    // EPIPE-safe: a closed reader (`| head -1`) stops the output instead of crashing (pipe-safe.ts).
    stdout: pipeSafe(process.stdout, (m) => stderr.write(m)),
    stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    cancel,
  };
}

/** Prefixed stderr lines, as `age` does: `kms-byok: error: …`, `kms-byok: hint: …`. */
export function say(io: Io, kind: 'error' | 'hint' | 'warning' | 'note' | null, message: string): void {
  io.stderr.write(`kms-byok: ${kind ? `${kind}: ` : ''}${message}\n`);
}
