/**
 * Target selection: the only place that decides between AWS and the embedded emulator (design §2.3:
 * the same ceremony code runs against both). Order:
 *   1. `--emulator` → embedded emulator (in-process, loopback, optional `--emulator-state FILE`);
 *   2. `--endpoint-url` or AWS_ENDPOINT_URL_KMS → that endpoint with the default credential chain
 *      (dummy static credentials when the endpoint is loopback and no credentials are configured,
 *      because nothing on loopback is AWS: that is `kms-byok emulator`);
 *   3. `--profile`, `--region`, AWS_PROFILE, AWS_REGION or AWS_DEFAULT_REGION → AWS KMS;
 *   4. nothing points at AWS → embedded emulator, announced on stderr as a rehearsal.
 */
import { KmsByokError } from '../core/errors.js';
import { isRegion } from '../core/aws-ids.js';
import type { KmsPort } from '../kms/port.js';
import { bool, str, type Parsed } from './args.js';
import { say, type Io } from './io.js';

export interface Target {
  kms: KmsPort;
  /** Human description, e.g. "embedded emulator (rehearsal)" or "AWS KMS (us-east-1)". */
  label: string;
  rehearsal: boolean;
  /** Endpoint URL when one is used (emulator or custom). */
  endpoint?: string;
  close(): Promise<void>;
}

const DUMMY_CREDENTIALS = { accessKeyId: 'AKIDKMSBYOKREHEARSAL', secretAccessKey: 'rehearsal-not-a-secret' };
const DEFAULT_EMULATOR_REGION = 'us-east-1';

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

function hasConfiguredCredentials(env: Io['env']): boolean {
  return Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
}

/** Whether anything in flags or environment points at AWS (or a custom endpoint): target-env.ts. */
import { pointsAtAws } from './target-env.js';
export { pointsAtAws };

export async function openTarget(
  p: Parsed,
  io: Io,
  options: { quiet?: boolean; onRequest?: (operation: string, requestId: string | undefined) => void } = {},
): Promise<Target> {
  const onRequest = options.onRequest ? { onRequest: options.onRequest } : {};
  const endpoint = str(p, 'endpoint-url') ?? io.env.AWS_ENDPOINT_URL_KMS;
  const profile = str(p, 'profile');
  const region = str(p, 'region');
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
  const { createAwsKms } = await import('../kms/aws.js');

  if (bool(p, 'emulator') || !pointsAtAws(p, io.env)) {
    if (bool(p, 'emulator') && (str(p, 'endpoint-url') || profile)) {
      throw new KmsByokError('ERR_USAGE', '--emulator cannot be combined with --endpoint-url or --profile', {
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
      if (!bool(p, 'emulator')) say(io, 'note', 'to target AWS pass --region and/or --profile (or --endpoint-url)');
    }
    try {
      const kms = await createAwsKms({ endpoint: emu.endpoint, region: emulatorRegion, credentials: DUMMY_CREDENTIALS, maxAttempts: 2, ...onRequest, ...requestTimeout });
      return { kms, label: 'embedded emulator (rehearsal)', rehearsal: true, endpoint: emu.endpoint, close: () => emu.close() };
    } catch (e) {
      await emu.close();
      throw e;
    }
  }

  const dummy = endpoint !== undefined && isLoopback(endpoint) && !profile && !hasConfiguredCredentials(io.env);
  const kms = await createAwsKms({
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(dummy ? { credentials: DUMMY_CREDENTIALS, region: region ?? DEFAULT_EMULATOR_REGION } : {}),
    ...onRequest,
    ...requestTimeout,
  });
  const label = endpoint ? `KMS at ${endpoint} (${kms.region})` : `AWS KMS (${kms.region}${profile ? `, profile ${profile}` : ''})`;
  return { kms, label, rehearsal: dummy, ...(endpoint ? { endpoint } : {}), close: async () => {} };
}
