/**
 * Maps what the AWS SDK throws (service exceptions, network and credential errors) to KmsByokError
 * codes with a next step. Pure: the SDK error is only read by its `name`, `code` and `message`.
 */
import { KmsByokError, type ErrorCode } from '../core/errors.js';

interface Mapping {
  code: ErrorCode;
  hint: string;
}

const SERVICE_EXCEPTIONS: Record<string, Mapping> = {
  NotFoundException: { code: 'ERR_KMS_NOT_FOUND', hint: 'check the key id, ARN or alias and the --region' },
  AlreadyExistsException: { code: 'ERR_KMS_ALREADY_EXISTS', hint: 'choose another --alias, or move the existing one deliberately' },
  KMSInvalidStateException: { code: 'ERR_KMS_INVALID_STATE', hint: 'run kms-byok status for the key to see its state' },
  DisabledException: { code: 'ERR_KMS_DISABLED', hint: 'enable the key (aws kms enable-key) and try again' },
  ExpiredImportTokenException: {
    code: 'ERR_KMS_IMPORT_TOKEN_EXPIRED',
    hint: 're-run to fetch fresh import parameters (they are valid for 24 hours)',
  },
  InvalidImportTokenException: {
    code: 'ERR_KMS_IMPORT_TOKEN_INVALID',
    hint: 'the import token belongs to another key or call: re-run to fetch fresh import parameters',
  },
  InvalidCiphertextException: {
    code: 'ERR_KMS_INVALID_CIPHERTEXT',
    hint: 'KMS could not unwrap the material: wrap it with the public key and algorithm of the same GetParametersForImport call',
  },
  IncorrectKeyMaterialException: {
    code: 'ERR_KMS_INCORRECT_KEY_MATERIAL',
    hint: 'this is not the material previously imported into the key: use the escrow that belongs to this key',
  },
  UnsupportedOperationException: { code: 'ERR_KMS_UNSUPPORTED', hint: 'this key (origin, key spec or Region) does not support the operation' },
  ValidationException: { code: 'ERR_KMS_VALIDATION', hint: 'KMS rejected a parameter; check the flags against the KMS limits' },
  InvalidArnException: { code: 'ERR_KMS_VALIDATION', hint: 'check the key ARN' },
  MalformedPolicyDocumentException: {
    code: 'ERR_KMS_VALIDATION',
    hint: 'fix the key policy (kms-byok policy prints one that keeps the account root in control); nothing was created',
  },
  TagException: { code: 'ERR_KMS_VALIDATION', hint: 'KMS refused a tag: keys are 1–128 characters, values 0–256, and the aws: prefix is reserved' },
  LimitExceededException: { code: 'ERR_KMS_LIMIT', hint: 'a KMS quota is exhausted in this account and Region; see the Service Quotas console' },
  ThrottlingException: { code: 'ERR_KMS_THROTTLED', hint: 'KMS is throttling requests: retry later or lower the request rate' },
  ConflictException: { code: 'ERR_KMS_CONFLICT', hint: 'another operation on this key is under way: retry in a few minutes' },
  AccessDeniedException: { code: 'ERR_KMS_ACCESS_DENIED', hint: 'the caller lacks permission: check the key policy and IAM policy' },
  UnrecognizedClientException: { code: 'ERR_KMS_CREDENTIALS', hint: 'the credentials are not valid for this account: check --profile' },
  InvalidSignatureException: { code: 'ERR_KMS_CREDENTIALS', hint: 'the request signature was refused: check the credentials and the clock' },
  ExpiredTokenException: { code: 'ERR_KMS_CREDENTIALS', hint: 'the session credentials expired: refresh them (e.g. aws sso login)' },
  KMSInternalException: { code: 'ERR_KMS_INTERNAL', hint: 'KMS reported an internal error: retry' },
  DependencyTimeoutException: { code: 'ERR_KMS_INTERNAL', hint: 'KMS timed out internally: retry' },
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

function readField(e: unknown, field: string): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const v = (e as Record<string, unknown>)[field];
  return typeof v === 'string' ? v : undefined;
}

/** Lower-cases the first letter and drops a final period, as every kms-byok message does. */
function tidy(message: string): string {
  const oneLine = message.split('\n')[0]!.trim().replace(/\.$/, '');
  return oneLine.charAt(0).toLowerCase() + oneLine.slice(1);
}

/**
 * Turns anything an SDK call threw into a KmsByokError. `operation` is the KMS API name, `target`
 * a description of the endpoint for unreachable errors.
 */
export function fromSdkError(e: unknown, operation: string, target: string): KmsByokError {
  if (e instanceof KmsByokError) return e;
  const name = readField(e, 'name') ?? '';
  const code = readField(e, 'code') ?? '';
  const message = readField(e, 'message') ?? String(e);
  const mapped = SERVICE_EXCEPTIONS[name];
  if (mapped) {
    return new KmsByokError(mapped.code, `${operation}: ${tidy(message) || name}`, { hint: mapped.hint, cause: e });
  }
  if (NETWORK_CODES.has(code) || name === 'TimeoutError' || /socket hang up|ECONNREFUSED/.test(message)) {
    // Say only what is known: a refused or unresolvable connection never carried the request; after a
    // timeout or a reset the request may have been carried out (docs/architecture.md, "Unknown outcomes").
    const neverSent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /ECONNREFUSED/.test(message);
    return new KmsByokError('ERR_KMS_UNREACHABLE', `${neverSent ? 'cannot reach' : `no answer to ${operation} from`} KMS at ${target} (${code || name})`, {
      hint: `check --endpoint-url / AWS_ENDPOINT_URL_KMS, --region and the network; ${neverSent ? 'the request never reached KMS' : `whether KMS carried out ${operation} is unknown until it is asked`}`,
      cause: e,
    });
  }
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return new KmsByokError('ERR_KMS_CREDENTIALS', `no usable AWS credentials: ${tidy(message)}`, {
      hint: 'configure the default credential chain or pass --profile; for a rehearsal pass --emulator',
      cause: e,
    });
  }
  if (/region is missing/i.test(message)) {
    return new KmsByokError('ERR_MISSING_INPUT', 'no AWS Region configured', {
      hint: 'pass --region, set AWS_REGION, or use a profile that has a region',
      cause: e,
    });
  }
  const fault = readField(e, '$fault');
  if (fault === 'server' || name.endsWith('Exception')) {
    // `target` is the endpoint URL when one was given: AWS's Health Dashboard says nothing about it.
    const aws = !/^https?:\/\//.test(target) || /\.amazonaws\.com(\.cn)?(:\d+)?(\/|$)/.test(target);
    const hint = aws ? 'retry; if it persists, check the AWS Health Dashboard' : `retry; if it persists, check the service at ${target}`;
    return new KmsByokError('ERR_KMS', `${operation}: ${name ? `${name}: ` : ''}${tidy(message)}`, { hint, cause: e });
  }
  return new KmsByokError('ERR_KMS', `${operation} failed: ${tidy(message)}`, { hint: 'retry; if it persists, run with KMS_BYOK_DEBUG=1 and report it', cause: e });
}
