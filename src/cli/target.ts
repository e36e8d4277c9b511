/**
 * Target selection: the only place that decides between AWS and the embedded emulator (docs/architecture.md:
 * the same ceremony code runs against both). Order:
 *   1. `--emulator` or `--emulator-state FILE` → embedded emulator (in-process, loopback);
 *   2. `--endpoint-url` or AWS_ENDPOINT_URL_KMS → that endpoint with the default credential chain
 *      (dummy static credentials when the endpoint is loopback and no credentials are configured,
 *      because nothing on loopback is AWS: that is `kms-byok emulator`);
 *   3. `--profile`, `--region`, AWS_PROFILE, AWS_REGION or AWS_DEFAULT_REGION → AWS KMS;
 *   4. nothing points at AWS → on a terminal (and CI unset), the embedded emulator, announced on stderr
 *      as a rehearsal; otherwise (cron, CI, a monitoring job) ERR_NO_TARGET, exit 2, before any KMS
 *      request or write: an unattended run must never report on a rehearsal it did not ask for.
 *
 * The emulator's state file holds imported material and wrapping private keys in the clear, so a
 * `--material-file` (the user's own material) with `--emulator-state` is refused unless
 * `--i-understand-plaintext-state` is given ({@link assertTargetChosen}).
 */
import { isLoopbackUrl } from '../core/endpoints.js';
import { KmsByokError } from '../core/errors.js';
import { isRegion } from '../core/aws-ids.js';
import type { KmsPort } from '../kms/port.js';
import type { KmsCallGate } from '../kms/port.js';
import { bool, str, type Parsed } from './args.js';
import { say, type Io } from './io.js';
import type { CredentialProvider, RoleAccess } from './roles.js';
import type { CallerIdentity } from '../aws/sts.js';

export type { CallerIdentity };

export interface Target {
  kms: KmsPort;
  /** Human description, e.g. "embedded emulator (rehearsal)" or "AWS KMS (us-east-1)". */
  label: string;
  rehearsal: boolean;
  /** Endpoint URL when one is used (emulator or custom). */
  endpoint?: string;
  /**
   * The command's clock, handed to ceremonies as `deps.now`: the emulator's when the target is one
   * (so a rehearsal whose emulator clock was advanced sees its keys expire), else the local clock.
   */
  now: () => Date;
  /**
   * The principal the target's credentials sign as (`sts:GetCallerIdentity` with the same credentials,
   * Region and custom endpoint as KMS; docs/architecture.md "AWS caller identity"), asked once and
   * remembered. Never throws: an STS failure is `{ known: false, reason }`. Ask before `close()`.
   */
  caller(): Promise<CallerIdentity>;
  close(): Promise<void>;
}

/** One line for transcripts and screens: `ARN (account N)`, or `unknown (reason)`. */
export function describeCaller(c: CallerIdentity): string {
  return c.known ? `${c.arn} (account ${c.account})` : `unknown (${c.reason})`;
}

/** The STS settings of a target, for {@link Target.caller}; the STS SDK is loaded on the first ask. */
function callerOnce(options: import('../aws/sts.js').StsOptions): () => Promise<CallerIdentity> {
  let answer: Promise<CallerIdentity> | undefined;
  return () => {
    answer ??= import('../aws/sts.js').then(
      (m) => m.getCallerIdentity(options),
      (e: unknown) => ({ known: false as const, reason: `the STS client could not be loaded (${e instanceof Error ? e.message : String(e)})` }),
    );
    return answer;
  };
}

/**
 * Where STS is asked: `--endpoint-url` (the custom endpoint answers STS too, as the emulator does),
 * else AWS_ENDPOINT_URL_STS, else a loopback AWS_ENDPOINT_URL_KMS (nothing on loopback is AWS), else
 * the SDK's own resolution.
 */
function stsEndpoint(p: Parsed, env: Io['env']): string | undefined {
  const kmsEnv = env.AWS_ENDPOINT_URL_KMS;
  return str(p, 'endpoint-url') ?? env.AWS_ENDPOINT_URL_STS ?? (kmsEnv !== undefined && isLoopbackUrl(kmsEnv) ? kmsEnv : undefined);
}

const LOCAL_CLOCK = (): Date => new Date();

/**
 * The clock of a KMS endpoint that is a kms-byok emulator (`KmsByokEmulator.GetClock`, answered
 * `{"Now": <epoch seconds>}`, src/emulator/README.md): read once, then advanced by local elapsed
 * time. Asked only of loopback endpoints (an emulator serves nothing else); any other endpoint, or one
 * that does not answer the control call within 2 s, gets the local clock. Never throws.
 */
export async function endpointClock(endpoint: string | undefined): Promise<() => Date> {
  if (endpoint === undefined || !isLoopbackUrl(endpoint)) return LOCAL_CLOCK;
  try {
    const answer = JSON.parse(await postLoopback(endpoint, { 'X-Amz-Target': 'KmsByokEmulator.GetClock', 'Content-Type': 'application/x-amz-json-1.1' }, '{}', 2000)) as { Now?: unknown };
    if (typeof answer.Now !== 'number' || !Number.isFinite(answer.Now)) return LOCAL_CLOCK;
    const offset = answer.Now * 1000 - Date.now();
    return () => new Date(Date.now() + offset);
  } catch {
    return LOCAL_CLOCK;
  }
}

/**
 * One POST over node:http(s) whose 2xx body is returned (anything else rejects). Not `fetch`: loading
 * Node's fetch (undici) costs more start-up time than a `status` run has (docs/architecture.md, "The build").
 */
async function postLoopback(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<string> {
  const { request } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const DUMMY_CREDENTIALS = { accessKeyId: 'AKIDKMSBYOKREHEARSAL', secretAccessKey: 'rehearsal-not-a-secret' };
const DEFAULT_EMULATOR_REGION = 'us-east-1';

function hasConfiguredCredentials(env: Io['env']): boolean {
  return Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
}

/** Whether anything in flags or environment points at AWS (or a custom endpoint): target-env.ts. */
import { pointsAtAws } from './target-env.js';
export { pointsAtAws };

/** The warning printed whenever an emulator state file is used (also by `kms-byok emulator`). */
export function plaintextStateWarning(file: string): string {
  return `the emulator state file ${file} holds imported key material and wrapping private keys in the clear: it is for rehearsals only, never for real key material`;
}

/** The rehearsal was asked for by name: `--emulator` or `--emulator-state FILE`. */
export function wantsEmulator(p: Parsed): boolean {
  return bool(p, 'emulator') || str(p, 'emulator-state') !== undefined;
}

/** `CI` set to anything but empty, `0` or `false` (as CI services set it). */
function isCi(env: Io['env']): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Exit-2 checks of the target choice, made before any KMS request or write: {@link openTarget} makes
 * them for every command, and a command that writes before opening its target (onboard: the escrow
 * directory) calls this first:
 * - nothing points at AWS, no rehearsal was asked for, and no one is at a terminal or CI is set →
 *   ERR_NO_TARGET;
 * - `--material-file` with `--emulator-state` without `--i-understand-plaintext-state` → ERR_USAGE.
 */
export function assertTargetChosen(p: Parsed, io: Io): void {
  if (!wantsEmulator(p) && !pointsAtAws(p, io.env) && (!io.interactive || isCi(io.env))) {
    throw new KmsByokError('ERR_NO_TARGET', 'no AWS target: give --region, --profile or --endpoint-url, or --emulator for a rehearsal', {
      hint: `${isCi(io.env) ? 'CI is set' : 'no terminal'}, so kms-byok does not fall back to a rehearsal on the embedded emulator; AWS_REGION, AWS_PROFILE or AWS_ENDPOINT_URL_KMS in the environment also count`,
    });
  }
  const state = str(p, 'emulator-state');
  if (state !== undefined && str(p, 'material-file') !== undefined && !bool(p, 'i-understand-plaintext-state')) {
    throw new KmsByokError('ERR_USAGE', `--material-file with --emulator-state ${state} would write that material in the clear to the state file`, {
      hint: 'rehearse without --emulator-state (state discarded on exit) or with generated material; --i-understand-plaintext-state overrides this for material that is not real',
    });
  }
}

export async function openTarget(
  p: Parsed,
  io: Io,
  options: { quiet?: boolean; onRequest?: (operation: string, requestId: string | undefined) => void } = {},
): Promise<Target> {
  assertTargetChosen(p, io);
  const onRequest = options.onRequest ? { onRequest: options.onRequest } : {};
  const endpoint = str(p, 'endpoint-url') ?? io.env.AWS_ENDPOINT_URL_KMS;
  const profile = str(p, 'profile');
  // The Region from the command's environment (Io), as the SDK would take it from the process's:
  // AWS_REGION first (before a profile's region, as the SDK orders them), then AWS_DEFAULT_REGION (the
  // aws CLI's name, which counts as pointing at AWS, so it must be honoured as the Region too).
  const region = str(p, 'region') ?? (io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION || undefined);
  // Checked before any KMS call: a malformed Region used to create a key, then fail at the escrow
  // manifest (which only accepts Region names), leaving an empty key behind.
  if (region !== undefined && !isRegion(region)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --region "${region}"`, { hint: 'give an AWS Region name such as us-east-1 or eu-west-3' });
  }
  const timeoutText = str(p, 'read-timeout');
  if (timeoutText !== undefined && (!/^\d{1,4}(\.\d{1,3})?$/.test(timeoutText) || Number(timeoutText) <= 0)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --read-timeout "${timeoutText}"`, { hint: 'give the seconds to wait for each KMS answer, e.g. 30 (default 60)' });
  }
  const requestTimeout = timeoutText === undefined ? {} : { requestTimeoutMs: Math.round(Number(timeoutText) * 1000) };
  // Every port of the command (replicas' too: forRegion keeps the options) stops on a signal.
  const gate = { gate: io.cancel.gate() };
  const rehearsal = wantsEmulator(p) || !pointsAtAws(p, io.env);
  // An emulator endpoint's clock is asked while the SDK loads: the round trip overlaps the compile
  // (endpointClock never rejects; a non-loopback endpoint or none gets the local clock without a request).
  const clock = rehearsal ? undefined : endpointClock(endpoint);
  const { createAwsKms } = await import('../kms/aws.js');

  if (rehearsal) {
    if (wantsEmulator(p) && (str(p, 'endpoint-url') || profile)) {
      throw new KmsByokError('ERR_USAGE', `${bool(p, 'emulator') ? '--emulator' : '--emulator-state'} cannot be combined with --endpoint-url or --profile`, {
        hint: 'drop --emulator to target that endpoint, or drop the others to rehearse',
      });
    }
    const { startEmulator } = await import('../emulator/index.js');
    const stateFile = str(p, 'emulator-state');
    const emulatorRegion = region ?? DEFAULT_EMULATOR_REGION;
    const emu = await startEmulator({ port: 0, region: emulatorRegion, ...(stateFile ? { stateFile } : {}) }).catch((e: unknown) => {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `cannot use --emulator-state ${stateFile ?? ''}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`.replace(/\s+$/, ''), {
        hint: 'give a file in an existing directory that is either new or written by the emulator',
      });
    });
    if (!options.quiet) {
      say(io, 'note', `target: embedded KMS emulator (rehearsal: nothing is created in AWS)${stateFile ? `, state in ${stateFile}` : ', state discarded on exit'}`);
      if (!wantsEmulator(p)) say(io, 'note', 'to target AWS pass --region and/or --profile (or --endpoint-url); unattended runs need one of them, or --emulator');
    }
    // Said even when quiet: the file is on disk whatever the command prints.
    if (stateFile) say(io, 'warning', plaintextStateWarning(stateFile));
    try {
      const kms = await createAwsKms({ endpoint: emu.endpoint, region: emulatorRegion, credentials: DUMMY_CREDENTIALS, maxAttempts: 2, ...onRequest, ...requestTimeout, ...gate });
      const caller = callerOnce({ region: emulatorRegion, endpoint: emu.endpoint, credentials: DUMMY_CREDENTIALS });
      return { kms, label: 'embedded emulator (rehearsal)', rehearsal: true, endpoint: emu.endpoint, now: () => emu.clock.now(), caller, close: () => emu.close() };
    } catch (e) {
      await emu.close();
      throw e;
    }
  }

  const dummy = endpoint !== undefined && isLoopbackUrl(endpoint) && !profile && !hasConfiguredCredentials(io.env);
  const kms = await createAwsKms({
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(dummy ? { credentials: DUMMY_CREDENTIALS, region: region ?? DEFAULT_EMULATOR_REGION } : {}),
    ...onRequest,
    ...requestTimeout,
    ...gate,
  });
  const label = endpoint ? `KMS at ${endpoint} (${kms.region})` : `AWS KMS (${kms.region}${profile ? `, profile ${profile}` : ''})`;
  const now = await clock!;
  const sts = stsEndpoint(p, io.env);
  const caller = callerOnce({
    region: kms.region,
    ...(profile ? { profile } : {}),
    ...(sts ? { endpoint: sts } : {}),
    ...(dummy ? { credentials: DUMMY_CREDENTIALS } : {}),
  });
  return { kms, label, rehearsal: dummy, ...(endpoint ? { endpoint } : {}), now, caller, close: async () => {} };
}

/**
 * How an entry reaches its account (docs/fleet.md "Accounts and roles"): through a role (STS
 * AssumeRole, with `profile` or the default chain as the source credentials), and the account the
 * plan expects its credentials to act in.
 */
export interface AccountAccess {
  role?: RoleAccess;
  account?: string;
}

/** What a fleet run asks of the context: a KMS port per (credentials, Region), and the run's clock. */
export interface RegionalTargets {
  /**
   * The port for `region` with `profile` (or the default chain) — or, with `access.role`, with that
   * role's credentials — made on first use and shared by the run. Its SDK client never retries
   * (`maxAttempts: 1`): the caller paces and retries. When `access` names a role or an account, the
   * identity is asked once per credentials (GetCallerIdentity) before the first port: AssumeRole
   * refused → ERR_ROLE_DENIED, another account → ERR_ACCOUNT_MISMATCH; that failure is kept, so every
   * entry of those credentials fails with it and no other is touched.
   */
  portFor(region: string, profile: string | undefined, access?: AccountAccess): Promise<KmsPort>;
  /** The account and ARN the credentials act as (asked once per credentials; see `portFor`). */
  identityFor(region: string, profile: string | undefined, access?: AccountAccess): Promise<{ account: string; arn: string }>;
  /** The organisation's accounts (Organizations ListAccounts with `profile` or the default chain); refused → ERR_KMS_ACCESS_DENIED. */
  organizationAccounts(region: string, profile: string | undefined): Promise<{ id: string; name?: string; status?: string }[]>;
  /** The emulator's clock against an emulator (see {@link Target.now}), else the local clock. */
  now: () => Date;
  close(): Promise<void>;
}

/**
 * Targets for a run over many Regions (fleet plans): the same choice as {@link openTarget} — one
 * embedded emulator for `--emulator`/`--emulator-state`, else `--endpoint-url`/AWS_ENDPOINT_URL_KMS,
 * else AWS — with a port per (profile, Region) behind `gate`.
 */
export async function openRegionalTargets(p: Parsed, io: Io, gate: KmsCallGate): Promise<RegionalTargets> {
  let endpoint = str(p, 'endpoint-url') ?? io.env.AWS_ENDPOINT_URL_KMS;
  let now: () => Date = LOCAL_CLOCK;
  let closeEmulator = async (): Promise<void> => {};
  if (wantsEmulator(p)) {
    const { startEmulator } = await import('../emulator/index.js');
    const stateFile = str(p, 'emulator-state');
    const emu = await startEmulator({ port: 0, ...(stateFile ? { stateFile } : {}) }).catch((e: unknown) => {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `cannot use --emulator-state ${stateFile ?? ''}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`.replace(/\s+$/, ''), {
        hint: 'give a file in an existing directory that is either new or written by the emulator',
      });
    });
    closeEmulator = () => emu.close();
    endpoint = emu.endpoint;
    now = () => emu.clock.now();
    say(io, 'note', 'target: embedded KMS emulator (rehearsal: nothing is created in AWS)');
    if (stateFile) say(io, 'warning', plaintextStateWarning(stateFile));
  } else now = await endpointClock(endpoint);
  const ports = new Map<string, Promise<KmsPort>>();
  const loopback = endpoint !== undefined && isLoopbackUrl(endpoint);
  // At a loopback endpoint with no credentials configured (an emulator), a dummy pair signs; configured
  // ones (AWS_ACCESS_KEY_ID, AWS_PROFILE, …) are used as given, as openTarget does.
  const dummyBase = loopback && !hasConfiguredCredentials(io.env);
  // One credentials provider per role (shared by its Regions) and one identity check per credentials;
  // both kept for the run, failures too: a refused role fails its entries, not the run.
  const providers = new Map<string, CredentialProvider>();
  const identities = new Map<string, Promise<{ account: string; arn: string }>>();
  const credentialsKey = (profile: string | undefined, access?: AccountAccess): string => {
    const r = access?.role;
    return JSON.stringify([profile ?? '', r?.roleArn ?? '', r?.externalId ?? '', r?.sessionName ?? '', r?.durationSeconds ?? 0]);
  };
  const stsEndpoint = loopback ? { endpoint: endpoint! } : {};
  const roleProvider = async (region: string, profile: string | undefined, role: RoleAccess): Promise<CredentialProvider> => {
    const k = credentialsKey(profile, { role });
    let provider = providers.get(k);
    if (!provider) {
      const { roleCredentials } = await import('./roles.js');
      const source = profile !== undefined ? { profile } : dummyBase ? { static: DUMMY_CREDENTIALS } : { chain: true as const };
      provider = roleCredentials(role, { ...stsEndpoint, region, source });
      providers.set(k, provider);
    }
    return provider;
  };
  const identityFor = (region: string, profile: string | undefined, access?: AccountAccess): Promise<{ account: string; arn: string }> => {
    const k = credentialsKey(profile, access);
    let id = identities.get(k);
    if (!id) {
      id = (async () => {
        const { checkIdentity } = await import('./roles.js');
        const credentials = access?.role ? await roleProvider(region, profile, access.role) : profile === undefined && dummyBase ? DUMMY_CREDENTIALS : undefined;
        return checkIdentity(credentials, { ...stsEndpoint, region, ...(profile ? { profile } : {}) }, { ...(access?.role ? { role: access.role } : {}), ...(access?.account ? { expected: access.account } : {}) });
      })();
      id.catch(() => {});
      identities.set(k, id);
    }
    return id;
  };
  return {
    now,
    identityFor,
    async organizationAccounts(region, profile) {
      const { listOrganizationAccounts } = await import('./roles.js');
      return listOrganizationAccounts(profile === undefined && dummyBase ? DUMMY_CREDENTIALS : undefined, { ...stsEndpoint, region, ...(profile ? { profile } : {}) });
    },
    portFor(region, profile, access) {
      const k = `${credentialsKey(profile, access)}/${region}`;
      let port = ports.get(k);
      if (!port) {
        port = (async () => {
          if (access?.role !== undefined || access?.account !== undefined) await identityFor(region, profile, access);
          const { createAwsKms } = await import('../kms/aws.js');
          const role = access?.role ? await roleProvider(region, profile, access.role) : undefined;
          const dummy = !role && dummyBase && profile === undefined;
          return createAwsKms({
            region,
            ...(profile && !role ? { profile } : {}),
            ...(endpoint ? { endpoint } : {}),
            ...(dummy ? { credentials: DUMMY_CREDENTIALS } : {}),
            ...(role ? { credentials: role } : {}),
            maxAttempts: 1,
            gate,
          });
        })();
        port.catch(() => ports.delete(k));
        ports.set(k, port);
      }
      return port;
    },
    close: closeEmulator,
  };
}

/** The embedded emulator's module, loaded only when a rehearsal or `kms-byok emulator` asks for it. */
export function loadEmulator(): Promise<typeof import('../emulator/index.js')> {
  return import('../emulator/index.js');
}
