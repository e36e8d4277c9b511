/** `kms-byok rotate`: declaration (flags, help, examples). The command is in ../commands/rotate.ts. */
import type { CommandSpec } from '../command-spec.js';
import { ESCROW_INPUT, EXPIRY, OUTPUT, SEALING, TARGET, HSM_ALSO_ESCROW, HSM_CUSTODY, keyIdFlag } from './shared.js';
import { WRAPPING_OVERRIDE } from './shared.js';

export const ROTATE: CommandSpec = {
  name: 'rotate',
  summary: 'rotate key material (--in-place or --new-key)',
  usage: [
    'rotate KEY --in-place (--identity FILE | --passphrase-file FILE) --expires-in DURATION --yes',
    'rotate KEY --new-key --yes --expires-in DURATION [--alias alias/NAME] [flags]',
  ],
  keys: 'one',
  description: `Rotates the key material; choose the strategy explicitly.

--in-place (symmetric keys): generates new material, seals a NEW escrow version holding every
material (the old file is kept) BEFORE importing, imports it with ImportType NEW_KEY_MATERIAL,
imports the same material as EXISTING into every multi-Region replica, then RotateKeyOnDemand. The
key id and ARN stay; old ciphertexts still decrypt. AWS allows 25 on-demand rotations per key:
rotate says how many remain and refuses past the limit.

--new-key: creates a new EXTERNAL key with new material (escrowed first), moves the alias to it
(UpdateAlias) and leaves the old key enabled so old ciphertexts still decrypt.`,
  flags: {
    ...keyIdFlag('one'),
    'in-place': { type: 'boolean', help: 'strategy: new material in the same key (exactly one of the two)' },
    'new-key': { type: 'boolean', help: 'strategy: a new key with new material; the alias moves to it' },
    yes: { type: 'boolean', help: 'confirm (required when not interactive)' },
    alias: { type: 'string', multiple: true, value: 'alias/NAME', help: '--new-key: the alias to move (default: every alias of the old key)' },
    recipient: { ...SEALING.recipient!, help: "--new-key: a custodian of the new key's escrow (default: the old escrow's);\n--in-place --custody pkcs11 --also-escrow: of the new escrow version; repeatable" },
    'expires-in': { ...EXPIRY['expires-in']!, help: 'expiry of the new material from now, e.g. 90d (at most 365d)' },
    'valid-to': { ...EXPIRY['valid-to']!, help: 'expiry of the new material, ISO-8601 UTC' },
    'no-expiry': { ...EXPIRY['no-expiry']!, help: 'the new material never expires' },
    ...OUTPUT,
    ...ESCROW_INPUT,
    ...WRAPPING_OVERRIDE,
    ...TARGET,
    ...HSM_CUSTODY,
    ...HSM_ALSO_ESCROW,
  },
  examples: ['$ kms-byok rotate alias/payments --in-place --yes --expires-in 365d --identity custodian.txt'],
};
