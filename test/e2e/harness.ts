/**
 * End-to-end harness: runs `main(argv, io)` in-process with a recording Io, against an emulator
 * started on loopback, in a fresh temp directory. Nothing here reaches beyond 127.0.0.1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { KMSClient } from '@aws-sdk/client-kms';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { neverCancelled } from '../../src/cli/cancel.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws when it is not one JSON document). */
  json<T = Record<string, unknown>>(): T;
}

/**
 * Runs the CLI in-process. `env` replaces the environment entirely (no ambient AWS settings leak in).
 * `interactive` (default false) says whether stdin and stderr are terminals.
 */
export async function run(
  argv: string[],
  options: { env?: Record<string, string>; stdin?: string | Uint8Array; cwd?: string; interactive?: boolean } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    env: { ...(options.env ?? {}) },
    cwd: options.cwd ?? process.cwd(),
    interactive: options.interactive ?? false,
    stderrIsTTY: false,
    cancel: neverCancelled(),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr, json: <T,>() => JSON.parse(stdout) as T };
}

/**
 * The KMS operations the emulator has seen, in order (to prove what was, or was not, called). STS
 * `GetCallerIdentity` — the read every transcript entry makes to name the AWS caller — is left out:
 * `emu.requests` has every request.
 */
export function operations(emu: RunningEmulator): string[] {
  return emu.requests.map((r) => r.operation).filter((o) => o !== 'GetCallerIdentity');
}

export interface Workspace {
  dir: string;
  emu: RunningEmulator;
  /** Flags that point the CLI at this workspace's emulator. */
  target: string[];
  kms: KMSClient;
  path(name: string): string;
  close(): Promise<void>;
}

export async function workspace(region = 'us-east-1'): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'kms-byok-e2e-'));
  // Seeded with the committed test-only wrapping keys, so no test waits for RSA-4096 generation.
  const emu = await startTestEmulator({ port: 0, region });
  const kms = new KMSClient({
    region,
    endpoint: emu.endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  return {
    dir,
    emu,
    kms,
    target: ['--endpoint-url', emu.endpoint, '--region', region],
    path: (name) => join(dir, name),
    async close() {
      kms.destroy();
      await emu.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
