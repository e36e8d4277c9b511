/**
 * Flag groups several commands share, declared once with their help text. A command spreads the
 * groups it takes into its own declaration (last spread wins for a name, so a command may restate a
 * shared flag's help in its own words).
 */
import type { FlagDecls } from '../command-spec.js';

/** Every command that talks to KMS (target selection: src/cli/target.ts). */
export const TARGET: FlagDecls = {
  region: { type: 'string', value: 'REGION', help: 'AWS Region (default: the AWS default chain; a key ARN names its own)', group: 'Target flags' },
  profile: { type: 'string', value: 'NAME', help: 'AWS shared-config profile', group: 'Target flags' },
  'endpoint-url': { type: 'string', value: 'URL', help: 'KMS endpoint (also AWS_ENDPOINT_URL_KMS)', group: 'Target flags' },
  emulator: { type: 'boolean', help: 'rehearse on the embedded emulator (needed without a terminal)', group: 'Target flags' },
  'emulator-state': { type: 'string', value: 'FILE', help: "keep the embedded emulator's state in FILE between commands (holds imported material and wrapping private keys in the clear: rehearsals only)", group: 'Target flags' },
  'read-timeout': { type: 'string', value: 'SECONDS', help: 'deadline of each attempt of a KMS call, whole answer (default 60)', group: 'Target flags' },
};

/** Show asymmetric keys' full spki-sha256 check value instead of its readable short form. */
export const FULL_CHECK_VALUE: FlagDecls = {
  'full-check-value': { type: 'boolean', help: "show an RSA/ECC key's full spki-sha256 check value (default: its first 3 bytes,\nspki-sha256-3:…, to read aloud; --json always has the full one)" },
};

export const JSON_FLAG: FlagDecls = {
  json: { type: 'boolean', help: 'print one JSON document' },
};

export const HELP_FLAG: FlagDecls = {
  help: { type: 'boolean', short: 'h', help: 'print this help' },
};

export const OUTPUT: FlagDecls = { ...JSON_FLAG, ...HELP_FLAG };

/** Exactly one of them: the expiry of imported material. */
export const EXPIRY: FlagDecls = {
  'expires-in': { type: 'string', value: 'DURATION', help: 'material expiry from now, e.g. 90d (at most 365d)' },
  'valid-to': { type: 'string', value: 'TIME', help: 'material expiry, ISO-8601 UTC (at most 365 days ahead)' },
  'no-expiry': { type: 'boolean', help: 'material never expires (ExpirationModel KEY_MATERIAL_DOES_NOT_EXPIRE)' },
};

/** How a new escrow is sealed (onboard, wrap, escrow reseal, the new escrow of restore/rotate --new-key). */
export const SEALING: FlagDecls = {
  recipient: { type: 'string', multiple: true, value: '[NAME=]AGE', help: 'seal the escrow to this custodian (age1…, optionally labelled alice=age1…); repeatable' },
  'recipients-file': { type: 'string', multiple: true, value: 'FILE', help: 'seal to every recipient listed in FILE (one per line, # comments)' },
  'passphrase-file': { type: 'string', value: 'FILE', help: 'seal with the passphrase in FILE (- for stdin)' },
  threshold: { type: 'string', value: 'M', help: 'm-of-n: any M of the --recipient custodians open the escrow (one share\nfile each, sealed to that custodian alone)' },
  split: { type: 'string', value: 'xor', help: 'split knowledge: each recipient gets a full-length XOR component with its\nown check value; all are needed' },
};

/** A renewal seal (docs/escrow-format.md, "Renewal seals"): onboard and escrow reseal. */
export const RENEWAL: FlagDecls = {
  'renewal-recipient': {
    type: 'string',
    multiple: true,
    value: '[NAME=]AGE',
    help: "also seal the whole escrow to this scheduler's recipient alone (a renewal seal), so a\nscheduled reimport of an m-of-n or XOR escrow can open it unattended; repeatable",
  },
};

/** The lifecycle commands' escrow, journal and record inputs (src/cli/ceremony-run.ts). */
export const ESCROW_INPUT: FlagDecls = {
  identity: { type: 'string', multiple: true, value: 'FILE', help: 'age identity file that opens the escrow (repeatable)', group: 'Escrow flags' },
  'passphrase-file': { type: 'string', value: 'FILE', help: 'passphrase that opens the escrow (- for stdin)', group: 'Escrow flags' },
  share: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    help: "a custodian's handed-over share or component (kms-byok escrow hand-over), opened with the\nescrow directory's one-time identity (escrow handover-recipient); repeatable",
    group: 'Escrow flags',
  },
  'escrow-dir': { type: 'string', value: 'DIR', help: "where the key's escrows are (default ./escrow); the latest version is used", group: 'Escrow flags' },
  escrow: { type: 'string', value: 'FILE', help: 'a specific escrow file instead (must belong to the key)', group: 'Escrow flags' },
  transcript: { type: 'string', value: 'FILE', help: 'ceremony transcript to append to (default <escrow dir>/transcript.md)', group: 'Escrow flags' },
  resume: { type: 'boolean', help: 'continue an interrupted run (re-running the same command does the same)', group: 'Escrow flags' },
  'notify-command': { type: 'string', value: 'CMD', help: 'run CMD (sh -c) afterwards with the JSON result on stdin (30 s limit)', group: 'Escrow flags' },
  'discard-journal': {
    type: 'boolean',
    help: "drop an unfinished run's journal whose inputs differ from this command's (it says what\nit abandons), then start afresh",
    group: 'Escrow flags',
  },
};

const FLEET_GROUP = 'Fleet flags (see docs/fleet.md)';

/** Fleet runs over a plan file (src/fleet/run.ts, docs/fleet.md). */
export const FLEET: FlagDecls = {
  plan: { type: 'string', value: 'FILE', help: 'run every key of a plan file instead of KEY... (validated whole first)', group: FLEET_GROUP },
  concurrency: { type: 'string', value: 'N', help: 'keys in flight per account and Region (default 8)', group: FLEET_GROUP },
  rate: {
    type: 'string',
    multiple: true,
    value: 'OP=N',
    help: 'client-side rate of a KMS operation, requests/s per account and Region\n(repeatable; default: the documented KMS quotas)',
    group: FLEET_GROUP,
  },
  'rate-scale': { type: 'string', value: 'X', help: 'multiply every default rate by X (an account with raised quotas)', group: FLEET_GROUP },
  'progress-interval': { type: 'string', value: 'S', help: 'seconds between progress lines when stderr is not a terminal (default 5)', group: FLEET_GROUP },
  shard: {
    type: 'string',
    value: 'K/N',
    help: 'run only shard K of N (0-based: 0/4 … 3/4): each (account, Region) quota domain\nbelongs to exactly one shard; its own run state for --resume',
    group: FLEET_GROUP,
  },
  'state-dir': { type: 'string', value: 'DIR', help: 'keep the run state in DIR instead of beside the plan (fleet report reads it)', group: FLEET_GROUP },
  'dry-run': { type: 'boolean', help: "with --plan: print the plan's quota domains and their shards; send nothing", group: FLEET_GROUP },
};

/** ESCROW_INPUT's --resume for commands that also take --plan (reimport, restore). */
export const RESUME_WITH_PLAN: FlagDecls = {
  resume: {
    ...ESCROW_INPUT.resume!,
    help: 'continue an interrupted run (re-running the same command does the same);\nwith --plan: run only the keys an earlier run of the plan did not finish',
  },
};

/** A fleet run's own records, for commands without the lifecycle escrow flags (status). */
export const FLEET_RECORDS: FlagDecls = {
  resume: { type: 'boolean', help: 'with --plan: run only the keys an earlier run of the plan did not finish', group: FLEET_GROUP },
  transcript: { type: 'string', value: 'FILE', help: "with --plan: the transcript the run's entry is appended to\n(default <first key's escrow dir>/transcript.md)", group: FLEET_GROUP },
};

/** `--key-id`, the AWS CLI's spelling of the KEY positional (src/cli/key-args.ts). */
export function keyIdFlag(keys: 'one' | 'many'): FlagDecls {
  return {
    'key-id': {
      type: 'string',
      ...(keys === 'many' ? { multiple: true } : {}),
      value: 'KEY',
      help: keys === 'many' ? 'the same as KEY (as aws kms spells it); repeatable' : 'the same as KEY (as aws kms spells it)',
    },
  };
}

/** `decls` without the named flags. */
export function without(decls: FlagDecls, ...names: string[]): FlagDecls {
  return Object.fromEntries(Object.entries(decls).filter(([n]) => !names.includes(n)));
}

/**
 * Wrapping for the lifecycle ceremonies' imports (reimport, restore, rotate): by default the pair
 * recorded at onboard, so a key policy's kms:WrappingAlgorithm / kms:WrappingKeySpec conditions keep
 * admitting the scheduled re-imports.
 */
export const WRAPPING_OVERRIDE: FlagDecls = {
  'wrapping-algorithm': {
    type: 'string',
    value: 'ALG',
    help: 'RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256,\nRSA_AES_KEY_WRAP_SHA_1 (default: the one recorded for the key at onboard)',
  },
  'wrapping-key-spec': { type: 'string', value: 'SPEC', help: 'RSA_4096, RSA_3072, RSA_2048 (default: the one recorded for the key at onboard)' },
};

/** HSM custody (docs/hsm.md): the material is generated, kept and wrapped in a PKCS#11 token. */
export const HSM_CUSTODY: FlagDecls = {
  custody: { type: 'string', value: 'KIND', help: 'escrow (default: an age escrow) or pkcs11 (material generated and wrapped\ninside a PKCS#11 token; docs/hsm.md)', group: 'HSM custody flags (see docs/hsm.md)' },
  'pkcs11-uri': { type: 'string', value: 'URI', help: "the token (and optionally object=LABEL) as an RFC 7512 URI, e.g.\n'pkcs11:token=ceremony'", group: 'HSM custody flags (see docs/hsm.md)' },
  'pkcs11-module': { type: 'string', value: 'PATH', help: 'the PKCS#11 library (default: $KMS_BYOK_PKCS11_MODULE)', group: 'HSM custody flags (see docs/hsm.md)' },
  'pin-file': { type: 'string', value: 'FILE', help: 'the user PIN in a 0600 file (default: prompt on the terminal)', group: 'HSM custody flags (see docs/hsm.md)' },
  pin: { type: 'string', value: 'PIN', help: 'refused: a PIN in argv is visible to every user; use --pin-file', group: 'HSM custody flags (see docs/hsm.md)' },
};

/** onboard and rotate --in-place with --custody pkcs11 only (docs/hsm.md, "Also an age escrow"). */
export const HSM_ALSO_ESCROW: FlagDecls = {
  'also-escrow': {
    type: 'boolean',
    help: 'with --custody pkcs11: also seal an age escrow of the token key(s) (--recipient …; rotate:\ndefault the previous escrow\'s custodians), durable before the import; the plaintext then\nexists outside the HSM once, while sealing',
    group: 'HSM custody flags (see docs/hsm.md)',
  },
};
