/** `kms-byok onboard`: declaration (flags, help, examples). The command is in ../commands/onboard.ts. */
import type { CommandSpec } from '../command-spec.js';
import { EXPIRY, FULL_CHECK_VALUE, HSM_ALSO_ESCROW, HSM_CUSTODY, OUTPUT, RENEWAL, SEALING, TARGET } from './shared.js';

export const ONBOARD: CommandSpec = {
  name: 'onboard',
  summary: 'run a full import ceremony for a new key',
  usage: ['onboard --yes (--recipient AGE_RECIPIENT... | --passphrase-file FILE) [flags]'],
  description: `Creates an EXTERNAL KMS key, fetches import parameters, generates the material with node:crypto
(256-bit AES by default) or reads yours, seals it in an escrow (written durably BEFORE anything is
imported), wraps it, imports it, and proves KMS holds it: Encrypt/Decrypt and a KeyMaterialId
re-import check (symmetric), GenerateMac (HMAC), GetPublicKey and Sign (asymmetric).`,
  flags: {
    yes: { type: 'boolean', help: 'confirm creating the key (required when not interactive)' },
    alias: { type: 'string', value: 'alias/NAME', help: 'alias for the new key (checked to be free before the key is created)' },
    description: { type: 'string', value: 'TEXT', help: 'key description' },
    ...EXPIRY,
    'key-spec': {
      type: 'string',
      value: 'SPEC',
      help: 'SYMMETRIC_DEFAULT (default), HMAC_224/256/384/512, RSA_2048/3072/4096,\nECC_NIST_P256/P384/P521, ECC_SECG_P256K1',
    },
    'key-usage': {
      type: 'string',
      value: 'USAGE',
      help: 'default per spec: ENCRYPT_DECRYPT (symmetric), GENERATE_VERIFY_MAC (HMAC),\nSIGN_VERIFY (RSA, ECC)',
    },
    'material-file': {
      type: 'string',
      value: 'PATH',
      help: 'import existing material (raw, hex or base64; PKCS#8 PEM/DER for\nasymmetric keys) instead of generating it',
    },
    'wrapping-algorithm': {
      type: 'string',
      value: 'ALG',
      help: 'RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256,\nRSA_AES_KEY_WRAP_SHA_1 (default: the strongest valid for the key spec)',
    },
    'wrapping-key-spec': { type: 'string', value: 'SPEC', help: 'RSA_4096 (default), RSA_3072, RSA_2048' },
    ...SEALING,
    ...RENEWAL,
    ...FULL_CHECK_VALUE,
    'allow-weak-passphrase': {
      type: 'boolean',
      help: 'rehearsals only (--emulator or a loopback endpoint): accept a --passphrase-file weaker than\nzxcvbn score 4, with a warning',
    },
    'escrow-dir': { type: 'string', value: 'DIR', help: 'where the escrow is written (default ./escrow)' },
    'export-parameters': {
      type: 'string',
      value: 'FILE',
      help: 'air-gapped step 1: create the key (+ alias), write its import parameters\nto FILE (create-only, 0600) and stop; then kms-byok wrap offline',
    },
    'key-id': { type: 'string', value: 'KEY', help: 'with --export-parameters: fresh parameters for that key (expired token)' },
    'i-understand-plaintext-state': {
      type: 'boolean',
      help: 'allow --material-file with --emulator-state (which writes the material in the\nclear to the state file); only for material that is not real',
    },
    'apply-policy': { type: 'string', value: 'FILE', help: 'attach this key policy at CreateKey (see kms-byok policy)' },
    transcript: { type: 'string', value: 'FILE', help: 'the ceremony record to append to (default <escrow-dir>/transcript.md)' },
    'notify-command': { type: 'string', value: 'CMD', help: 'run CMD (sh -c) afterwards with the JSON result on stdin (30 s limit)' },
    resume: {
      type: 'boolean',
      help: 'finish the unfinished onboard with these very flags (re-running the same command\ndoes the same); refused when there is none',
    },
    ...OUTPUT,
    ...TARGET,
    ...HSM_CUSTODY,
    ...HSM_ALSO_ESCROW,
  },
  notes: 'Exactly one expiry choice is required: --valid-to, --expires-in or --no-expiry.',
  examples: [
    `$ age-keygen -o custodian.txt          # each custodian, on their own machine
$ kms-byok onboard --yes --alias alias/payments --expires-in 90d \\
    --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p`,
    '$ kms-byok onboard --yes --emulator --no-expiry --passphrase-file pass.txt --json',
    `$ kms-byok onboard --yes --key-spec ECC_NIST_P256 --material-file signing-key.pk8.pem \\
    --no-expiry --recipient age1…`,
  ],
};
