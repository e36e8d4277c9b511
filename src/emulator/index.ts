/**
 * An embedded AWS KMS emulator, used by tests and rehearsals through the real `KMSClient`.
 *
 * It is an independent oracle: it imports nothing from the rest of kms-byok (only `node:*` and
 * node-forge), unwraps imported key material with node-forge RSA-OAEP and its own RFC 5649 key unwrap,
 * and follows AWS's documented import behaviour (tokens bound to key and wrapping parameters for 24 h,
 * ValidTo in the future and ≤ 365 days, same-material re-import, expiry and deletion back to
 * PendingImport, rotation, multi-Region replicas).
 *
 * ```ts
 * const emu = await startEmulator();
 * const kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint,
 *   credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
 * // …
 * await emu.close();
 * ```
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { OffsetClock, type EmulatorClock } from './clock.js';
import { createKmsServer, persister, type RequestLogEntry } from './server.js';
import { emptyState, loadStateFile } from './state.js';
import { WrappingKeyPool } from './wrapping-pool.js';

export type { EmulatorClock } from './clock.js';
export type { RequestLogEntry } from './server.js';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** TCP port; 0 (default) picks an ephemeral port. The emulator always binds 127.0.0.1. */
  port?: number;
  /** Region used when a request carries no SigV4 credential scope; default `us-east-1`. */
  region?: string;
  /** Account id in ARNs; default `111122223333`. */
  accountId?: string;
  /** Base clock; default real time. The emulator clock is this plus an offset that `clock` moves. */
  now?: () => Date;
  /** Load state from this file at start when it exists; save it after every request that changes it (atomic, mode 0600). */
  stateFile?: string;
  /** Pre-generated RSA wrapping key pairs (PKCS#8 PEM) per WrappingKeySpec, handed out round robin instead of generating. */
  wrappingKeys?: Partial<Record<'RSA_2048' | 'RSA_3072' | 'RSA_4096', string[]>>;
}

/** A running emulator. */
export interface RunningEmulator {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** The emulator clock: every request expires material whose ValidTo it has passed. */
  clock: EmulatorClock;
  /** Every request answered so far, in order. */
  requests: ReadonlyArray<RequestLogEntry>;
  /** Stops listening, waits for background key generation, and saves the state file. */
  close(): Promise<void>;
}

const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;

/**
 * Starts an emulator on 127.0.0.1.
 * @throws Error on invalid options, an unreadable state file, or a port that cannot be bound
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`emulator: invalid port ${port}`);
  const region = options.region ?? 'us-east-1';
  if (!REGION.test(region)) throw new Error(`emulator: invalid region ${region}`);
  const accountId = options.accountId ?? '111122223333';
  if (!/^\d{12}$/.test(accountId)) throw new Error(`emulator: account id must be 12 digits, not ${accountId}`);

  if (options.stateFile !== undefined && !existsSync(dirname(resolve(options.stateFile)))) {
    throw new Error(`emulator: the directory of the state file ${options.stateFile} does not exist`);
  }
  const state = (options.stateFile ? loadStateFile(options.stateFile) : undefined) ?? emptyState();
  const clock = new OffsetClock(options.now, state.clockOffsetMs);
  const pool = new WrappingKeyPool(options.wrappingKeys ?? {});
  const log: RequestLogEntry[] = [];
  const deps = { state, clock, pool, defaultRegion: region, accountId, log, ...(options.stateFile ? { stateFile: options.stateFile } : {}) };
  const persist = persister(deps);
  const server = createKmsServer(deps, persist);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    port: bound,
    clock,
    requests: log,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        await pool.close();
        persist();
      })();
      return closing;
    },
  };
}
