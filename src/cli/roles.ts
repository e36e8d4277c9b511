/**
 * Credentials for cross-account roles (docs/fleet.md "Accounts and roles"): STS AssumeRole through the
 * SDK's own provider (`fromTemporaryCredentials`), one provider per role shared by every Region that
 * role serves, and the identity check that the account the credentials act in is the one the plan
 * names. Loaded only by `cli/target.ts`, when a plan or `discover` names a role or an account.
 *
 * Contracts:
 * - {@link sharedCredentials}: concurrent callers share one AssumeRole; the credentials are reused
 *   until {@link REFRESH_BEFORE_MS} before their Expiration, then fetched again; a failure is not
 *   kept (the next caller asks STS again).
 * - {@link checkIdentity}: GetCallerIdentity once with the credentials; AssumeRole refused →
 *   ERR_ROLE_DENIED naming the role and its account; an identity in another account than `expected`
 *   → ERR_ACCOUNT_MISMATCH naming both. Never prints an external id or a credential.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromIni, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { parseRoleArn } from '../core/aws-ids.js';
import { KmsByokError } from '../core/errors.js';

export interface RoleAccess {
  roleArn: string;
  externalId?: string;
  sessionName?: string;
  durationSeconds?: number;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type CredentialProvider = () => Promise<AwsCredentials>;

/** Fresh credentials are fetched this long before the old ones expire (the SDK's own margin is 5 min). */
export const REFRESH_BEFORE_MS = 5 * 60_000;

/** The session name kms-byok assumes roles with when the plan names none. */
export const DEFAULT_SESSION_NAME = 'kms-byok';

/** One provider for many clients: see the module contract. */
export function sharedCredentials(inner: CredentialProvider, now: () => number = Date.now): CredentialProvider {
  let current: Promise<AwsCredentials> | undefined;
  let refreshAt = Infinity;
  return () => {
    if (current === undefined || now() >= refreshAt) {
      refreshAt = Infinity;
      const p = inner().then((c) => {
        refreshAt = c.expiration ? c.expiration.getTime() - REFRESH_BEFORE_MS : Infinity;
        return c;
      });
      p.catch(() => {
        if (current === p) current = undefined;
      });
      current = p;
    }
    return current;
  };
}

export interface StsPlace {
  /** The STS endpoint: the emulator's URL when the run targets one; else the SDK's (AWS_ENDPOINT_URL_STS or AWS). */
  endpoint?: string;
  region: string;
  /** Source credentials AssumeRole is called with: static (the emulator's dummy pair), a profile, or the default chain. */
  source: { static: AwsCredentials } | { profile: string } | { chain: true };
}

/** The SDK's AssumeRole provider for `role`, shared (see {@link sharedCredentials}). */
export function roleCredentials(role: RoleAccess, place: StsPlace): CredentialProvider {
  const master = 'static' in place.source ? place.source.static : 'profile' in place.source ? fromIni({ profile: place.source.profile }) : undefined;
  const provider = fromTemporaryCredentials({
    params: {
      RoleArn: role.roleArn,
      RoleSessionName: role.sessionName ?? DEFAULT_SESSION_NAME,
      ...(role.externalId !== undefined ? { ExternalId: role.externalId } : {}),
      ...(role.durationSeconds !== undefined ? { DurationSeconds: role.durationSeconds } : {}),
    },
    ...(master ? { masterCredentials: master } : {}),
    clientConfig: { region: place.region, maxAttempts: 3, ...(place.endpoint ? { endpoint: place.endpoint } : {}) },
  });
  return sharedCredentials(() => provider());
}

/** Who the credentials are: the account and ARN GetCallerIdentity answers, checked as the module contract says. */
export async function checkIdentity(
  credentials: CredentialProvider | AwsCredentials | undefined,
  place: Omit<StsPlace, 'source'> & { profile?: string },
  what: { role?: RoleAccess; expected?: string },
): Promise<{ account: string; arn: string }> {
  const sts = new STSClient({
    region: place.region,
    maxAttempts: 3,
    ...(place.endpoint ? { endpoint: place.endpoint } : {}),
    ...(credentials ? { credentials } : place.profile ? { profile: place.profile } : {}),
  });
  let id;
  try {
    id = await sts.send(new GetCallerIdentityCommand({}));
  } catch (e) {
    throw identityError(e, what.role);
  } finally {
    sts.destroy();
  }
  const account = id.Account ?? '';
  const arn = id.Arn ?? '';
  if (what.expected !== undefined && account !== what.expected) {
    const via = what.role ? `role ${what.role.roleArn}` : place.profile ? `profile ${place.profile}` : 'the default credentials';
    throw new KmsByokError('ERR_ACCOUNT_MISMATCH', `${via} acts as ${arn} in account ${account}, but the plan says account ${what.expected}`, {
      hint: 'fix the entry\'s "account" or "roleArn" (or the role\'s trust): no request was sent for these keys',
    });
  }
  return { account, arn };
}

function identityError(e: unknown, role: RoleAccess | undefined): KmsByokError {
  const name = (e as { name?: string }).name ?? '';
  const message = e instanceof Error ? e.message : String(e);
  if (role && (name === 'AccessDenied' || name === 'AccessDeniedException')) {
    const account = parseRoleArn(role.roleArn)?.accountId ?? 'unknown';
    return new KmsByokError('ERR_ROLE_DENIED', `STS AssumeRole refused role ${role.roleArn} in account ${account}: ${message}`, {
      hint: `check that the role's trust policy lets this caller assume it${role.externalId !== undefined ? ' and that the plan\'s "externalId" is the one the trust policy requires' : ', and whether it requires an "externalId"'}; the other accounts went on`,
      cause: e,
    });
  }
  if (name === 'ExpiredTokenException' || name === 'InvalidClientTokenId' || name === 'CredentialsProviderError' || name === 'UnrecognizedClientException') {
    return new KmsByokError('ERR_KMS_CREDENTIALS', `no usable credentials${role ? ` to assume ${role.roleArn}` : ''}: ${message}`, { hint: 'check --profile or the environment\'s AWS credentials', cause: e });
  }
  return new KmsByokError('ERR_KMS_UNREACHABLE', `cannot ask STS who ${role ? `role ${role.roleArn}` : 'these credentials'} is: ${message}`, { hint: 'check the network path to STS (AWS_ENDPOINT_URL_STS for a private endpoint)', cause: e });
}

/**
 * Organizations ListAccounts, every page (MaxResults 20), with `credentials` (undefined: the default
 * chain or `profile`). Refused (AccessDeniedException, AWSOrganizationsNotInUseException) →
 * ERR_KMS_ACCESS_DENIED naming the call, so `discover --organization` can say what it could not see.
 */
export async function listOrganizationAccounts(
  credentials: AwsCredentials | undefined,
  place: Omit<StsPlace, 'source'> & { profile?: string },
): Promise<{ id: string; name?: string; status?: string }[]> {
  const { ListAccountsCommand, OrganizationsClient } = await import('@aws-sdk/client-organizations');
  const org = new OrganizationsClient({
    region: place.region,
    maxAttempts: 3,
    ...(place.endpoint ? { endpoint: place.endpoint } : {}),
    ...(credentials ? { credentials } : place.profile ? { profile: place.profile } : {}),
  });
  const out: { id: string; name?: string; status?: string }[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  try {
    do {
      const page = await org.send(new ListAccountsCommand({ MaxResults: 20, ...(token ? { NextToken: token } : {}) }));
      for (const a of page.Accounts ?? []) if (a.Id) out.push({ id: a.Id, ...(a.Name ? { name: a.Name } : {}), ...(a.Status ? { status: a.Status } : {}) });
      token = page.NextToken;
      // A token seen before would page forever (docs/architecture.md, "Bounded waits").
      if (token !== undefined && seen.has(token)) break;
      if (token !== undefined) seen.add(token);
    } while (token !== undefined && seen.size < 1000);
  } catch (e) {
    const name = (e as { name?: string }).name ?? '';
    const message = e instanceof Error ? e.message : String(e);
    if (name === 'AccessDeniedException' || name === 'AWSOrganizationsNotInUseException') {
      throw new KmsByokError('ERR_KMS_ACCESS_DENIED', `Organizations ListAccounts refused: ${name}: ${message}`, {
        hint: "run from the organisation's management account (or a delegated administrator), or list the accounts with --accounts FILE",
        cause: e,
      });
    }
    throw new KmsByokError('ERR_KMS_UNREACHABLE', `Organizations ListAccounts failed: ${message}`, { hint: 'check the network path to Organizations', cause: e });
  } finally {
    org.destroy();
  }
  return out;
}
