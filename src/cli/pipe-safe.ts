/**
 * Output that survives its reader going away. `kms-byok escrow inspect … | head -1` closes the pipe
 * after one line; Node then reports EPIPE as an 'error' event, which without a listener is an
 * uncaught exception (a stack trace and exit 1). Here a closed reader just stops the output: later
 * writes are dropped, the command finishes what it started (a ceremony is not cut short because its
 * report is no longer read) and exits with its own code, as `cat` does under SIGPIPE-ignoring shells.
 * Any other write error (a full disk behind `> file`) is reported on stderr and makes the exit code 1:
 * a result that could not be written is not a success.
 */
export interface SafeWriter {
  write(text: string): void;
}

export function pipeSafe(stream: NodeJS.WriteStream, report?: (message: string) => void): SafeWriter {
  let closed = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (closed) return;
    closed = true;
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
    report?.(`kms-byok: error: cannot write the output: ${e.code ?? e.message}\n`);
    process.once('exit', () => {
      process.exitCode = 1;
    });
  });
  return {
    write(text) {
      if (!closed && !stream.destroyed) stream.write(text);
    },
  };
}
