/** `main(argv, io)` in-process with a recording Io (as test/e2e/harness.ts run(), without the emulator). */
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { neverCancelled } from '../../src/cli/cancel.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(argv: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    stdin: Readable.from([]),
    env: { ...(options.env ?? {}) },
    cwd: options.cwd ?? process.cwd(),
    interactive: false,
    stderrIsTTY: false,
    cancel: neverCancelled(),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
