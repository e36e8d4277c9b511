/**
 * The choices an onboard ceremony offers and the checks of each answer, in one place for the two
 * front ends that build `OnboardOptions`: the flags (`cli/commands/onboard.ts`) and the wizard
 * (`wizard/onboard.ts`, which may import `ceremony` but not `material` or `escrow`). Pure: each check
 * returns `true` or the user-facing reason, the way a prompt's `validate` wants it, so an invalid answer
 * is re-asked with its reason instead of failing.
 */
import { KmsByokError } from '../core/errors.js';
import { assertAliasName } from '../core/alias.js';
import { isRegion } from '../core/aws-ids.js';
import type { KeySpec, KeyUsage, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import { DAY_MS, assertValidTo, parseDuration, parseIsoTime } from '../core/time.js';
import { MAX_VALID_TO_DAYS } from '../core/aws-names.js';
import { IMPORTABLE_KEY_SPECS, chooseWrapping, importableKeySpecInfo } from '../material/key-specs.js';
import { parseRecipient } from '../escrow/index.js';

/** What the wizard needs to offer one importable key spec. */
export interface KeySpecChoice {
  spec: KeySpec;
  kind: string;
  keyUsages: readonly KeyUsage[];
  defaultKeyUsage: KeyUsage;
  /** Allowed wrapping pairs, strongest (the recommended one) first. */
  wrappings: readonly { algorithm: WrappingAlgorithm; wrappingKeySpec: WrappingKeySpec }[];
}

/** Every key spec whose material kms-byok imports, SYMMETRIC_DEFAULT first. */
export function keySpecChoices(): KeySpecChoice[] {
  return IMPORTABLE_KEY_SPECS.map((spec) => {
    const info = importableKeySpecInfo(spec);
    const best = chooseWrapping(spec);
    return {
      spec,
      kind: info.kind,
      keyUsages: info.keyUsages,
      defaultKeyUsage: info.defaultKeyUsage,
      wrappings: [best, ...info.wrappings.filter((w) => w !== best)].map((w) => ({ algorithm: w.algorithm, wrappingKeySpec: w.wrappingKeySpec })),
    };
  });
}

/** The one alias check lives in core (used by every command that takes an alias). */
export { assertAliasName } from '../core/alias.js';

/** `true`, or the message and hint of the KmsByokError `fn` throws. */
function reason(fn: () => unknown): true | string {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof KmsByokError) return e.hint ? `${e.message} (${e.hint})` : e.message;
    throw e;
  }
}

/** Answer checks in prompt-`validate` form. `now` is injected so tests and the clock agree. */
export const check = {
  alias: (text: string): true | string => (text.trim() === '' ? true : reason(() => assertAliasName(text.trim(), 'alias'))),
  recipient: (text: string): true | string => reason(() => parseRecipient(text)),
  /** `NAME=age1…` (as `--recipient` takes it) or a bare recipient. */
  namedRecipient: (text: string): true | string =>
    reason(() => {
      const eq = text.indexOf('=');
      // eslint-disable-next-line no-control-regex
      if (eq === 0 || (eq > 0 && (text.slice(0, eq).trim().length > 128 || /[\u0000-\u001f\u007f]/.test(text.slice(0, eq))))) {
        throw new KmsByokError('ERR_INVALID_RECIPIENT', 'a custodian name before "=" is 1 to 128 printable characters', { hint: 'e.g. bob=age1…' });
      }
      parseRecipient(eq > 0 ? text.slice(eq + 1) : text);
    }),
  expiresIn: (text: string): true | string =>
    reason(() => {
      const ms = parseDuration(text, 'expiry');
      if (ms > MAX_VALID_TO_DAYS * DAY_MS) {
        throw new KmsByokError('ERR_INVALID_VALID_TO', `expiry ${text.trim()} is more than ${MAX_VALID_TO_DAYS} days`, {
          hint: `AWS accepts a ValidTo at most ${MAX_VALID_TO_DAYS} days after the import`,
        });
      }
    }),
  validTo: (text: string, now: Date): true | string => reason(() => assertValidTo(parseIsoTime(text, 'expiry time'), now, 'expiry time')),
  region: (text: string): true | string =>
    isRegion(text.trim()) ? true : `"${text.trim()}" is not an AWS Region name (e.g. eu-west-1)`,
  nonEmpty: (what: string) => (text: string): true | string => (text.trim() === '' ? `give ${what}` : true),
};
