/**
 * An embedded AWS KMS emulator, used by tests and rehearsals through the real `KMSClient`.
 *
 * It is an independent oracle: it imports nothing from the rest of kms-byok (only `node:*` and
 * node-forge), unwraps imported key material with node-forge RSA-OAEP and its own RFC 5649 key unwrap,
 * and follows AWS's documented import behaviour (tokens bound to key and wrapping parameters for 24 h,
 * ValidTo in the future and ≤ 365 days, same-material re-import, expiry and deletion back to
 * PendingImport, rotation, multi-Region replicas). For reliability tests and failure drills it can
 * enforce AWS's request-rate quotas (`quotas`, `quotaScale`), add latency, and inject faults
 * (`faults`, `emu.faults`, or the `KmsByokEmulator.InjectFault` control operation); see README.md.
 * It plays an organisation too: STS `AssumeRole` into declared roles (`roles`), each account's keys
 * kept apart, and Organizations `ListAccounts` (`accounts`, `managementAccount`).
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
import { FaultRegistry, latencySampler, type FaultController, type FaultSpec, type LatencyOptions } from './faults.js';
import { KMS_OPERATIONS } from './handlers/index.js';
import { declareAccount, declareRole, directoryOf } from './directory.js';
import { QuotaLimiter, resolveQuotas, type QuotaTable } from './quotas.js';
import { EmulatorClosing, createKmsServer, persister, type RequestLogEntry } from './server.js';
import { createStateFile, emptyState, loadStateFile, serialiseState, type WrappingKeySpec } from './state.js';
import { UNWRAP_ENGINES, type UnwrapEngine } from './unwrap.js';
import { WrappingKeyPool } from './wrapping-pool.js';

export type { EmulatorClock } from './clock.js';
export type { RequestLogEntry } from './server.js';
export type { FaultController, FaultKind, FaultSpec, InjectedFault, LatencyOptions } from './faults.js';
export { parseRoleFlag } from './directory.js';
export { FAULT_KINDS, parseFaultFlag, parseLatencyFlag, parseQuotaFlag } from './faults.js';
export type { QuotaTable } from './quotas.js';
export type { UnwrapEngine } from './unwrap.js';
export { UNWRAP_ENGINES } from './unwrap.js';
export { KMS_DEFAULT_QUOTAS, KMS_EARLIER_DEFAULT_QUOTAS, KMS_QUOTAS_SOURCE, QUOTA_GROUPS } from './quotas.js';

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
  /**
   * Load state from this file at start when it exists, else create it at start (exclusively, mode 0600);
   * save it after every request that changes it (atomic rename). Never followed through a symbolic link.
   * It holds imported key material and wrapping private keys in the clear: for rehearsals only.
   */
  stateFile?: string;
  /** With `stateFile`: false loads it but never writes it (a benchmark's fixed starting state). Default true. */
  saveState?: boolean;
  /** Pre-generated RSA wrapping key pairs (PKCS#8 PEM) per WrappingKeySpec, handed out round robin instead of generating. */
  wrappingKeys?: Partial<Record<'RSA_2048' | 'RSA_3072' | 'RSA_4096', string[]>>;
  /** Generated wrapping key pairs kept ready per WrappingKeySpec in use (0–64); default 2. */
  wrappingKeyPoolSize?: number;
  /** Specs whose pool starts filling at start (default none: a spec fills on first use). */
  warmWrappingKeys?: ReadonlyArray<'RSA_2048' | 'RSA_3072' | 'RSA_4096'>;
  /**
   * Request-rate quotas per (account, Region): requests per second by operation name (or shared group,
   * see `QUOTA_GROUPS`), or `'default'` for AWS's (`KMS_DEFAULT_QUOTAS`). Default: no quotas.
   * Over quota: HTTP 400 ThrottlingException "Rate exceeded", as KMS.
   */
  quotas?: QuotaTable | 'default';
  /** Multiplies every quota rate (e.g. 80 = 80× AWS's); alone, it scales AWS's defaults. Default 1. */
  quotaScale?: number;
  /** Latency added before each KMS operation: ms or [min, max] ms, by operation name or `default`. */
  latency?: LatencyOptions;
  /** Faults in force from the start (see `emu.faults`). */
  faults?: readonly FaultSpec[];
  /**
   * How ImportKeyMaterial decrypts RSA: `node-forge` (default; pure JavaScript, independent of the
   * product's OpenSSL wrapping, ~0.2 s per RSA-4096 unwrap) or `openssl` (Node's crypto, for
   * benchmarks and large rehearsals that need KMS-like throughput).
   */
  unwrapEngine?: UnwrapEngine;
  /** Source of randomness for latency ranges and fault probabilities; default Math.random. */
  random?: () => number;
  /**
   * Accounts of the organisation (12 digits each) that Organizations `ListAccounts` lists; the
   * management account (default: `accountId`) is always one. Added to what a state file remembers.
   */
  accounts?: readonly string[];
  /**
   * Roles STS `AssumeRole` lets a caller assume (their accounts are declared with them); with
   * `externalId`, AssumeRole must pass it. Credentials it issues act in the role's account.
   */
  roles?: ReadonlyArray<{ roleArn: string; externalId?: string }>;
  /** The organisation's management account (the only one `ListAccounts` answers); default `accountId`. */
  managementAccount?: string;
}

/** A running emulator. */
export interface RunningEmulator {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** The emulator clock: every request expires material whose ValidTo it has passed. */
  clock: EmulatorClock;
  /** Every request answered (or dropped) so far, in order; `fault` names an injected fault that fired. */
  requests: ReadonlyArray<RequestLogEntry>;
  /** Injected faults: `emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'drop-after', times: 1 })`. */
  faults: FaultController;
  /**
   * Stops listening (dropping requests still waiting on injected latency), waits for background key
   * generation, and saves the state file.
   */
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
  const loaded = options.stateFile ? loadStateFile(options.stateFile) : undefined;
  const state = loaded ?? emptyState();
  if (options.managementAccount !== undefined || options.accounts?.length || options.roles?.length) {
    if (options.managementAccount !== undefined && !/^\d{12}$/.test(options.managementAccount)) throw new Error(`emulator: account id must be 12 digits, not ${options.managementAccount}`);
    directoryOf(state, accountId, options.managementAccount);
    for (const a of options.accounts ?? []) declareAccount(state, accountId, a);
    for (const r of options.roles ?? []) declareRole(state, accountId, r.roleArn, r.externalId);
  }
  const clock = new OffsetClock(options.now, state.clockOffsetMs);
  const operations = new Set(Object.keys(KMS_OPERATIONS));
  const random = options.random ?? Math.random;
  const faults = new FaultRegistry(operations, random);
  for (const f of options.faults ?? []) faults.add(f);
  const latency = latencySampler(options.latency ?? {}, operations, random);
  const quotas =
    options.quotas !== undefined || options.quotaScale !== undefined
      ? new QuotaLimiter(resolveQuotas(options.quotas ?? 'default', options.quotaScale ?? 1, operations))
      : undefined;
  const unwrapEngine = options.unwrapEngine ?? 'node-forge';
  if (!UNWRAP_ENGINES.includes(unwrapEngine)) throw new Error(`emulator: unknown unwrap engine ${String(unwrapEngine)}`);
  const warm = (options.warmWrappingKeys ?? []) as WrappingKeySpec[];
  for (const spec of warm) if (!['RSA_2048', 'RSA_3072', 'RSA_4096'].includes(spec)) throw new Error(`emulator: unknown wrapping key spec ${spec}`);
  const pool = new WrappingKeyPool(options.wrappingKeys ?? {}, options.wrappingKeyPoolSize ?? 2);
  const sleeping = new Set<() => void>();
  let closed = false;
  const sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (closed) return reject(new EmulatorClosing());
      const abort = (): void => {
        clearTimeout(timer);
        reject(new EmulatorClosing());
      };
      const timer = setTimeout(() => {
        sleeping.delete(abort);
        resolve();
      }, ms);
      sleeping.add(abort);
    });
  const log: RequestLogEntry[] = [];
  const deps = {
    state,
    clock,
    pool,
    defaultRegion: region,
    accountId,
    log,
    faults,
    unwrapEngine,
    ...(quotas ? { quotas } : {}),
    latency,
    sleep,
    ...(options.stateFile && options.saveState !== false ? { stateFile: options.stateFile } : {}),
  };
  const persist = persister(deps);
  const server = createKmsServer(deps, persist);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The path is claimed at once, exclusively: nothing planted there later is followed or replaced unseen.
  if (deps.stateFile !== undefined && loaded === undefined) {
    try {
      createStateFile(deps.stateFile, serialiseState(state));
    } catch (e) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw e;
    }
  }
  pool.warm(warm);
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    port: bound,
    clock,
    requests: log,
    faults,
    close() {
      closing ??= (async () => {
        closed = true;
        for (const abort of [...sleeping]) abort();
        sleeping.clear();
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
