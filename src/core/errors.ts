/**
 * The one error family of kms-byok. Every failure a user can meet is a {@link KmsByokError} with a stable
 * `ERR_*` code, a short lower-case message (no final period) and, where there is a next step, a hint.
 * `cli/main.ts` is the only place that turns these into exit codes and stderr lines.
 */

/** Stable error codes. Never rename one: scripts match on them. */
export type ErrorCode =
  // usage and missing input (exit 2)
  | 'ERR_USAGE'
  | 'ERR_MISSING_INPUT'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_VALID_TO'
  | 'ERR_INVALID_RECIPIENT'
  | 'ERR_EMPTY_PASSPHRASE'
  | 'ERR_INVALID_COMBINATION'
  | 'ERR_NOT_A_TERMINAL'
  /** Nothing points at AWS and nobody is at a terminal (or CI is set): no silent rehearsal (exit 2). */
  | 'ERR_NO_TARGET'
  /** A file named on the command line does not exist or cannot be read (exit 2, before any KMS request). */
  | 'ERR_FILE_READ'
  /** An identity or passphrase file that group or others may read or write (exit 2): `chmod 600 FILE`. */
  | 'ERR_INSECURE_FILE'
  /**
   * A symlink (or a file not owned by the operator) where kms-byok writes a file; its target is never
   * touched. Exit 2 when found before any KMS request (marked by `asLocalInputError`), else 1.
   */
  | 'ERR_UNSAFE_PATH'
  /** The escrow directory or a parent could be changed by someone other than the operator (exit 2). */
  | 'ERR_ESCROW_DIR_UNSAFE'
  /** Another process holds the lock of a file kms-byok appends to (the transcript). */
  | 'ERR_LOCKED'
  /** The ceremony ran, but its transcript entry could not be written (exit 1). */
  | 'ERR_TRANSCRIPT'
  // local files
  | 'ERR_ESCROW_DIR_UNWRITABLE'
  /** The escrow directory, or a file in it the tool looked up, exists but cannot be listed or read. */
  | 'ERR_ESCROW_UNREADABLE'
  | 'ERR_ESCROW_EXISTS'
  | 'ERR_ESCROW_NOT_FOUND'
  /** rotate --new-key on a key no alias points at, and no --alias given (found by asking KMS: exit 1). */
  | 'ERR_KEY_HAS_NO_ALIAS'
  | 'ERR_ESCROW_FORMAT'
  | 'ERR_ESCROW_VERSION'
  | 'ERR_ESCROW_DECRYPT'
  | 'ERR_ESCROW_TAMPERED'
  | 'ERR_ESCROW_MISMATCH'
  | 'ERR_ESCROW_TOO_FEW_SHARES'
  | 'ERR_ESCROW_DUPLICATE_SHARE'
  | 'ERR_ESCROW_FOREIGN_SHARE'
  /** A `--share` file that is not a hand-over file, or was altered (docs/custody.md, "Hand-over"). */
  | 'ERR_HANDOVER_INVALID'
  /** A `--share` file sealed to a one-time recipient that is no longer open here: used, expired, or made elsewhere. */
  | 'ERR_HANDOVER_STALE'
  /** `escrow acknowledge --name` that is not the label the identity's share (or recipient) is sealed under (exit 2). */
  | 'ERR_ACK_WRONG_CUSTODIAN'
  /** A passphrase too weak for an escrow meant to last decades (exit 2): docs/custody.md, "Passphrases". */
  | 'ERR_WEAK_PASSPHRASE'
  | 'ERR_CHECK_VALUE_MISMATCH'
  | 'ERR_IDENTITY'
  /** A file could not be written after the ceremony had done work (e.g. a bundle after KMS calls). */
  | 'ERR_FILE_WRITE'
  | 'ERR_MATERIAL'
  // KMS
  | 'ERR_KMS_UNREACHABLE'
  | 'ERR_KMS_CREDENTIALS'
  | 'ERR_KMS_ACCESS_DENIED'
  | 'ERR_KMS_NOT_FOUND'
  | 'ERR_KMS_ALREADY_EXISTS'
  | 'ERR_KMS_INVALID_STATE'
  | 'ERR_KMS_DISABLED'
  | 'ERR_KMS_IMPORT_TOKEN_EXPIRED'
  | 'ERR_KMS_IMPORT_TOKEN_INVALID'
  | 'ERR_KMS_INVALID_CIPHERTEXT'
  | 'ERR_KMS_INCORRECT_KEY_MATERIAL'
  | 'ERR_KMS_UNSUPPORTED'
  /** A --wrapping-algorithm/--wrapping-key-spec pair the key's spec cannot use, found once the key was described (exit 1). */
  | 'ERR_WRAPPING_NOT_ALLOWED'
  | 'ERR_KMS_VALIDATION'
  | 'ERR_KMS_LIMIT'
  | 'ERR_KMS_THROTTLED'
  | 'ERR_KMS_CONFLICT'
  | 'ERR_KMS_INTERNAL'
  | 'ERR_KMS_BAD_RESPONSE'
  | 'ERR_KMS'
  // ceremony
  | 'ERR_VERIFY_FAILED'
  // lifecycle (reimport, restore, rotate, revoke, status, transcript)
  | 'ERR_ESCROW_WRONG_KEY'
  | 'ERR_ESCROW_MISSING_MATERIAL'
  | 'ERR_ROTATE_UNSUPPORTED'
  | 'ERR_ROTATION_LIMIT'
  | 'ERR_REVOKE_UNSAFE'
  /** The escrow's materials are not the ones the key's anchor tags name (docs/escrow-format.md, "Anchors"). */
  | 'ERR_ESCROW_ANCHOR_MISMATCH'
  /** The escrow claims anchors, or the key holds a material, that the key's tags do not vouch for. */
  | 'ERR_ESCROW_NOT_ANCHORED'
  /** An unfinished lifecycle journal was recorded with other inputs than this invocation's (exit 2). */
  | 'ERR_JOURNAL_INPUTS'
  | 'ERR_TRANSCRIPT_FORMAT'
  /** `transcript verify FILE` on a file that is not a kms-byok transcript at all (exit 2). */
  | 'ERR_NOT_A_TRANSCRIPT'
  | 'ERR_JOURNAL'
  /** `--resume` with no unfinished run of these inputs to resume (exit 2, nothing created). */
  | 'ERR_NOTHING_TO_RESUME'
  // fleet plans (docs/fleet.md): an invalid plan is usage (exit 2); a changed plan cannot be resumed
  | 'ERR_PLAN_INVALID'
  | 'ERR_PLAN_CHANGED'
  /** STS AssumeRole refused a plan's role (not assumable by this caller, or the external id is wrong). */
  | 'ERR_ROLE_DENIED'
  /** The identity a role or profile gave is not in the account the plan names. */
  | 'ERR_ACCOUNT_MISMATCH'
  // air-gapped ceremony bundles
  | 'ERR_BUNDLE_FORMAT'
  | 'ERR_BUNDLE_TAMPERED'
  | 'ERR_BUNDLE_EXPIRED'
  | 'ERR_BUNDLE_WRONG_KEY'
  | 'ERR_BUNDLE_EXISTS'
  // key policies and schedules (exit 2: nothing was generated)
  | 'ERR_POLICY_LOCKOUT'
  | 'ERR_POLICY_SEPARATION'
  | 'ERR_SCHEDULE_NOT_UNATTENDED'
  // retire and audit (docs/audit.md)
  /** CloudTrail could not be read (unreachable, access denied): usage evidence is MISSING. */
  | 'ERR_TRAIL_UNAVAILABLE'
  /** retire refused: an alias targets the key, it was used within --quiet-for, or its escrow does not cover it. */
  | 'ERR_RETIRE_REFUSED'
  /** The typed-back confirmation did not match (nothing was changed). */
  | 'ERR_NOT_CONFIRMED'
  | 'ERR_CANCELLED'
  // PKCS#11 custody (docs/hsm.md, "Tokens, PINs and errors")
  /** The binding (pkcs11js) is not installed or its native addon not built (exit 2). */
  | 'ERR_PKCS11_BINDING'
  /** The module path is not a loadable, initialisable PKCS#11 module (exit 2). */
  | 'ERR_PKCS11_MODULE'
  /** No (or more than one) initialised token matches --pkcs11-uri (exit 2). */
  | 'ERR_PKCS11_TOKEN_NOT_PRESENT'
  /** The token refused the PIN (CKR_PIN_INCORRECT); the message names its lockout flags (exit 2). */
  | 'ERR_PKCS11_PIN_INCORRECT'
  /** The user PIN is locked (CKR_PIN_LOCKED) (exit 2). */
  | 'ERR_PKCS11_PIN_LOCKED'
  /** A key with that label already exists in the token (exit 2 before any KMS request). */
  | 'ERR_PKCS11_OBJECT_EXISTS'
  /** The recorded token key is not in the token. */
  | 'ERR_PKCS11_OBJECT_NOT_FOUND'
  /** The token lacks a mechanism the wrapping needs; names what it can do (exit 2 before any KMS request). */
  | 'ERR_PKCS11_MECHANISM'
  /** The token refuses to wrap the key (CKA_EXTRACTABLE false). */
  | 'ERR_PKCS11_NOT_EXTRACTABLE'
  /** Any other PKCS#11 failure, with its CKR_* name. */
  | 'ERR_PKCS11'
  /**
   * Only a renewal seal opens the escrow, and the command is not a renewal (docs/custody.md, "Renewal
   * seals"). Exit 2 where found before any KMS request (escrow export/reseal; restore/rotate/revoke of a
   * key id or --escrow FILE: src/cli/ceremony-run.ts assertCustodyOpener), else exit 1.
   */
  | 'ERR_RENEWAL_SEAL_SCOPE'
  | 'ERR_INTERNAL';

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_USAGE',
  'ERR_MISSING_INPUT',
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_VALID_TO',
  'ERR_INVALID_RECIPIENT',
  'ERR_EMPTY_PASSPHRASE',
  'ERR_INVALID_COMBINATION',
  'ERR_NOT_A_TERMINAL',
  'ERR_NO_TARGET',
  'ERR_FILE_READ',
  'ERR_INSECURE_FILE',
  'ERR_ESCROW_DIR_UNSAFE',
  'ERR_NOT_A_TRANSCRIPT',
  'ERR_POLICY_LOCKOUT',
  'ERR_POLICY_SEPARATION',
  'ERR_SCHEDULE_NOT_UNATTENDED',
  'ERR_PLAN_INVALID',
  'ERR_PLAN_CHANGED',
  'ERR_NOTHING_TO_RESUME',
  'ERR_JOURNAL_INPUTS',
  'ERR_PKCS11_BINDING',
  'ERR_PKCS11_MODULE',
  'ERR_PKCS11_TOKEN_NOT_PRESENT',
  'ERR_PKCS11_PIN_INCORRECT',
  'ERR_PKCS11_PIN_LOCKED',
  'ERR_ACK_WRONG_CUSTODIAN',
  'ERR_WEAK_PASSPHRASE',
]);

/**
 * Exit codes of the CLI (see README "Exit codes"). A command stopped by a signal exits 128 + the
 * signal's number: SIGHUP 129, SIGINT 130, SIGTERM 143 (`cancelled` is 130: a prompt answered Ctrl-C).
 */
export const ExitCode = { ok: 0, failed: 1, usage: 2, attention: 3, sighup: 129, cancelled: 130, sigint: 130, sigterm: 143 } as const;

/** A failure with a stable code, a one-line message and an optional next step. */
export class KmsByokError extends Error {
  override readonly name = 'KmsByokError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Set by {@link asLocalInputError}: a bad local file found before anything reached KMS is exit 2. */
  readonly localInput: boolean;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; localInput?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.localInput = options.localInput === true;
  }

  /** The process exit code this error maps to: 2 usage (or a bad local input), 130 cancelled, otherwise 1. */
  get exitCode(): number {
    if (USAGE_CODES.has(this.code) || this.localInput) return ExitCode.usage;
    if (this.code === 'ERR_CANCELLED') return ExitCode.cancelled;
    return ExitCode.failed;
  }
}

/**
 * The same error (code, message, hint), marked as a bad local input (exit 2): for failures reading a
 * file the user named (material, identity, passphrase, plan) before any KMS request, whose codes
 * (ERR_MATERIAL, ERR_IDENTITY…) also occur later in a ceremony, where they are exit 1.
 */
export function asLocalInputError(e: unknown): unknown {
  if (!(e instanceof KmsByokError) || e.exitCode === ExitCode.usage) return e;
  return new KmsByokError(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), cause: e.cause ?? e, localInput: true });
}

