/**
 * The STS edge: who the target's credentials are (`sts:GetCallerIdentity`). The only importer of
 * `@aws-sdk/client-sts`, loaded by `cli/target.ts` only when a command asks (docs/architecture.md,
 * "AWS caller identity"). The call is made with the same credentials, profile, Region and — when the
 * KMS target is a custom endpoint — the same endpoint as KMS; otherwise the SDK's own STS endpoint
 * resolution applies (which honours AWS_ENDPOINT_URL_STS).
 *
 * Contract: {@link getCallerIdentity} never throws. A failure is `{ known: false, reason }` with the
 * SDK's error name and message; nothing is guessed.
 */
import { GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';

export interface StsOptions {
  region: string;
  profile?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Whole-call deadline in milliseconds (default 10 s): the record must not hold up a ceremony. */
  timeoutMs?: number;
}

/** The principal that signs the target's requests, or why it is not known. */
export type CallerIdentity = { known: true; account: string; arn: string; userId: string } | { known: false; reason: string };

export async function getCallerIdentity(options: StsOptions): Promise<CallerIdentity> {
  const config: STSClientConfig = {
    region: options.region,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: options.timeoutMs ?? 10_000, throwOnRequestTimeout: true },
  };
  if (options.profile) config.profile = options.profile;
  if (options.endpoint) config.endpoint = options.endpoint;
  if (options.credentials) config.credentials = options.credentials;
  const client = new STSClient(config);
  try {
    const out = await client.send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    const { Account: account, Arn: arn, UserId: userId } = out;
    if (typeof account !== 'string' || !/^\d{12}$/.test(account) || typeof arn !== 'string' || !arn.startsWith('arn:')) {
      return { known: false, reason: 'GetCallerIdentity answered without a valid Account and Arn' };
    }
    return { known: true, account, arn, userId: typeof userId === 'string' ? userId : '' };
  } catch (e) {
    const err = e as { name?: string; message?: string };
    const text = `${err.name ?? 'Error'}: ${err.message ?? String(e)}`.replace(/\s+/g, ' ').slice(0, 200);
    return { known: false, reason: `GetCallerIdentity failed (${text})` };
  } finally {
    client.destroy();
  }
}
