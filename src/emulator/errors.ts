/**
 * The AWS exception helper of the emulator.
 *
 * Contract: every failure a handler reports is a {@link KmsException}. The server renders it as AWS's
 * JSON 1.1 error shape — HTTP status (400 for client faults, 500 for `KMSInternalException`), body
 * `{"__type":"<Name>","message":"…"}` and header `x-amzn-ErrorType: <Name>` — which the AWS SDK for
 * JavaScript reads back as an error whose `name` is `<Name>` (it looks at `__type` first, see
 * `loadJsonRpcErrorCode` in `@smithy/core/protocols`). Any other thrown value becomes a 500
 * `KMSInternalException`.
 */

/** Exception names the emulator can return: AWS KMS's own, plus the generic AWS JSON protocol ones. */
export type ExceptionName =
  | 'AlreadyExistsException'
  | 'ConflictException'
  | 'DisabledException'
  | 'DryRunOperationException'
  | 'ExpiredImportTokenException'
  | 'IncorrectKeyException'
  | 'IncorrectKeyMaterialException'
  | 'InvalidAliasNameException'
  | 'InvalidArnException'
  | 'InvalidCiphertextException'
  | 'InvalidImportTokenException'
  | 'InvalidKeyUsageException'
  | 'InvalidMarkerException'
  | 'KMSInternalException'
  | 'KMSInvalidMacException'
  | 'KMSInvalidSignatureException'
  | 'KMSInvalidStateException'
  | 'LimitExceededException'
  | 'MalformedPolicyDocumentException'
  | 'NotAuthorizedException'
  | 'NotFoundException'
  | 'TagException'
  | 'UnsupportedOperationException'
  // generic AWS JSON protocol errors (not in the KMS model; the SDK still names the error after them)
  | 'SerializationException'
  | 'ThrottlingException'
  | 'UnknownOperationException'
  | 'ValidationException'
  // STS (AWS Query protocol: the error's Code) and Organizations
  | 'AccessDenied'
  | 'ExpiredTokenException'
  | 'ValidationError'
  | 'AccessDeniedException'
  | 'AWSOrganizationsNotInUseException'
  | 'InvalidInputException'
  // CloudTrail's (LookupEvents)
  | 'InvalidLookupAttributesException'
  | 'InvalidTimeRangeException'
  | 'InvalidMaxResultsException'
  | 'InvalidNextTokenException'
  | 'InvalidEventCategoryException';

/** An AWS exception the emulator returns to the caller, exactly as named by AWS. */
export class KmsException extends Error {
  /** HTTP status the server answers with. */
  readonly status: number;

  constructor(
    readonly type: ExceptionName,
    message: string,
  ) {
    super(message);
    this.name = type;
    // STS answers AccessDenied with 403, as AWS does; everything else a client did wrong is 400.
    this.status = type === 'KMSInternalException' ? 500 : type === 'AccessDenied' ? 403 : 400;
  }
}

/** Shorthand: `throw fail('NotFoundException', '…')`. */
export function fail(type: ExceptionName, message: string): KmsException {
  return new KmsException(type, message);
}

/**
 * AWS's wording for one failed input constraint, e.g.
 * `1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null`.
 */
export function validationError(field: string, value: unknown, constraint: string): KmsException {
  const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`;
  const member = field.charAt(0).toLowerCase() + field.slice(1);
  return new KmsException(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}
